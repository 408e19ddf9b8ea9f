"""The ``unicode`` tokenizer: one compiled regex over the raw text.

A token is either

* a **word**: a run of Unicode letters/digits (``\\w`` minus ``_`` minus CJK) that may
  contain combining marks (accents written decomposed, Indic vowel signs) and internal
  apostrophes (``'`` or ``’`` followed by another letter: ``don't``, ``O’Brien``,
  ``Shaw's`` stay one token; a leading or trailing apostrophe is not part of a word), or
* a **CJK run**: a maximal run of Han / Hiragana / Katakana / Hangul characters (see
  :data:`heron.analysis._unicode.CJK_RANGES`), which :mod:`heron.analysis.cjk` turns into
  bigrams or unigrams.

Everything else (whitespace, punctuation, symbols, ``_``) separates tokens, so
``snake_case`` is two tokens, ``3.14`` is ``3`` and ``14`` and ``e-mail`` is ``e`` and ``mail``.
Offsets are code-point offsets into the string that was tokenized.

No token ever contains a whitespace character (``str.isspace``), so tokenizing each
whitespace-separated chunk of a text on its own gives exactly the tokens of the whole text;
the analyzer's fast path relies on that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from heron.analysis._unicode import CJK_RANGES, MARK_RANGES, char_class

CJK_CLASS = char_class(CJK_RANGES)
MARK_CLASS = char_class(MARK_RANGES)

_LETTER = f"[^\\W_{CJK_CLASS}]"
_MARK = f"[{MARK_CLASS}]"
_APOSTROPHE = "['\u2019]"

WORD_PATTERN = f"{_LETTER}+(?:{_MARK}+{_LETTER}*|{_APOSTROPHE}{_LETTER}+)*"
CJK_RUN_PATTERN = f"[{CJK_CLASS}]+"

#: group 1 = word, group 2 = CJK run (exactly one of them is non-empty per match).
TOKEN_RE = re.compile(f"({WORD_PATTERN})|({CJK_RUN_PATTERN})")
CJK_RUN_RE = re.compile(CJK_RUN_PATTERN)


def is_cjk(token: str) -> bool:
    """True when every character of ``token`` (non-empty) is in the CJK ranges."""
    return CJK_RUN_RE.fullmatch(token) is not None


def iter_tokens(text: str) -> Iterator[tuple[str, int, int, bool]]:
    """Yield ``(surface, start, end, is_cjk_run)`` for each raw token of ``text``."""
    for m in TOKEN_RE.finditer(text):
        start, end = m.span()
        yield m.group(), start, end, m.group(2) is not None
