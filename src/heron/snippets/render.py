"""Choose passages under a token budget and assemble the snippet text with highlights.

Selection, for a budget of ``max_tokens`` (counted as in :mod:`heron.snippets.tokens`):

1. passages that match the query, best score first, while they fit (a best passage too
   long for the whole budget is trimmed to a window around its first match);
2. when no passage matches (the document matched on its title, say): the lead passages;
3. context, while room is left: the section heading above each chosen passage, then the
   neighbours of the chosen passages (next, then previous), growing regions outwards.

The chosen passages are emitted in document order. Passages that are adjacent in the
source are joined by a newline (or a space, within one paragraph); gaps are marked with
``"\\n...\\n"`` (or ``" ... "`` within one paragraph). Highlights are ``(start, end)``
offsets into the snippet text of tokens whose analyzed term is a query term. Markup is
left to the edge: :func:`to_html` is one such renderer.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from heron.snippets.fast import matcher_for
from heron.snippets.fragmenter import DEFAULT_PASSAGE_CHARS, Passage, split_passages
from heron.snippets.scoring import ScoredPassage, TextAnalyzer
from heron.snippets.tokens import chars_for_tokens, count_tokens

#: ``(text, passages, analyzer, query_terms) -> scored passages``, as :func:`score_passages`
PassageScorer = Callable[[str, Sequence[Passage], TextAnalyzer, Mapping[str, float]], list[ScoredPassage]]

GAP = "\n...\n"
GAP_INLINE = " ... "
_PIECE_OVERHEAD = max(len(GAP), len(GAP_INLINE))


@dataclass(frozen=True, slots=True)
class Snippet:
    """Snippet text, highlight ranges in it, and the source spans it was cut from."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def token_count(self) -> int:
        return count_tokens(self.text)


EMPTY = Snippet("")


def build_snippet(
    text: str,
    analyzer: TextAnalyzer,
    query_terms: Mapping[str, float],
    max_tokens: int,
    *,
    passage_chars: int = DEFAULT_PASSAGE_CHARS,
    scorer: PassageScorer | None = None,
) -> Snippet:
    """The query-biased snippet of ``text`` within ``max_tokens`` (see the module docstring).

    ``analyzer``: the field's analyzer (matches are found on analyzed terms, so stemmed
    and folded forms highlight); ``query_terms``: analyzed query term → weight.
    ``scorer``: by default the fast path (:class:`~heron.snippets.fast.ChunkMatcher`, which
    also skips scoring when every passage fits the budget); the readable reference
    :func:`~heron.snippets.scoring.score_passages` gives the same snippet.
    """
    budget = chars_for_tokens(max_tokens)
    if budget <= 0 or not text.strip():
        return EMPTY
    if scorer is None:
        passages, fast_scored, matches = matcher_for(analyzer).plan(text, query_terms, passage_chars, budget,
                                                                      _PIECE_OVERHEAD)
        if fast_scored is None:  # every passage fits: all are chosen, whatever the scores
            return _assemble_all(text, passages, matches)
        scored = fast_scored
    else:
        passages = split_passages(text, passage_chars)
        scored = scorer(text, passages, analyzer, query_terms)
    chosen = _Selection(passages, budget)
    ranked = sorted((s for s in scored if s.score > 0), key=lambda s: (-s.score, s.index))
    for sp in ranked:
        if chosen.add(sp.index):
            chosen.add_heading(sp.index)
        elif not chosen.spans:
            chosen.add_trimmed(text, sp)
            break
    if not ranked:  # the lead: leading passages while they fit
        for i in range(len(passages)):
            if not chosen.add(i):
                if not chosen.spans:
                    chosen.add_trimmed(text, scored[i])
                break
    chosen.add_context()
    return _assemble(text, chosen.spans, scored)


class _Selection:
    """Chosen passage indexes → source spans, with a running (upper-bound) cost."""

    def __init__(self, passages: Sequence[Passage], budget: int) -> None:
        self.passages = passages
        self.budget = budget
        self.used = 0
        self.spans: dict[int, tuple[int, int]] = {}

    def add(self, i: int) -> bool:
        p = self.passages[i]
        cost = p.end - p.start + _PIECE_OVERHEAD
        if i in self.spans or self.used + cost > self.budget:
            return False
        self.spans[i] = (p.start, p.end)
        self.used += cost
        return True

    def add_trimmed(self, text: str, sp: ScoredPassage) -> None:
        room = self.budget - self.used
        p = sp.passage
        anchor = sp.matches[0][0] if sp.matches else p.start
        self.spans[sp.index] = _window(text, p, anchor, room)
        self.used = self.budget

    def add_heading(self, i: int) -> None:
        h = _heading_above(self.passages, i)
        if h is not None:
            self.add(h)

    def add_context(self) -> None:
        for i in sorted(self.spans):
            self.add_heading(i)
        grew = True
        while grew:
            grew = False
            for i in sorted(self.spans):
                for j in (i + 1, i - 1):
                    if 0 <= j < len(self.passages) and j not in self.spans and self.add(j):
                        grew = True


def _heading_above(passages: Sequence[Passage], i: int) -> int | None:
    if passages[i].heading:
        return None
    for j in range(i - 1, -1, -1):
        if passages[j].heading:
            return j
    return None


def _window(text: str, p: Passage, anchor: int, room: int) -> tuple[int, int]:
    """At most ``room`` characters of ``p``, starting a little before ``anchor``, cut at
    word boundaries when that keeps at least half of the room."""
    room = max(1, room)
    if p.end - p.start <= room:
        return p.start, p.end
    start = max(p.start, min(anchor - room // 4, p.end - room))
    if start > p.start and not text[start - 1].isspace():
        sp = text.find(" ", start, anchor)
        if sp != -1:
            start = sp + 1
    end = min(p.end, start + room)
    if end < p.end and not text[end].isspace():
        sp = text.rfind(" ", start, end)
        if sp - start >= room // 2:
            end = sp
    return start, end


def _assemble(text: str, spans: Mapping[int, tuple[int, int]], scored: Sequence[ScoredPassage]) -> Snippet:
    parts: list[str] = []
    highlights: list[tuple[int, int]] = []
    out_spans: list[tuple[int, int]] = []
    pos = 0
    prev: tuple[int, int, int] | None = None  # (index, start, end)
    for i in sorted(spans):
        s, e = spans[i]
        if prev is not None:
            between = text[prev[2]:s]
            contiguous = prev[0] + 1 == i and prev[2] == scored[prev[0]].passage.end and s == scored[i].passage.start
            lines = between.count("\n")
            if contiguous:
                sep = "\n\n" if lines > 1 else "\n" if lines else " "
            else:
                sep = GAP if lines else GAP_INLINE
            parts.append(sep)
            pos += len(sep)
        parts.append(text[s:e])
        for ms, me in scored[i].matches:
            if s <= ms and me <= e:
                highlights.append((pos + ms - s, pos + me - s))
        out_spans.append((s, e))
        pos += e - s
        prev = (i, s, e)
    return Snippet("".join(parts), tuple(highlights), tuple(out_spans))


def _assemble_all(text: str, passages: Sequence[Passage], matches: Sequence[tuple[int, int]]) -> Snippet:
    """:func:`_assemble` of every passage (then all are neighbours), ``matches`` sorted."""
    parts: list[str] = []
    highlights: list[tuple[int, int]] = []
    pos = 0
    prev_end = -1
    mi, n_matches = 0, len(matches)
    for p in passages:
        if prev_end >= 0:
            lines = text.count("\n", prev_end, p.start)
            sep = "\n\n" if lines > 1 else "\n" if lines else " "
            parts.append(sep)
            pos += len(sep)
        shift = pos - p.start
        while mi < n_matches and matches[mi][0] < p.end:
            ms, me = matches[mi]
            highlights.append((ms + shift, me + shift))
            mi += 1
        parts.append(text[p.start:p.end])
        pos += p.end - p.start
        prev_end = p.end
    return Snippet("".join(parts), tuple(highlights), tuple((p.start, p.end) for p in passages))


def to_html(snippet: Snippet, tag: str = "mark") -> str:
    """The snippet as HTML-escaped text with each highlight wrapped in ``<tag>``."""
    out: list[str] = []
    pos = 0
    for s, e in snippet.highlights:
        out.append(html.escape(snippet.text[pos:s]))
        out.append(f"<{tag}>{html.escape(snippet.text[s:e])}</{tag}>")
        pos = e
    out.append(html.escape(snippet.text[pos:]))
    return "".join(out)
