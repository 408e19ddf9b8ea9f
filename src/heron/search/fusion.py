"""Rank fusion as pure functions over ranked lists.

Each input list is one retriever's ranking: ``(key, score)`` pairs, best first. Keys are any
hashable, orderable values (heron uses global document ordinals, so ties fall back to index
order and results are deterministic).

* :func:`rrf` — Reciprocal Rank Fusion (Cormack et al. 2009): ``sum_r w_r / (k + rank_r)``,
  ranks from 1; documents missing from a list get nothing from it.
* :func:`weighted` — weighted normalised-score fusion: each list's scores are min-max
  normalised to [0, 1] (a one-element or constant list normalises to 1), then
  ``sum_r w_r * norm_r``; a missing document contributes 0 from that list.

Ties in the fused score break by the best (smallest) rank a key reached in any list, then by
the key itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from heron.errors import ConfigError

K = TypeVar("K", bound=Hashable)
DEFAULT_RRF_K = 60.0


@dataclass(frozen=True, slots=True)
class Fused:
    """One fused result: its key, fused score, and per input list (rank from 1, score) or None."""

    key: Any
    score: float
    sources: tuple[tuple[int, float] | None, ...]


def _check(lists: Sequence[Sequence[tuple[Any, float]]], weights: Sequence[float] | None) -> list[float]:
    w = [1.0] * len(lists) if weights is None else [float(x) for x in weights]
    if len(w) != len(lists):
        raise ConfigError(f"fusion: {len(w)} weights for {len(lists)} ranked lists")
    if any(not (x >= 0) for x in w):
        raise ConfigError(f"fusion weights must be >= 0, got {w}")
    return w


def _sources(lists: Sequence[Sequence[tuple[Any, float]]]) -> dict[Any, list[tuple[int, float] | None]]:
    seen: dict[Any, list[tuple[int, float] | None]] = {}
    for li, ranked in enumerate(lists):
        for rank, (key, score) in enumerate(ranked, 1):
            slot = seen.setdefault(key, [None] * len(lists))
            if slot[li] is None:  # a key listed twice keeps its best (first) rank
                slot[li] = (rank, float(score))
    return seen


def _finish(scores: dict[Any, float], src: dict[Any, list[tuple[int, float] | None]]) -> list[Fused]:
    def best_rank(key: Any) -> int:
        return min(s[0] for s in src[key] if s is not None)

    order = sorted(scores, key=lambda key: (-scores[key], best_rank(key), key))
    return [Fused(key, scores[key], tuple(src[key])) for key in order]


def rrf(lists: Sequence[Sequence[tuple[Any, float]]], k: float = DEFAULT_RRF_K,
        weights: Sequence[float] | None = None) -> list[Fused]:
    """Reciprocal Rank Fusion of ranked lists (best first)."""
    if not k > 0:
        raise ConfigError(f"RRF k must be > 0, got {k}")
    w = _check(lists, weights)
    src = _sources(lists)
    scores = {key: sum(w[i] / (k + s[0]) for i, s in enumerate(ss) if s is not None) for key, ss in src.items()}
    return _finish(scores, src)


def minmax(scores: Sequence[float]) -> list[float]:
    """Min-max normalisation to [0, 1]; constant input → all 1."""
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if hi <= lo:
        return [1.0] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def weighted(lists: Sequence[Sequence[tuple[Any, float]]], weights: Sequence[float] | None = None) -> list[Fused]:
    """Weighted sum of min-max normalised scores."""
    w = _check(lists, weights)
    src = _sources(lists)
    norms: list[dict[Any, float]] = []
    for ranked in lists:
        n = minmax([s for _, s in ranked])
        d: dict[Any, float] = {}
        for (key, _), v in zip(ranked, n, strict=True):
            d.setdefault(key, v)
        norms.append(d)
    scores = {key: sum(w[i] * norms[i].get(key, 0.0) for i in range(len(lists))) for key in src}
    return _finish(scores, src)
