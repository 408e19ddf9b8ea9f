"""ANN library comparison on real passage vectors: recall@10 vs exact, single-query QPS.

    .venv/bin/pip install -e '.[ann-bench]'
    .venv/bin/python benchmarks/ann_bench.py VECTORS.npy [--queries 1000] [--json out.json]

``VECTORS.npy``: (n, d) float16/float32 L2-normalised passage vectors (e.g. the enwiki-107k
passages embedded with heron's default model). Queries are held-out rows perturbed slightly
(each query's own row removed from the index), so the neighbours are real neighbours in the
corpus distribution. Every library runs single-threaded, one query at a time (the serving
pattern); build time is reported too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def exact_topk(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), 256):
        sc = q[s : s + 256] @ x.T
        part = np.argpartition(-sc, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sc, part, 1), axis=1)
        out[s : s + 256] = np.take_along_axis(part, order, 1)
    return out


def measure(name: str, search: Callable[[np.ndarray], np.ndarray], q: np.ndarray, truth: np.ndarray,
            build_s: float) -> dict[str, Any]:
    for v in q[:20]:
        search(v)
    t0 = time.perf_counter()
    got = [search(v) for v in q]
    dt = time.perf_counter() - t0
    rec = float(np.mean([len(set(g.tolist()) & set(t.tolist())) / len(t) for g, t in zip(got, truth, strict=True)]))
    row = {"name": name, "recall@10": round(rec, 4), "qps": round(len(q) / dt, 1), "build_s": round(build_s, 1)}
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vectors", type=Path)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--libs", default="faiss-hnsw-sq16,faiss-hnsw-flat,usearch,hnswlib")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    allv = np.load(a.vectors).astype(np.float32)
    rng = np.random.default_rng(0)
    qi = rng.choice(len(allv), a.queries, replace=False)
    mask = np.ones(len(allv), bool)
    mask[qi] = False
    x = np.ascontiguousarray(allv[mask])
    q = allv[qi] + rng.normal(0, 0.02, (a.queries, allv.shape[1])).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    truth = exact_topk(x, q, 10)
    d = x.shape[1]
    rows = []
    libs = a.libs.split(",")
    t0 = time.perf_counter()
    for v in q[:200]:
        exact_topk(x, v[None], 10)
    rows.append({"name": "numpy exact", "recall@10": 1.0, "qps": round(200 / (time.perf_counter() - t0), 1),
                 "build_s": 0.0})
    print(json.dumps(rows[-1]), flush=True)
    if any(lib.startswith("faiss") for lib in libs):
        import faiss

        faiss.omp_set_num_threads(1)
        for lib in [lib for lib in libs if lib.startswith("faiss")]:
            t0 = time.perf_counter()
            if lib == "faiss-hnsw-sq16":
                idx = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_fp16, 16, faiss.METRIC_INNER_PRODUCT)
            else:
                idx = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT)
            idx.hnsw.efConstruction = 100
            idx.train(x)
            idx.add(x)
            build = time.perf_counter() - t0
            for ef in (32, 64, 128):
                p = faiss.SearchParametersHNSW()
                p.efSearch = ef
                rows.append(measure(f"{lib} M=16 ef={ef}", lambda v, p=p, idx=idx: idx.search(v[None], 10, params=p)[1][0],
                                    q, truth, build))
    if "usearch" in libs:
        from usearch.index import Index as UIndex

        t0 = time.perf_counter()
        u = UIndex(ndim=d, metric="ip", dtype="f16", connectivity=16, expansion_add=100)
        u.add(np.arange(len(x)), x, threads=1)
        build = time.perf_counter() - t0
        for ef in (32, 64, 128):
            u.expansion_search = ef
            rows.append(measure(f"usearch M=16 ef={ef}", lambda v: u.search(v, 10, threads=1).keys, q, truth, build))
    if "hnswlib" in libs:
        import hnswlib

        t0 = time.perf_counter()
        h = hnswlib.Index(space="ip", dim=d)
        h.init_index(max_elements=len(x), M=16, ef_construction=100)
        h.set_num_threads(1)
        h.add_items(x)
        build = time.perf_counter() - t0
        for ef in (32, 64, 128):
            h.set_ef(ef)
            rows.append(measure(f"hnswlib M=16 ef={ef}", lambda v: h.knn_query(v, 10)[0][0], q, truth, build))
    if a.json:
        a.json.write_text(json.dumps({"n": len(x), "dim": d, "queries": len(q), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
