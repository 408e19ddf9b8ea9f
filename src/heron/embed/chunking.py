"""Sentence-aware chunking of a document into passages of about ``words`` words.

all-MiniLM-L6-v2 truncates at 256 word pieces (~200 English words), so long documents are cut
into passages; each passage keeps the character span it came from, so a passage hit maps back
to its document and to the text a snippet should show. Passages end at a sentence boundary
when one lies within the budget; a single over-long sentence is cut at word boundaries.
Consecutive passages share ``overlap`` words (whole sentences where possible).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from heron.errors import ConfigError

_SENT = re.compile(r"[^.!?\n]*(?:[.!?]+[\"')\]]*|\n+|$)")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Passage:
    """A span ``text[start:end]`` of a document's text."""

    start: int
    end: int
    text: str


def _sentences(text: str) -> list[tuple[int, int, int]]:
    """(start, end, word count) per sentence, whitespace-trimmed."""
    out: list[tuple[int, int, int]] = []
    for m in _SENT.finditer(text):
        s, e = m.start(), m.end()
        seg = text[s:e]
        words = _WORD.findall(seg)
        if not words:
            continue
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        out.append((s + lead, e - trail, len(words)))
    return out


def _split_long(text: str, s: int, e: int, words: int) -> list[tuple[int, int, int]]:
    spans = [(m.start() + s, m.end() + s) for m in _WORD.finditer(text[s:e])]
    return [(spans[i][0], spans[min(i + words, len(spans)) - 1][1], min(words, len(spans) - i))
            for i in range(0, len(spans), words)]


def chunk_text(text: str, words: int = 200, overlap: int = 0) -> list[Passage]:
    """Cut ``text`` into passages of at most about ``words`` words, sentence-aligned.

    ``overlap`` words (rounded to whole sentences, at most half a passage) repeat at the start
    of the next passage. Empty text gives no passages; short text gives one.
    """
    if words < 8:
        raise ConfigError(f"chunk size must be >= 8 words, got {words}")
    if not 0 <= overlap < words:
        raise ConfigError(f"chunk overlap must be >= 0 and < chunk size ({words}), got {overlap}")
    sents: list[tuple[int, int, int]] = []
    for s, e, n in _sentences(text):
        sents.extend(_split_long(text, s, e, words) if n > words else [(s, e, n)])
    out: list[Passage] = []
    i = 0
    while i < len(sents):
        j, total = i, 0
        while j < len(sents) and (total + sents[j][2] <= words or j == i):
            total += sents[j][2]
            j += 1
        start, end = sents[i][0], sents[j - 1][1]
        out.append(Passage(start, end, text[start:end]))
        if j >= len(sents):
            break
        # step back whole sentences for the overlap, but always advance
        back, k = 0, j
        while overlap and k - 1 > i and back + sents[k - 1][2] <= min(overlap, words // 2):
            k -= 1
            back += sents[k][2]
        i = k
    return out
