"""CJK handling: turn a run of Han/Kana/Hangul characters into index units.

Chinese and Japanese are written without spaces, so a dictionary-free analyzer indexes
overlapping character **bigrams** (like Lucene's ``CJKBigramFilter``): ``中文分词`` becomes
``中文``, ``文分``, ``分词``; a run of one character yields that character. A query analyzed
the same way matches as a phrase of consecutive bigrams. ``unigram`` mode indexes single
characters instead (higher recall, lower precision), and ``none`` keeps the whole run as
one token.

The pieces are returned as ``(surface, start, end)`` with offsets relative to the run, so
``run[start:end] == surface``.
"""

from __future__ import annotations

import operator

CJK_MODES: tuple[str, ...] = ("bigram", "unigram", "none")

_concat = operator.add


def split_run(run: str, mode: str) -> list[tuple[str, int, int]]:
    """Split a CJK run into ``(surface, start, end)`` pieces according to ``mode``."""
    n = len(run)
    if mode == "bigram":
        if n == 1:
            return [(run, 0, 1)]
        return [(run[i : i + 2], i, i + 2) for i in range(n - 1)]
    if mode == "unigram":
        return [(ch, i, i + 1) for i, ch in enumerate(run)]
    return [(run, 0, n)]


def run_surfaces(run: str, mode: str) -> list[str]:
    """Just the surfaces of :func:`split_run` (the fast path needs no offsets)."""
    if mode == "bigram":
        if len(run) == 1:
            return [run]
        return list(map(_concat, run, run[1:]))  # pairs of neighbours, built in C
    if mode == "unigram":
        return list(run)
    return [run]
