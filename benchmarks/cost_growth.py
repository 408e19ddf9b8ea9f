"""Cost growth, like for like: heron's median query latency on the 1M replicated corpus divided
by that on a uniform ~107k-document sample of the same corpus, with the same queries.

    .venv/bin/python benchmarks/cost_growth.py [--passes 3] [--fraction 0.1057] [--rebuild]

Issue 2's bar: median latency at >= 1M documents <= 4x that at 107k. Comparing the 1M corpus with
enwiki-107k would mix corpora and query sets; here both indexes hold the same mixture of documents
(the sample keeps a document when ``crc32(id) % 100000 < fraction * 100000``, ``harness.in_sample``) and
answer the 1M corpus's seeded queries. The peers' cost growth on the same pair comes from the benchmark
suite: ``benchmarks/run.py --corpora replicated-1m-sample,replicated-1m`` (its report's "Cost growth"
section). Both indexes use the bench's settings (one flat field, no stored text, one segment) and are
kept under ``benchmarks/.work/cost-growth/`` (``--rebuild`` makes them anew).
Each pass runs every query once on the sample and then on the 1M index (``Index.search_ids``, as
the bench adapter does), single-threaded; the median of all passes' latencies is reported per
index and k, with p99, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import corpora  # noqa: E402
import harness  # noqa: E402

import heron  # noqa: E402
from heron import kernels  # noqa: E402
from heron.index.manifest import MANIFEST  # noqa: E402

WORK = REPO / "benchmarks" / ".work" / "cost-growth"


def build(path: Path, keep: float | None) -> int:
    """Index the 1M corpus (``keep`` None) or its crc32 sample into ``path``; returns documents."""
    spec = corpora.CORPORA["replicated-1m"]
    settings = heron.IndexSettings.flat(store_documents=False, writer_buffer_mb=954, writer_buffer_docs=1 << 40)
    shutil.rmtree(path, ignore_errors=True)
    idx = heron.Index.create(str(path), settings)
    n = 0
    with idx.writer() as w:
        docs = harness.iter_manifest_docs({**corpora.manifest(spec, corpora.data_root()), "sample": keep})
        for batch in harness.batched(docs, 10_000):
            w.add_many([{"id": i, "title": t, "text": x} for i, t, x in batch])
            n += len(batch)
        w.force_merge(1)
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=0.1057, help="sample share (0.1057: ~107k documents)")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--rebuild", action="store_true")
    a = ap.parse_args()
    kernels.warmup()
    spec = corpora.CORPORA["replicated-1m"]
    queries = [q for _, q in corpora.queries_cached(spec, corpora.data_root(), a.queries, 42)["queries"]]
    paths = {"sample": WORK / f"sample-{a.fraction}", "1M": WORK / "full"}
    for name, path in paths.items():
        if a.rebuild or not (path / MANIFEST).exists():
            t0 = time.perf_counter()
            n = build(path, a.fraction if name == "sample" else None)
            print(f"built {name}: {n:,} documents in {time.perf_counter() - t0:.0f} s", flush=True)
    idx = {name: heron.Index.open(str(path)) for name, path in paths.items()}
    for i in idx.values():
        i.searcher()
        for q in queries[:100]:  # warm-up
            i.search_ids(q, k=10)
    out: dict[str, object] = {"queries": len(queries), "passes": a.passes,
                              "docs": {n: i.stats().doc_count for n, i in idx.items()}}
    for k in (10, 100):
        lat: dict[str, list[float]] = {n: [] for n in idx}
        for _ in range(a.passes):
            for name, i in idx.items():
                for q in queries:
                    t0 = time.perf_counter()
                    i.search_ids(q, k=k)
                    lat[name].append(time.perf_counter() - t0)
        p50 = {n: 1e3 * float(np.median(v)) for n, v in lat.items()}
        p99 = {n: 1e3 * float(np.percentile(v, 99)) for n, v in lat.items()}
        ratio = p50["1M"] / p50["sample"]
        out[f"k{k}"] = {"p50_ms": p50, "p99_ms": p99, "ratio_p50": ratio}
        print(f"k={k}: sample p50 {p50['sample']:.3f} ms (p99 {p99['sample']:.3f}), 1M p50 {p50['1M']:.3f} ms "
              f"(p99 {p99['1M']:.3f}); median ratio {ratio:.2f}x (bar <= 4x)", flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
