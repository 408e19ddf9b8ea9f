"""Build enwiki-107k with vectors and measure hybrid query latency (query embedding included).

    .venv/bin/python benchmarks/hybrid_latency.py [--corpus ../shared/data/large/enwiki-sample-passages.jsonl.gz]
        [--index /tmp/heron-enwiki-vec] [--vectors-npy V.npy --ids-json IDS.json] [--queries 500]

``--vectors-npy`` seeds the embedding cache with vectors computed earlier for the same strings
(``title + " " + text`` per passage, same model), so the build measures analysis + vector
storage + HNSW and not the embedding again; the embedding rate is reported separately
(passages per CPU-second). Queries: the first 3-8 words of random passages' text, single query
at a time, one thread; p50/p99 of wall time for lexical, dense and hybrid (RRF) modes, plus
dense recall@10 of the HNSW path vs exact scoring over all vectors.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path,
                    default=REPO.parent / "shared" / "data" / "large" / "enwiki-sample-passages.jsonl.gz")
    ap.add_argument("--index", type=Path, default=Path("/tmp/heron-enwiki-vec"))
    ap.add_argument("--vectors-npy", type=Path, default=None)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--ef", type=int, default=None, help="HNSW ef_search override (default: the index's)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    from heron import Index, IndexSettings
    from heron.config import VectorSettings
    from heron.vectors import embedding
    from heron.vectors.store import content_hash

    with gzip.open(a.corpus, "rt", encoding="utf-8") as f:
        docs = [json.loads(x) for x in f]
    report: dict[str, object] = {"docs": len(docs)}
    if not (a.index / "manifest.json").is_file():
        if a.vectors_npy is not None:
            vecs = np.load(a.vectors_npy).astype(np.float32)
            emb = embedding.embedder_for(VectorSettings())
            embedding.CACHE.capacity = len(docs) + 1
            for d, v in zip(docs, vecs, strict=True):
                s = f"{d.get('title') or ''} {d['text'].strip()}".strip()
                embedding.CACHE.put(content_hash(emb.model_id, s), v)
        t0 = time.perf_counter()
        idx = Index.create(a.index, IndexSettings(vectors=VectorSettings()))
        with idx.writer() as w:
            w.add_parallel(docs, processes=a.processes, chunk_docs=len(docs) // (2 * a.processes) + 1)
            w.force_merge(1)
        report["build_s"] = round(time.perf_counter() - t0, 1)
        report["cache"] = {"hits": embedding.CACHE.hits, "misses": embedding.CACHE.misses}
        print("build", report["build_s"], "s", report.get("cache"), flush=True)
    idx = Index.open(a.index)
    s = idx.searcher()
    rng = np.random.default_rng(1)
    qs = []
    for i in rng.choice(len(docs), a.queries, replace=False):
        words = docs[int(i)]["text"].split()
        n = int(rng.integers(3, 9))
        qs.append(" ".join(w.strip('"()+-:') for w in words[:n]))
    from heron.search.hybrid import HybridParams

    hp = HybridParams(ef_search=a.ef)
    for q in qs[:20]:
        s.search(q, 10, mode="hybrid", fields=False, hybrid=hp)
    for mode in ("lexical", "dense", "hybrid"):
        lat = []
        for q in qs:
            t0 = time.perf_counter()
            s.search(q, 10, mode=mode, fields=False, hybrid=hp)
            lat.append(time.perf_counter() - t0)
        ms = np.array(lat) * 1000
        report[mode] = {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2)}
        print(mode, report[mode], flush=True)
    # dense recall@10 of the per-segment HNSW vs exact over every stored vector
    from heron.search.hybrid import dense_collect, query_vector

    (view,) = s.segments
    vr = view.reader.vectors
    assert vr is not None and vr.has_ann
    allv = vr.all()
    rec = []
    for q in qs[:200]:
        qv = query_vector(s, q)
        sc = allv @ qv
        best: dict[int, float] = {}
        for r in np.argsort(-sc)[:200]:
            d = int(vr.doc[r])
            best.setdefault(d, float(sc[r]))
        truth = sorted(best, key=lambda d: -best[d])[:10]
        got = [d for _s, _g, _si, d in dense_collect(s, qv, 10, None, a.ef)]
        rec.append(len(set(truth) & set(got)) / 10)
    report["dense_recall@10_vs_exact"] = round(float(np.mean(rec)), 4)
    print("dense recall@10 vs exact", report["dense_recall@10_vs_exact"])
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
