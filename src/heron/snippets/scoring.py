"""Rank passages by how well they answer the query.

For a passage with ``n`` analyzed terms, of which ``m`` are query terms, covering the
distinct query terms ``D`` (weights ``w``, 1 each unless given, e.g. idf)::

    coverage = sum(w[t] for t in D) / sum(w)            # in [0, 1]: which terms it has
    density  = min(1, 4 * m / n)                        # in [0, 1]: how concentrated
    score    = coverage + 0.25 * density + 0.01 / (1 + index)   (0 when m == 0)

Coverage dominates (a passage with every query term beats one repeating a single term);
density breaks ties towards short, focused passages; the tiny last term prefers earlier
passages among equals so results are deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from heron.analysis import Token
from heron.snippets.fragmenter import Passage

DENSITY_WEIGHT = 0.25
POSITION_WEIGHT = 0.01


class TextAnalyzer(Protocol):
    """What snippets need from an analyzer (``heron.analysis.Analyzer`` fits)."""

    def terms(self, text: str) -> list[str]: ...

    def tokens(self, text: str) -> list[Token]: ...


@dataclass(frozen=True, slots=True)
class ScoredPassage:
    """A passage, its score and the source offsets of its matched tokens."""

    passage: Passage
    index: int
    score: float
    matches: tuple[tuple[int, int], ...]


def score_passages(
    text: str,
    passages: Sequence[Passage],
    analyzer: TextAnalyzer,
    query_terms: Mapping[str, float],
) -> list[ScoredPassage]:
    """Score every passage of ``text`` (in document order) against ``query_terms`` (term → weight).

    Each passage is analyzed on its own: first its terms (cheap, cached by the analyzer),
    and only when one of them is a query term, its tokens with character offsets.
    """
    total_w = sum(w for w in query_terms.values() if w > 0) or 1.0
    out: list[ScoredPassage] = []
    for i, p in enumerate(passages):
        chunk = text[p.start:p.end]
        terms = analyzer.terms(chunk)
        if query_terms.keys().isdisjoint(terms):
            out.append(ScoredPassage(p, i, 0.0, ()))
            continue
        matched: list[tuple[int, int]] = []
        distinct: set[str] = set()
        for t in analyzer.tokens(chunk):
            if t.term in query_terms:
                matched.append((p.start + t.start, p.start + t.end))
                distinct.add(t.term)
        coverage = sum(query_terms[t] for t in distinct) / total_w
        density = min(1.0, 4.0 * len(matched) / max(len(terms), 1))
        score = coverage + DENSITY_WEIGHT * density + POSITION_WEIGHT / (1 + i)
        out.append(ScoredPassage(p, i, score, dedupe_spans(matched)))
    return out


def dedupe_spans(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted ranges with overlapping/adjacent ones merged (CJK bigrams give overlapping tokens)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)
