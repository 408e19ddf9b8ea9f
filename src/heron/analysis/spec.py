"""Analyzer configuration: :class:`AnalyzerSpec`, the named :data:`PRESETS`, and validation.

A spec is a frozen, hashable value. It is chosen per field when an index is created and is
stored in the index (``to_dict`` / ``from_dict``) so that queries are analyzed exactly like
the documents were. Every invalid value raises :class:`heron.errors.ConfigError` naming the
setting and listing the valid choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import Stemmer

from heron.analysis.cjk import CJK_MODES
from heron.analysis.stopwords import available_stopword_lists
from heron.errors import ConfigError

#: Snowball stemmer names available through PyStemmer (``Stemmer.algorithms()``), sorted.
SNOWBALL_LANGUAGES: tuple[str, ...] = tuple(sorted(Stemmer.algorithms()))

TOKENIZERS: tuple[str, ...] = ("unicode",)


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values)


@dataclass(frozen=True)
class AnalyzerSpec:
    """How one field's text becomes index terms.

    Pipeline per token: NFKC (always) → ``casefold`` (``lowercase``) → ASCII folding
    (``ascii_folding``; never applied to CJK) → elision removal for French, Italian and
    Catalan (``l'homme`` → ``homme``, when ``stemmer`` or else a bundled ``stopwords`` list
    names one of those languages) → length filter (``min_token_len`` ..
    ``max_token_len`` characters, measured after normalization; longer tokens are dropped,
    not truncated) → stopword removal (``stopwords``; the list is normalized the same way,
    so it matches case- and accent-insensitively when those filters are on) → Snowball
    stemming (``stemmer``; never applied to CJK).

    ``stopwords`` is a bundled list name (see
    :func:`heron.analysis.stopwords.available_stopword_lists`), an explicit tuple of words
    (a list is accepted and stored as a tuple) or ``None``. ``cjk`` is ``"bigram"``,
    ``"unigram"`` or ``"none"`` (whole run as one token).
    """

    tokenizer: str = "unicode"
    lowercase: bool = True
    ascii_folding: bool = True
    stopwords: str | tuple[str, ...] | None = "english"
    stemmer: str | None = "english"
    cjk: str = "bigram"
    min_token_len: int = 1
    max_token_len: int = 64

    def __post_init__(self) -> None:
        sw: Any = self.stopwords
        if isinstance(sw, list | frozenset | set):
            words = sorted(sw) if isinstance(sw, frozenset | set) else sw
            object.__setattr__(self, "stopwords", tuple(words))
        self._validate()

    def _validate(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(
                f"analyzer setting 'tokenizer': unknown tokenizer {self.tokenizer!r}; "
                f"valid choices: {_choices(TOKENIZERS)}"
            )
        for name in ("lowercase", "ascii_folding"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ConfigError(f"analyzer setting {name!r} must be true or false, got {value!r}")
        sw: object = self.stopwords
        if isinstance(sw, str):
            lists = available_stopword_lists()
            if sw not in lists:
                raise ConfigError(
                    f"analyzer setting 'stopwords': unknown stopword list {sw!r}; bundled lists: "
                    f"{_choices(lists)}; or give a list of words, or null for none"
                )
        elif isinstance(sw, tuple):
            bad = [w for w in sw if not isinstance(w, str) or not w.strip()]
            if bad:
                raise ConfigError(
                    f"analyzer setting 'stopwords': every stopword must be a non-empty string, got {bad[0]!r}"
                )
        elif sw is not None:
            raise ConfigError(
                "analyzer setting 'stopwords' must be a bundled list name, a list of words or null, "
                f"got {sw!r}"
            )
        if self.stemmer is not None and self.stemmer not in SNOWBALL_LANGUAGES:
            raise ConfigError(
                f"analyzer setting 'stemmer': unknown Snowball language {self.stemmer!r}; "
                f"valid choices: {_choices(SNOWBALL_LANGUAGES)}, or null for no stemming"
            )
        if self.cjk not in CJK_MODES:
            raise ConfigError(
                f"analyzer setting 'cjk': unknown mode {self.cjk!r}; valid choices: {_choices(CJK_MODES)}"
            )
        for name in ("min_token_len", "max_token_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"analyzer setting {name!r} must be an integer >= 1, got {value!r}")
        if self.max_token_len < self.min_token_len:
            raise ConfigError(
                f"analyzer setting 'max_token_len' ({self.max_token_len}) must be >= "
                f"'min_token_len' ({self.min_token_len})"
            )

    def to_dict(self) -> dict[str, object]:
        """A JSON-compatible dict (stopword tuples become lists); inverse of :meth:`from_dict`."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.stopwords, tuple):
            out["stopwords"] = list(self.stopwords)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> AnalyzerSpec:
        """Build and validate a spec from a dict; missing keys take the defaults.

        Raises :class:`ConfigError` naming an unknown key or a bad value.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"an analyzer spec must be a mapping of settings, got {type(d).__name__}")
        valid = tuple(f.name for f in fields(cls))
        for key in d:
            if key not in valid:
                raise ConfigError(f"unknown analyzer setting {key!r}; valid settings: {_choices(valid)}")
        kwargs: dict[str, Any] = dict(d)
        return cls(**kwargs)


def _language_preset(language: str) -> AnalyzerSpec:
    """Preset for one Snowball language: its stemmer, its stopword list if bundled.

    Non-English presets keep diacritics (``ascii_folding=False``) because the Snowball
    stemmers for those languages rely on them (French ``-ité``, German umlauts …).
    """
    if language in ("english", "porter"):
        return AnalyzerSpec(stopwords="english", stemmer=language)
    base = "dutch" if language == "dutch_porter" else language
    lists = available_stopword_lists()
    return AnalyzerSpec(
        ascii_folding=False,
        stopwords=base if base in lists else None,
        stemmer=language,
    )


def _build_presets() -> dict[str, AnalyzerSpec]:
    presets: dict[str, AnalyzerSpec] = {
        "english": AnalyzerSpec(),
        "english_lucene": AnalyzerSpec(stopwords="lucene", stemmer="english"),
        # heron's index default: a shorter stop list, measured best for BM25 on the shared sets
        "english_search": AnalyzerSpec(stopwords="english_search", stemmer="english"),
        "simple": AnalyzerSpec(stopwords=None, stemmer=None),
        "cjk": AnalyzerSpec(stopwords=None, stemmer=None, cjk="bigram"),
    }
    for language in SNOWBALL_LANGUAGES:
        presets.setdefault(language, _language_preset(language))
    return presets


#: Named analyzer specs: ``english`` (the default), ``english_lucene``, ``simple``, ``cjk``
#: and one per Snowball language (``german``, ``french`` …).
PRESETS: dict[str, AnalyzerSpec] = _build_presets()
