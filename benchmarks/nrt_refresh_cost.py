#!/usr/bin/env python3
"""What a near-real-time refresh costs the searching process on a large index.

A live writer in its own process (the service's setup, ``Index.process_writer``) takes a few
documents at a time; after each batch ``index.refresh()`` publishes the new state and this
process installs it: opens the new segment and warms the snapshot (each segment's per-posting
BM25 saturation table for the snapshot's average length). Reported: wall time and this
process's CPU time per refresh (the indexer process's own work is not counted), median and p90,
and how many refreshes had to recompute the saturation table of the big committed segment.

``--exact-avgdl`` scores with the exact average length instead of BM25's grid value
(``heron.search.similarity.scoring_avgdl``): the behaviour before the grid, for an A/B in one
run. The index is copied first (the writer adds documents to the copy).

Usage::

    python benchmarks/nrt_refresh_cost.py --index PATH --docs corpus.jsonl.gz [--refreshes 40] [--batch 250]
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness


def load_docs(path: Path, n: int, skip: int) -> list[dict[str, Any]]:
    rows = itertools.islice(enumerate(harness.iter_jsonl_gz(str(path))), skip, skip + n)
    return [{"id": f"nrt-{i}", "title": o.get("title", ""), "text": o.get("text", "")} for i, o in rows]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="an existing index (copied, not modified)")
    ap.add_argument("--docs", type=Path, required=True, help="JSONL(.gz) documents to add ({title, text} a line)")
    ap.add_argument("--skip", type=int, default=0, help="documents of --docs to skip first")
    ap.add_argument("--refreshes", type=int, default=40)
    ap.add_argument("--batch", type=int, default=250, help="documents added before each refresh")
    ap.add_argument("--exact-avgdl", action="store_true", help="score with the exact average length (A/B)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()

    import heron
    from heron.search import weight

    if a.exact_avgdl:
        weight.scoring_avgdl = lambda total, n: total / n if n else 1.0  # type: ignore[assignment]
    docs = load_docs(a.docs, a.refreshes * a.batch, a.skip)
    with tempfile.TemporaryDirectory(prefix="heron-nrt-") as tmp:
        path = Path(tmp) / "idx"
        shutil.copytree(a.index, path)
        idx = heron.Index.open(path)
        big = idx.searcher().warm()
        big_reader = max(big.segments, key=lambda v: v.meta.doc_count).reader
        postings = sum(len(v.reader.docs) for v in big.segments)
        w = idx.process_writer(refresh_interval_s=None, commit_interval_s=3600)
        wall: list[float] = []
        cpu: list[float] = []
        recomputed = 0
        try:
            for r in range(a.refreshes):
                w.add_many(docs[r * a.batch:(r + 1) * a.batch])
                table = big_reader._sat_cache
                t0, c0 = time.perf_counter(), time.process_time()
                idx.refresh()
                s = idx.searcher()  # installed and warmed by refresh()
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                recomputed += big_reader._sat_cache is not table
                assert s.doc_count() == big.doc_count() + (r + 1) * a.batch
        finally:
            w.close()
    ms = sorted(x * 1000 for x in cpu)
    out = {
        "index_docs": big.doc_count(), "postings": postings, "refreshes": a.refreshes, "batch": a.batch,
        "avgdl": "exact" if a.exact_avgdl else "grid",
        "wall_ms_p50": statistics.median(x * 1000 for x in wall),
        "cpu_ms_p50": statistics.median(ms), "cpu_ms_p90": ms[int(0.9 * (len(ms) - 1))],
        "cpu_ms_total": sum(ms), "big_segment_tables_recomputed": recomputed,
    }
    print(json.dumps(out))
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
