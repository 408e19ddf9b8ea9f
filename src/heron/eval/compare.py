"""Per-query comparison of two runs on one metric (default nDCG@10), with an optional plot."""

from __future__ import annotations

import os
from dataclasses import dataclass

from heron.eval import metrics as M
from heron.eval.runner import METRIC_LABELS, METRICS, evaluate, evaluated_queries

__all__ = ["Comparison", "QueryDelta", "compare_runs", "plot_deltas"]


@dataclass(frozen=True, slots=True)
class QueryDelta:
    qid: str
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a


@dataclass(frozen=True, slots=True)
class Comparison:
    """B versus A: per-query values sorted by delta (B - A) descending, and a summary."""

    metric: str
    deltas: tuple[QueryDelta, ...]
    mean_a: float
    mean_b: float
    #: |delta| at or below this counts as a tie
    tie_epsilon: float = 1e-9

    @property
    def wins(self) -> int:
        """Queries where B is better than A."""
        return sum(1 for d in self.deltas if d.delta > self.tie_epsilon)

    @property
    def losses(self) -> int:
        return sum(1 for d in self.deltas if d.delta < -self.tie_epsilon)

    @property
    def ties(self) -> int:
        return len(self.deltas) - self.wins - self.losses

    @property
    def mean_delta(self) -> float:
        return M.mean(d.delta for d in self.deltas)


def compare_runs(
    run_a: M.Run, run_b: M.Run, qrels: M.Qrels, metric: str = "ndcg@10", *, backend: str = "auto"
) -> Comparison:
    """Compare two runs on the queries with at least one positive judgement."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {sorted(METRICS)}")
    qids = evaluated_queries(qrels)
    ea = evaluate(run_a, qrels, qids, backend=backend)
    eb = evaluate(run_b, qrels, qids, backend=backend)
    rows = [QueryDelta(q, ea.per_query[q][metric], eb.per_query[q][metric]) for q in qids]
    rows.sort(key=lambda r: (-r.delta, r.qid))
    return Comparison(metric, tuple(rows), ea.mean[metric], eb.mean[metric])


def plot_deltas(cmp: Comparison, out: str | os.PathLike[str], label_a: str = "A", label_b: str = "B") -> None:
    """Bar chart of the per-query deltas (B - A), sorted, written as PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = [d.delta for d in cmp.deltas]
    colors = ["#2a9d8f" if v > cmp.tie_epsilon else "#e76f51" if v < -cmp.tie_epsilon else "#999999" for v in values]
    fig, ax = plt.subplots(figsize=(max(6.0, min(12.0, len(values) * 0.04 + 4)), 4.0), dpi=100)
    try:
        ax.bar(range(len(values)), values, width=1.0, color=colors)
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_xlabel(f"queries, sorted by delta (n={len(values)})")
        ax.set_ylabel(f"Δ {METRIC_LABELS.get(cmp.metric, cmp.metric)} ({label_b} − {label_a})")
        ax.set_title(
            f"{label_b} vs {label_a}: {cmp.wins} wins, {cmp.losses} losses, {cmp.ties} ties, "
            f"mean Δ {cmp.mean_delta:+.4f}",
            fontsize=10,
        )
        ax.set_xlim(-0.5, max(len(values), 1) - 0.5)
        fig.tight_layout()
        fig.savefig(os.fspath(out), format="png")
    finally:
        plt.close(fig)
