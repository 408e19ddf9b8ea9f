"""Split stored text into passages: the candidate units of a snippet.

A passage is a span ``text[start:end]`` (no leading/trailing whitespace):

* a markdown-ish heading line (``# Title`` … ``###### Title``) is a passage of its own
  with ``heading=True``;
* every other non-blank line is a paragraph; a paragraph longer than ``max_chars`` is cut
  into runs of whole sentences of at most ``max_chars``, and a single sentence longer than
  that is cut at whitespace.

Passages are in document order and never overlap; what lies between two consecutive
passages is whitespace only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: default upper bound of a passage, in characters (~125 tokens)
DEFAULT_PASSAGE_CHARS = 500

_HEADING = re.compile(r" {0,3}#{1,6}\s+\S")  # used with .match(text, pos)
_LINE = re.compile(r"[^\n]+")
# a sentence ends after a terminator, closing quotes/brackets and whitespace; group 1 is the
# gap between two sentences (the terminator stays with its sentence). Written without a
# look-behind, which the regex engine would evaluate at every position.
_SENTENCE_END = re.compile(r"[.!?…。！？]([\"'”’)\]]*\s+)")


@dataclass(frozen=True, slots=True)
class Passage:
    """``text[start:end]`` of the source; ``heading`` for a markdown-ish heading line."""

    start: int
    end: int
    heading: bool = False


def split_passages(text: str, max_chars: int = DEFAULT_PASSAGE_CHARS) -> list[Passage]:
    """The passages of ``text`` in document order (see the module docstring)."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    out: list[Passage] = []
    for m in _LINE.finditer(text):
        start, end = _strip(text, m.start(), m.end())
        if start >= end:
            continue
        if _HEADING.match(text, m.start(), m.end()):
            out.append(Passage(start, end, heading=True))
        elif end - start <= max_chars:
            out.append(Passage(start, end))
        else:
            out.extend(_split_paragraph(text, start, end, max_chars))
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):  # text[start - 1] is never a terminator
        spans.append((pos, m.start(1)))
        pos = m.end()
    if pos < end:
        spans.append((pos, end))
    return [s for s in spans if s[0] < s[1]]


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    spans = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars + 1)
        if cut <= start:
            cut = start + max_chars
        s, e = _strip(text, start, cut)
        if s < e:
            spans.append((s, e))
        start, _ = _strip(text, cut, end)
    if start < end:
        spans.append((start, end))
    return spans


def _split_paragraph(text: str, start: int, end: int, max_chars: int) -> list[Passage]:
    pieces: list[tuple[int, int]] = []
    for s, e in _sentences(text, start, end):
        pieces.extend(_hard_split(text, s, e, max_chars) if e - s > max_chars else [(s, e)])
    out: list[Passage] = []
    cur_s, cur_e = pieces[0]
    for s, e in pieces[1:]:
        if e - cur_s <= max_chars:
            cur_e = e
        else:
            out.append(Passage(cur_s, cur_e))
            cur_s, cur_e = s, e
    out.append(Passage(cur_s, cur_e))
    return out
