"""Bundled stopword lists (``stopwords/<name>.txt``), loaded lazily with importlib.resources.

File format: UTF-8, one word per line, ``#`` starts a comment that runs to the end of the
line, blank lines are ignored. Each file's header names its source and licence.

Lists are returned raw (as written in the file); the analyzer passes every word through its
own normalization (NFKC, casefold, ASCII folding as configured) before matching, so a list
written with accents still matches when folding is on.
"""

from __future__ import annotations

import functools
from importlib import resources

from heron.errors import ConfigError

_PACKAGE = "heron.analysis"
_DIR = "stopwords"


@functools.cache
def available_stopword_lists() -> tuple[str, ...]:
    """Names of the bundled lists, sorted (e.g. ``english``, ``lucene``, ``german`` …)."""
    root = resources.files(_PACKAGE).joinpath(_DIR)
    names = [p.name[: -len(".txt")] for p in root.iterdir() if p.name.endswith(".txt")]
    return tuple(sorted(names))


def parse_stopword_text(text: str) -> tuple[str, ...]:
    """Parse the stopword file format into its words, in file order, without duplicates."""
    words: dict[str, None] = {}
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words[word] = None
    return tuple(words)


@functools.cache
def load_stopwords(name: str) -> tuple[str, ...]:
    """Words of the bundled list ``name``; :class:`ConfigError` listing the choices if unknown."""
    choices = available_stopword_lists()
    if name not in choices:
        raise ConfigError(
            f"unknown stopword list {name!r}; bundled lists are: {', '.join(choices)} "
            "(or give the words explicitly, or None for no stopwords)"
        )
    text = resources.files(_PACKAGE).joinpath(_DIR, f"{name}.txt").read_text(encoding="utf-8")
    return parse_stopword_text(text)
