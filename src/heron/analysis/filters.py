"""Per-token normalization filters: Unicode NFKC, case folding and ASCII folding.

These functions run once per *distinct* surface token (the analyzer caches their results),
so they favour correctness over speed, with a fast path for pure-ASCII tokens.

* :func:`normalize` — NFKC, optionally followed by ``str.casefold``, repeated to a fixed
  point so the result is stable: ``normalize(normalize(x)) == normalize(x)``. The typographic apostrophe
  ``’`` becomes ``'`` and whitespace that NFKC may introduce (``"\\ufdfa"`` expands to a
  phrase) is removed, so a term never contains whitespace.
* :func:`ascii_fold` — maps Latin letters with diacritics and a few letters that do not
  decompose (``ß``, ``æ``, ``ø``, ``œ``, ``đ``, ``ł``, ``þ`` …) to ASCII, like Lucene's
  ``ASCIIFoldingFilter``. Only characters whose folded form is pure ASCII are changed:
  Greek, Cyrillic, CJK and other scripts are left alone (``й`` stays ``й``). A combining mark
  that follows an ASCII character is dropped.
"""

from __future__ import annotations

import unicodedata
from typing import Final

_NFKC: Final = "NFKC"

#: Letters that do not decompose under NFKD, folded like Lucene's ASCIIFoldingFilter.
SPECIAL_FOLDS: dict[str, str] = {
    "ß": "ss", "ẞ": "SS",
    "æ": "ae", "Æ": "AE", "ǽ": "ae", "Ǽ": "AE", "ǣ": "ae", "Ǣ": "AE",
    "ø": "o", "Ø": "O", "ǿ": "o", "Ǿ": "O",
    "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ɗ": "d", "Ɗ": "D", "ȡ": "d",
    "ł": "l", "Ł": "L", "ŀ": "l", "Ŀ": "L", "ƚ": "l", "Ƚ": "L", "ȴ": "l",
    "þ": "th", "Þ": "TH",
    "ı": "i", "ɨ": "i", "Ɨ": "I",
    "ħ": "h", "Ħ": "H",
    "ŧ": "t", "Ŧ": "T", "ȶ": "t",
    "ŋ": "n", "Ŋ": "N", "ȵ": "n",
    "ĸ": "q",
    "ƀ": "b", "Ƀ": "B", "Ɓ": "B",
    "ƈ": "c", "Ƈ": "C", "ȼ": "c", "Ȼ": "C",
    "ƒ": "f", "Ƒ": "F",
    "ǥ": "g", "Ǥ": "G", "ɠ": "g", "Ɠ": "G",
    "ɇ": "e", "Ɇ": "E", "ə": "e", "Ə": "E", "ɛ": "e", "Ɛ": "E",
    "ɉ": "j", "Ɉ": "J",
    "ɍ": "r", "Ɍ": "R",
    "ɏ": "y", "Ɏ": "Y",
    "ʉ": "u", "Ʉ": "U",
    "ɔ": "o", "Ɔ": "O",
    "ȥ": "z", "Ȥ": "Z", "ƶ": "z", "Ƶ": "Z",
}  # fmt: skip

_fold_char_cache: dict[str, str] = {}


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _fold_char(ch: str) -> str:
    """ASCII replacement for one non-ASCII character, or the character itself."""
    special = SPECIAL_FOLDS.get(ch)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFKD", ch)
    if decomposed != ch:
        base = "".join(SPECIAL_FOLDS.get(c, c) for c in decomposed if not _is_mark(c))
        if base and base.isascii():
            return base
    return ch


def ascii_fold(s: str) -> str:
    """Fold Latin letters with diacritics (and ß, æ, ø, œ, ł …) in ``s`` to ASCII."""
    if s.isascii():
        return s
    out: list[str] = []
    prev_ascii = False
    cache = _fold_char_cache
    for ch in s:
        if ch < "\x80":
            out.append(ch)
            prev_ascii = True
            continue
        folded = cache.get(ch)
        if folded is None:
            folded = _fold_char(ch)
            if len(cache) < 65536:
                cache[ch] = folded
        if folded == ch:
            if prev_ascii and _is_mark(ch):
                continue  # a mark left on an ASCII letter: drop it with the accent
            prev_ascii = False
        else:
            prev_ascii = folded.isascii()
        out.append(folded)
    return "".join(out)


def normalize(token: str, casefold: bool = True) -> str:
    """NFKC (+ casefold) normalization of one token; see the module docstring."""
    if token.isascii():
        return token.lower() if casefold else token
    s = token
    # NFKC, casefold and whitespace removal can each undo the others' normal form
    # (casefold output that is not NFKC, marks that need reordering once a space is gone),
    # so iterate to a fixed point; one or two rounds in practice.
    for _ in range(4):
        t = unicodedata.normalize(_NFKC, s.replace("\u2019", "'"))
        if casefold:
            t = t.casefold()
        if not t.isascii() or " " in t:
            t = "".join(t.split())
        if t == s:
            break
        s = t
    return s


def normalize_and_fold(token: str, casefold: bool, fold: bool) -> str:
    """:func:`normalize` then (optionally) :func:`ascii_fold`, re-normalized to a fixed point."""
    s = normalize(token, casefold)
    if fold and not s.isascii():
        folded = ascii_fold(s)
        if folded != s:
            # folding can expose characters NFKC/casefold would change; iterate to a fixed point
            for _ in range(3):
                again = ascii_fold(normalize(folded, casefold))
                if again == folded:
                    break
                folded = again
        s = folded
    return s


#: Elided articles/pronouns stripped from the front of a token (``l'homme`` → ``homme``), per
#: language; applied when the analyzer's stemmer (or stopword list) names the language.
ELISIONS: dict[str, frozenset[str]] = {
    "french": frozenset(
        ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]
    ),
    "italian": frozenset(
        ["c", "l", "all", "dall", "dell", "nell", "sull", "coll", "pell", "gl", "agl", "dagl",
         "degl", "negl", "sugl", "un", "m", "t", "s", "v", "d"]
    ),
    "catalan": frozenset(["d", "l", "m", "n", "s", "t"]),
}  # fmt: skip


def elisions_for(language: str | None) -> frozenset[str]:
    """The elision prefixes for ``language`` (empty for languages without elision)."""
    return ELISIONS.get(language or "", frozenset())


def strip_elision(s: str, prefixes: frozenset[str]) -> str:
    """``l'homme`` → ``homme`` when ``l`` is in ``prefixes`` (the token is normalized already)."""
    head, sep, tail = s.partition("'")
    if sep and tail and head in prefixes:
        return tail
    return s
