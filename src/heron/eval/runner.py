"""Run queries against an index and evaluate the run (nDCG@10, Recall@100, MRR@10).

nDCG@10 and Recall@100 come from ``pytrec_eval`` (``pip install 'heron[eval]'``) when it is
installed, else from :mod:`heron.eval.metrics` (identical by construction and test). MRR@10 is
always computed here: trec_eval's ``recip_rank`` has no cut-off.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from heron.api import Index
from heron.eval import metrics as M
from heron.index.reader import Searcher
from heron.search.hybrid import HybridParams
from heron.search.query import BoolQuery, Query, TermQuery

__all__ = [
    "METRICS",
    "METRIC_LABELS",
    "EvalResult",
    "bag_of_words",
    "evaluate",
    "evaluated_queries",
    "has_pytrec_eval",
    "run_queries",
]

#: metric name -> (pytrec_eval measure or None, our own function, cut-off)
METRICS: dict[str, tuple[str | None, Callable[[Mapping[str, float], Mapping[str, int], int], float], int]] = {
    "ndcg@10": ("ndcg_cut_10", M.ndcg_at_k, 10),
    "recall@100": ("recall_100", M.recall_at_k, 100),
    "mrr@10": (None, M.mrr_at_k, 10),
}

#: display names of the metrics
METRIC_LABELS = {"ndcg@10": "nDCG@10", "recall@100": "Recall@100", "mrr@10": "MRR@10"}


@dataclass(frozen=True, slots=True)
class EvalResult:
    """Per-query and mean metric values over the evaluated queries."""

    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]
    num_queries: int
    backend: str
    #: queries that were evaluated but retrieved nothing (they score 0)
    empty_queries: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_queries": self.num_queries,
            "mean": dict(self.mean),
            "backend": self.backend,
            "empty_queries": list(self.empty_queries),
            **self.extra,
        }


def has_pytrec_eval() -> bool:
    return importlib.util.find_spec("pytrec_eval") is not None


def evaluated_queries(qrels: M.Qrels) -> list[str]:
    """Query ids with at least one positive judgement (the ones BEIR-style evaluation uses)."""
    return [q for q, docs in qrels.items() if any(g > 0 for g in docs.values())]


def bag_of_words(text: str) -> Query:
    """A query that ranks by every whitespace-separated word (OR), without query syntax.

    Evaluation queries are natural language: a leading ``-`` or a stray ``"`` must not turn
    into an exclusion or a phrase, and nothing should fail to parse.
    """
    return BoolQuery(should=tuple(TermQuery(w) for w in text.split()))


def run_queries(
    target: Index | Searcher,
    queries: Mapping[str, str],
    k: int = 100,
    *,
    query_syntax: bool = False,
    operator: str = "or",
    on_query: Callable[[str], None] | None = None,
    mode: str = "lexical",
    hybrid: HybridParams | None = None,
) -> dict[str, dict[str, float]]:
    """Search every query; returns query id -> doc id -> score in heron's rank order.

    ``target`` is an ``Index`` or a ``Searcher`` (an Index is snapshotted once, so every
    query sees the same state). With ``query_syntax`` the text goes through heron's query
    parser; by default it is a plain bag of words (:func:`bag_of_words`).
    """
    searcher = target.searcher() if isinstance(target, Index) else target
    run: dict[str, dict[str, float]] = {}
    for qid, text in queries.items():
        q: str | Query = text if query_syntax else bag_of_words(text)
        ids, scores = searcher.search_ids(q, k, operator=operator, mode=mode, hybrid=hybrid)
        run[qid] = dict(zip(ids, scores, strict=True))
        if on_query is not None:
            on_query(qid)
    return run


def evaluate(
    run: M.Run,
    qrels: M.Qrels,
    queries: Iterable[str] | None = None,
    *,
    backend: str = "auto",
) -> EvalResult:
    """Evaluate ``run`` on ``queries`` (default: :func:`evaluated_queries` of ``qrels``).

    Every evaluated query counts, also when the run has nothing for it (it scores 0 —
    pytrec_eval alone would silently leave such queries out of the mean). ``backend`` is
    ``"pytrec_eval"``, ``"python"`` or ``"auto"`` (pytrec_eval when installed).
    """
    qids = list(dict.fromkeys(queries)) if queries is not None else evaluated_queries(qrels)
    if backend == "auto":
        backend = "pytrec_eval" if has_pytrec_eval() else "python"
    if backend not in ("pytrec_eval", "python"):
        raise ValueError(f"backend must be 'auto', 'pytrec_eval' or 'python', got {backend!r}")
    per_query: dict[str, dict[str, float]] = {q: {} for q in qids}
    empty = tuple(q for q in qids if not run.get(q))
    trec: dict[str, dict[str, float]] = {}
    if backend == "pytrec_eval":
        trec = _pytrec(run, qrels, qids)
    for q in qids:
        scores = run.get(q, {})
        judged = qrels.get(q, {})
        for name, (measure, fn, k) in METRICS.items():
            if backend == "pytrec_eval" and measure is not None:
                per_query[q][name] = trec.get(q, {}).get(measure, 0.0)
            else:
                per_query[q][name] = fn(scores, judged, k) if scores else 0.0
    means = {name: M.mean(per_query[q][name] for q in qids) for name in METRICS}
    return EvalResult(per_query, means, len(qids), backend, empty)


def _pytrec(run: M.Run, qrels: M.Qrels, qids: list[str]) -> dict[str, dict[str, float]]:
    import pytrec_eval

    measures = {m for m, _, _ in METRICS.values() if m is not None}
    # pytrec_eval takes "ndcg_cut.10" / "recall.100" and reports "ndcg_cut_10" / "recall_100"
    wanted = {m.rsplit("_", 1)[0] + "." + m.rsplit("_", 1)[1] for m in measures}
    q_in = {q: {d: int(g) for d, g in qrels.get(q, {}).items()} for q in qids}
    r_in = {q: {d: float(s) for d, s in run[q].items()} for q in qids if run.get(q)}
    if not r_in:
        return {}
    evaluator = pytrec_eval.RelevanceEvaluator(q_in, wanted)
    out: dict[str, dict[str, float]] = evaluator.evaluate(r_in)
    return out

