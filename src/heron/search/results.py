"""Typed search results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True, slots=True)
class TermContribution:
    """One (term, field) part of a score: ``weight * tf / (tf + k1 * (1 - b + b * dl / avgdl))``."""

    term: str
    field: str
    score: float
    tf: int
    idf: float
    weight: float
    doc_freq: int
    doc_count: int
    field_length: int
    avgdl: float
    k1: float
    b: float

    def describe(self) -> str:
        return (
            f"{self.score:.6f} = weight({self.weight:.6f}) * tf({self.tf}) / (tf + k1({self.k1}) * (1 - b({self.b}) "
            f"+ b * dl({self.field_length}) / avgdl({self.avgdl:.3f})))  [{self.field}:{self.term}, "
            f"idf={self.idf:.6f} = ln(1 + (N({self.doc_count}) - df({self.doc_freq}) + 0.5) / (df + 0.5))]"
        )


@dataclass(frozen=True, slots=True)
class Explanation:
    """Per-term, per-field contributions; ``score`` is their sum in scoring order, exactly as the
    kernels compute it: each contribution is a float32 product and they are added in float32."""

    score: float
    contributions: tuple[TermContribution, ...]

    def describe(self) -> str:
        lines = [f"{self.score:.6f} = sum of:"]
        lines += ["  " + c.describe() for c in self.contributions]
        return "\n".join(lines)


@dataclass(slots=True)
class Hit:
    """One search result: external ``id``, BM25 ``score``, stored ``fields`` (when requested).

    (Not frozen on purpose: a frozen dataclass costs ~1 µs more per construction, which is
    measurable at top-100.)"""

    id: str
    score: float
    fields: dict[str, Any] | None = None
    explanation: Explanation | None = None
    #: (segment ordinal, doc within segment) — internal address, stable within one searcher
    address: tuple[int, int] = field(default=(0, 0), compare=False)
    #: hybrid/dense modes: per retriever ("lexical", "dense", "fused", "rerank") its rank (from 1)
    #: and score for this document; absent retrievers did not return it
    sources: dict[str, dict[str, float]] | None = field(default=None, compare=False)

    @property
    def title(self) -> str:
        return str((self.fields or {}).get("title", ""))

    @property
    def text(self) -> str:
        return str((self.fields or {}).get("text", ""))

    @property
    def url(self) -> str:
        return str((self.fields or {}).get("url", ""))


class ScoredIds(NamedTuple):
    """Search results as two columns — external ``ids`` and their ``scores`` (BM25, or the
    dense / fused score of those modes), best first — in the order :meth:`heron.Index.search`
    returns its hits, without a :class:`Hit` object per
    result: for callers that need only ids and scores (re-ranking, fusion, evaluation, batch
    retrieval), at top-100 the per-hit objects are a third of a search's time."""

    ids: list[str]
    scores: list[float]
