"""Relevance of lexical / dense / hybrid (+ learned rerank) retrieval on BEIR-layout datasets.

    .venv/bin/python benchmarks/hybrid_eval.py ../shared/data/beir/scifact [more datasets] \\
        --work /tmp/heron-hybrid [--split test] [--json out.json]

Builds (or reuses, under ``--work``) one index with vectors per dataset, using both cores
(``add_parallel``), then prints nDCG@10 / Recall@100 per mode. The same numbers come from
``heron eval DATASET INDEX --mode hybrid``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from heron import Index, IndexSettings
from heron.config import VectorSettings
from heron.eval.beir import load_beir
from heron.eval.runner import evaluate, run_queries
from heron.search.hybrid import HybridParams

MODES: dict[str, tuple[str, HybridParams | None]] = {
    "lexical": ("lexical", None),
    "dense": ("dense", None),
    "hybrid-rrf": ("hybrid", HybridParams(fusion="rrf")),
    "hybrid-weighted": ("hybrid", HybridParams(fusion="weighted")),
    "hybrid+learned": ("hybrid", HybridParams(rerank="learned")),
}


def build(dataset: Path, work: Path, processes: int = 2) -> tuple[Index, float | None]:
    path = work / dataset.name
    if (path / "manifest.json").is_file():
        return Index.open(path), None
    ds = load_beir(dataset)
    t0 = time.perf_counter()
    idx = Index.create(path, IndexSettings(vectors=VectorSettings()))
    docs = list(ds.corpus())
    with idx.writer() as w:
        w.add_parallel(docs, processes=processes, chunk_docs=max(1, len(docs) // (2 * processes) + 1))
        w.force_merge(1)
    return idx, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("datasets", nargs="+", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/heron-hybrid"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict[str, object]] = {}
    for d in a.datasets:
        ds = load_beir(d)
        idx, secs = build(d, a.work)
        qrels = ds.qrels(a.split)
        queries = {q: t for q, t in ds.queries().items() if q in qrels}
        row: dict[str, object] = {"build_s": secs, "queries": len(queries)}
        for name in a.modes.split(","):
            mode, params = MODES[name]
            t0 = time.perf_counter()
            run = run_queries(idx, queries, 100, mode=mode, hybrid=params)
            res = evaluate(run, qrels)
            row[name] = {"ndcg@10": round(res.mean["ndcg@10"], 4), "recall@100": round(res.mean["recall@100"], 4),
                         "ms_per_query": round(1000 * (time.perf_counter() - t0) / max(len(queries), 1), 2)}
            print(f"{ds.name:10s} {name:20s} nDCG@10 {res.mean['ndcg@10']:.4f}  R@100 {res.mean['recall@100']:.4f}",
                  flush=True)
        report[ds.name] = row
    if a.json:
        a.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
