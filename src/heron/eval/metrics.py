"""Pure-Python IR metrics, matching ``trec_eval`` (and so ``pytrec_eval``) exactly.

Conventions (those of trec_eval 9):

* A run for one query is a mapping ``doc id -> score``. Documents are ranked by score
  descending, ties broken by doc id *descending* (trec_eval re-sorts every run this way and
  ignores the rank column of a run file).
* Relevance grades come from the qrels; a document is relevant when its grade is >= 1.
  Unjudged documents count as grade 0.
* nDCG@k: gain = grade (0 for grades <= 0), discount ``log2(rank + 1)`` (rank 1-based); the ideal
  DCG ranks *all* judged relevant documents by grade, cut at ``k``.
* Recall@k: relevant documents in the top ``k`` / all relevant documents (0 when there are none).
* MRR@k: ``1 / rank`` of the first relevant document within the top ``k``, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

#: qrels: query id -> doc id -> relevance grade
Qrels = Mapping[str, Mapping[str, int]]
#: run: query id -> doc id -> score
Run = Mapping[str, Mapping[str, float]]

__all__ = ["Qrels", "Run", "dcg", "mean", "mrr_at_k", "ndcg_at_k", "ranked", "recall_at_k"]


def ranked(scores: Mapping[str, float]) -> list[str]:
    """Doc ids in trec_eval order: score descending, then doc id descending."""
    return [d for d, _ in sorted(scores.items(), key=lambda x: (x[1], x[0]), reverse=True)]


def dcg(gains: Iterable[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order (rank 1 first)."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains) if g > 0)


def ndcg_at_k(scores: Mapping[str, float], judgements: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k of one query's run ``scores`` against its ``judgements`` (doc id -> grade)."""
    _check_k(k)
    ideal = dcg(sorted((float(g) for g in judgements.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    got = dcg(float(max(judgements.get(d, 0), 0)) for d in ranked(scores)[:k])
    return got / ideal


def recall_at_k(scores: Mapping[str, float], judgements: Mapping[str, int], k: int = 100) -> float:
    """Fraction of the relevant documents (grade >= 1) found in the top ``k``."""
    _check_k(k)
    relevant = {d for d, g in judgements.items() if g >= 1}
    if not relevant:
        return 0.0
    return sum(1 for d in ranked(scores)[:k] if d in relevant) / len(relevant)


def mrr_at_k(scores: Mapping[str, float], judgements: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if none)."""
    _check_k(k)
    for i, d in enumerate(ranked(scores)[:k]):
        if judgements.get(d, 0) >= 1:
            return 1.0 / (i + 1)
    return 0.0


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean; 0.0 for no values."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"cut-off k must be >= 1, got {k}")
