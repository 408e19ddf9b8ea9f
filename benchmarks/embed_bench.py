"""Embedding throughput of heron's default embedder (per core = passages per process CPU-second).

    .venv/bin/python benchmarks/embed_bench.py [--passages 512] [--threads 1]

Passages: the first N enwiki-107k passages (~100 words, ~110 word pieces), batch 32, as at
indexing time; query latency: 100 short queries, batch 1.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
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
    ap.add_argument("--passages", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    from heron.embed.onnx import OnnxEmbedder, resolve_model

    with gzip.open(a.corpus, "rt", encoding="utf-8") as f:
        texts = [f"{d.get('title') or ''} {d['text']}".strip() for d in map(json.loads, itertools.islice(f, a.passages))]
    e = OnnxEmbedder(resolve_model(), threads=a.threads)
    e.embed_passages(texts[:32])
    c0, w0 = time.process_time(), time.perf_counter()
    e.embed_passages(texts)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    lat = []
    for t in texts[:100]:
        q = " ".join(t.split()[:8])
        t0 = time.perf_counter()
        e.embed_query(q)
        lat.append(time.perf_counter() - t0)
    print(json.dumps({"passages": len(texts), "threads": a.threads, "per_core": round(len(texts) / cpu, 1),
                      "wall_per_s": round(len(texts) / wall, 1),
                      "query_p50_ms": round(1000 * float(np.median(lat)), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
