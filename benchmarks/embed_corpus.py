"""Embed every passage of a JSONL(.gz) corpus with the default embedder and save the vectors.

    .venv/bin/python benchmarks/embed_corpus.py [--corpus ../shared/data/large/enwiki-sample-passages.jsonl.gz]
        [--out benchmarks/.work/enwiki-minilm.npy] [--threads 1] [--runtime onnxruntime|openvino|auto]

The string embedded per passage is ``title + " " + text`` (what ``benchmarks/hybrid_latency.py
--vectors-npy`` seeds the embedding cache with, so its build measures analysis + vector storage +
HNSW on real vectors). Work is checkpointed every 2,048 passages (``OUT.partial.npy``), so an
interrupted run resumes where it stopped. Prints passages per CPU-second at the end.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from heron.embed.onnx import RUNTIMES

REPO = Path(__file__).resolve().parents[1]
STEP = 2048


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path,
                    default=REPO.parent / "shared" / "data" / "large" / "enwiki-sample-passages.jsonl.gz")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".work" / "enwiki-minilm.npy")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runtime", default=None, choices=RUNTIMES,
                    help="embedding runtime (default: HERON_EMBED_RUNTIME, else onnxruntime)")
    a = ap.parse_args(argv)
    from heron.config import VectorSettings
    from heron.vectors.embedding import embedder_for

    with gzip.open(a.corpus, "rt", encoding="utf-8") as f:
        texts = [f"{d.get('title') or ''} {d['text'].strip()}".strip() for d in map(json.loads, f)]
    emb = embedder_for(VectorSettings(), threads=a.threads, runtime=a.runtime)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    partial = a.out.with_suffix(".partial.npy")
    done = np.load(partial) if partial.is_file() else np.zeros((0, emb.dim), dtype=np.float16)
    parts = [done]
    n = len(done)
    cpu0, wall0, start = time.process_time(), time.perf_counter(), n
    while n < len(texts):
        v = emb.embed_passages(texts[n : n + STEP]).astype(np.float16)
        parts.append(v)
        n += len(v)
        np.save(partial, np.concatenate(parts))
        parts = [np.load(partial)]
        cpu = time.process_time() - cpu0
        print(f"{n:,}/{len(texts):,} passages, {(n - start) / max(cpu, 1e-9):.1f} per CPU-second, "
              f"{(n - start) / (time.perf_counter() - wall0):.1f}/s wall", flush=True)
    out = np.concatenate(parts)
    np.save(a.out, out)
    partial.unlink(missing_ok=True)
    print(f"saved {out.shape} to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
