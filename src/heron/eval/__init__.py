"""Retrieval evaluation: BEIR datasets, TREC run files, nDCG / Recall / MRR.

::

    from heron.eval import load_beir, run_queries, evaluate
    ds = load_beir("path/to/beir/scifact")
    qrels = ds.qrels("test")
    run = run_queries(index, {q: t for q, t in ds.queries().items() if q in qrels}, k=100)
    print(evaluate(run, qrels).mean)      # {'ndcg@10': ..., 'recall@100': ..., 'mrr@10': ...}
"""

from heron.eval.beir import BeirDataset, load_beir
from heron.eval.compare import Comparison, QueryDelta, compare_runs, plot_deltas
from heron.eval.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from heron.eval.runner import METRICS, EvalResult, bag_of_words, evaluate, evaluated_queries, run_queries
from heron.eval.trec import EvalDataError, read_qrels, read_queries, read_run, write_run

__all__ = [
    "METRICS",
    "BeirDataset",
    "Comparison",
    "EvalDataError",
    "EvalResult",
    "QueryDelta",
    "bag_of_words",
    "compare_runs",
    "evaluate",
    "evaluated_queries",
    "load_beir",
    "mrr_at_k",
    "ndcg_at_k",
    "plot_deltas",
    "read_qrels",
    "read_queries",
    "read_run",
    "recall_at_k",
    "run_queries",
    "write_run",
]
