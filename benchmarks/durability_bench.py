#!/usr/bin/env python3
"""Write-path bars of issue 5, measured on SciFact-sized documents.

1. bulk: ``add_many`` batches of 1,000 documents through a live ``request``-durability writer
   (each batch one fsync'ed log record; refresh/commit threads running) → docs/s, in steady
   state (an untimed first batch starts the segment-building worker processes);
2. single-document writes from 8 concurrent client threads (group commit) → ops/s;
3. refresh-to-visible latency under that load: a probe writes a document with a unique word
   every 100 ms and polls search until it is found → p50/p99;
4. query latency (SciFact test queries, top-10) idle vs under the single-document load → p99
   ratio, twice: closed loop (one thread searching back to back while the 8 clients write as
   fast as the writer takes them), and a service's load (``--query-rate`` queries/s and
   ``--paced-rate`` writes/s offered on a schedule, default 500 and 500 — the bar's write
   rate; latency counted from each query's scheduled start), against idle at the same query
   rate.

Searches and the client threads run in this process. The writer runs either in its own process
(``--writer process``, the service's default: ``Index.process_writer``) or in this one
(``--writer thread``: ``Index.writer``, so analysis competes with searches for the GIL).
Usage: ``python benchmarks/durability_bench.py [--writer process|thread|both] [--data ...] [--json out]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "beir" / "scifact"


def load(data: Path) -> tuple[list[dict[str, Any]], list[str]]:
    with gzip.open(data / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    with gzip.open(data / "queries.jsonl.gz", "rt", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f]
    return [{"id": d["_id"], "title": d.get("title", ""), "text": d.get("text", "")} for d in docs], queries


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))] if xs else float("nan")


def open_writer(idx: Any, mode: str, **options: Any) -> Any:
    if mode == "process":
        return idx.process_writer(durability="request", **options)
    return idx.writer(durability="request", **options)


def bulk(root: Path, docs: list[dict[str, Any]], copies: int, mode: str) -> dict[str, Any]:
    import heron

    idx = heron.Index.create(root / f"bulk-{mode}")
    w = open_writer(idx, mode, parallel_min_docs=256)  # as the service runs it
    # steady state: one untimed batch first, so that the segment-building worker processes
    # (spawned on first use: ~1 s of interpreter and kernel start-up) are running
    w.add_many([{**d, "id": f"{d['id']}-warm"} for d in docs[:1000]])
    w.wait_for_builds()
    n = 0
    t0 = time.perf_counter()
    for c in range(copies):
        for i in range(0, len(docs), 1000):
            batch = [{**d, "id": f"{d['id']}-{c}"} for d in docs[i:i + 1000]]
            n += w.add_many(batch)
    acked = time.perf_counter() - t0
    w.commit()
    total = time.perf_counter() - t0
    w.close()
    return {"docs": n, "acked_s": acked, "docs_per_s": n / acked, "with_final_commit_docs_per_s": n / total}


def concurrent(root: Path, docs: list[dict[str, Any]], queries: list[str], seconds: float,
               refresh_s: float, mode: str, paced_rate: float, query_rate: float) -> dict[str, Any]:
    import heron

    idx = heron.Index.create(root / f"live-{mode}")
    with idx.writer() as w0:  # a serving index to query: the SciFact corpus
        w0.add_many(docs)
    w = open_writer(idx, mode, refresh_interval_s=refresh_s)
    idx.refresh()
    qs = queries[:300]

    segs: list[int] = []

    def query_latencies(duration: float, rate: float | None = None) -> list[float]:
        """Back to back (``rate`` None), or ``rate`` queries/s on a schedule, each latency
        counted from its scheduled start (a stalled query delays the next ones' too)."""
        out = []
        start = time.perf_counter()
        end = start + duration
        i = 0
        while time.perf_counter() < end:
            t = time.perf_counter()
            if rate is not None:
                t_sched = start + i / rate
                if t_sched > t:
                    time.sleep(t_sched - t)
                t = t_sched
            idx.search(qs[i % len(qs)], k=10)
            out.append(time.perf_counter() - t)
            if i % 50 == 0:
                segs.append(len(idx.searcher().segments))
            i += 1
        return out

    for q in qs:  # warm (kernels, caches)
        idx.search(q, k=10)
    idle = query_latencies(seconds / 2)
    idle_paced = query_latencies(seconds / 2, query_rate)
    segs.clear()
    stop = threading.Event()
    ops = [0] * 8
    #: None: each client writes back to back (closed loop); else seconds between one client's
    #: writes (the 8 clients together offer 8 / pace writes per second, on schedule)
    pace: list[float | None] = [None]

    def client(c: int) -> None:
        i = 0
        due = time.perf_counter()
        while not stop.is_set():
            p = pace[0]
            if p is not None:
                due = max(due + p, time.perf_counter() - 1.0)  # on schedule; a stall is not made up beyond 1 s
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            d = docs[(c * 7919 + i) % len(docs)]
            w.add({**d, "id": f"c{c}-{i}"})
            ops[c] += 1
            i += 1

    visible: list[float] = []

    def probe() -> None:
        j = 0
        while not stop.is_set():
            word = f"probeword{j}x"
            w.add({"id": f"probe{j}", "text": f"{word} visibility probe"})
            t = time.perf_counter()
            while not stop.is_set():
                if idx.search(word, k=1, fields=False):
                    visible.append(time.perf_counter() - t)
                    break
                time.sleep(0.005)
            j += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(8)] + [threading.Thread(target=probe)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(1.0)  # reach steady state
    # writes alone (the probe aside), then writes while this thread searches back to back: both
    # share one process and its GIL, so a closed-loop query load takes CPU time from the writers
    base_ops, t1 = sum(ops), time.perf_counter()
    time.sleep(seconds / 2)
    alone_ops_s = (sum(ops) - base_ops) / (time.perf_counter() - t1)
    base_ops = sum(ops)
    t1 = time.perf_counter()
    loaded = query_latencies(seconds)
    single_ops_s = (sum(ops) - base_ops) / (time.perf_counter() - t1)
    loaded_segs, segs[:] = list(segs), []
    # a service's load: writes offered at a fixed rate, queries arriving at a fixed rate
    pace[0] = 8 / paced_rate
    time.sleep(1.0)
    base_ops, t1 = sum(ops), time.perf_counter()
    paced = query_latencies(seconds, query_rate)
    paced_ops_s = (sum(ops) - base_ops) / (time.perf_counter() - t1)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    w.close()
    return {
        "single_doc_ops_per_s": single_ops_s, "single_doc_ops_per_s_no_queries": alone_ops_s, "single_doc_ops_total": sum(ops), "load_s": elapsed,
        "refresh_interval_s": refresh_s,
        "visible_p50_s": pct(visible, 50), "visible_p99_s": pct(visible, 99), "visible_max_s": max(visible),
        "visible_samples": len(visible),
        "query_idle_p50_ms": 1000 * pct(idle, 50), "query_idle_p99_ms": 1000 * pct(idle, 99),
        "query_loaded_p50_ms": 1000 * pct(loaded, 50), "query_loaded_p99_ms": 1000 * pct(loaded, 99),
        "query_p99_ratio": pct(loaded, 99) / pct(idle, 99), "queries_idle": len(idle), "queries_loaded": len(loaded),
        "segments_under_ingest_mean": sum(loaded_segs) / max(1, len(loaded_segs)),
        "segments_under_ingest_max": max(loaded_segs, default=0),
        "paced_offered_ops_per_s": paced_rate, "paced_ops_per_s": paced_ops_s,
        "query_rate": query_rate,
        "query_idle_paced_p50_ms": 1000 * pct(idle_paced, 50), "query_idle_paced_p99_ms": 1000 * pct(idle_paced, 99),
        "query_paced_p50_ms": 1000 * pct(paced, 50), "query_paced_p99_ms": 1000 * pct(paced, 99),
        "query_paced_p99_ratio": pct(paced, 99) / pct(idle_paced, 99), "queries_paced": len(paced),
        "segments_paced_mean": sum(segs) / max(1, len(segs)), "segments_paced_max": max(segs, default=0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--copies", type=int, default=4, help="bulk: SciFact corpus copies to ingest")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the concurrent phase")
    ap.add_argument("--refresh-s", type=float, default=None, help="refresh interval (default: the writer's)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--writer", choices=("process", "thread", "both"), default="both",
                    help="where the writer runs (default: both, one after the other)")
    ap.add_argument("--paced-rate", type=float, default=500.0,
                    help="writes/s the 8 clients offer together in the paced phase (default: the bar's 500)")
    ap.add_argument("--query-rate", type=float, default=500.0,
                    help="queries/s offered in the paced phase and its idle reference (default 500)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    import heron
    from heron import kernels
    from heron.index.writer import DEFAULT_REFRESH_INTERVAL_S

    kernels.warmup()
    docs, queries = load(a.data)
    refresh = a.refresh_s or DEFAULT_REFRESH_INTERVAL_S
    modes = ("process", "thread") if a.writer == "both" else (a.writer,)
    out: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "heron": heron.__version__}
    with tempfile.TemporaryDirectory(dir=a.workdir) as tmp:
        for mode in modes:
            print(f"== writer in {'its own process' if mode == 'process' else 'this process (a thread)'}",
                  flush=True)
            b = bulk(Path(tmp), docs, a.copies, mode)
            print(f"bulk (request durability, 1,000-doc batches): {b['docs']:,} docs, {b['docs_per_s']:,.0f} docs/s "
                  f"acknowledged ({b['with_final_commit_docs_per_s']:,.0f} docs/s including the final commit)",
                  flush=True)
            c = concurrent(Path(tmp), docs, queries, a.seconds, refresh, mode, a.paced_rate, a.query_rate)
            print(f"single-doc writes, 8 clients (group commit): {c['single_doc_ops_per_s_no_queries']:,.0f} ops/s "
                  f"alone, {c['single_doc_ops_per_s']:,.0f} ops/s while one thread searches back to back")
            print(f"refresh-to-visible under that load (refresh every {refresh:g} s): p50 {c['visible_p50_s']:.3f} s,"
                  f" p99 {c['visible_p99_s']:.3f} s (n={c['visible_samples']})")
            print(f"query p99 idle {c['query_idle_p99_ms']:.2f} ms, under ingest {c['query_loaded_p99_ms']:.2f} ms "
                  f"(ratio {c['query_p99_ratio']:.2f}); p50 {c['query_idle_p50_ms']:.2f} / "
                  f"{c['query_loaded_p50_ms']:.2f} ms; segments searched under ingest: mean "
                  f"{c['segments_under_ingest_mean']:.1f}, max {c['segments_under_ingest_max']}", flush=True)
            print(f"queries at {c['query_rate']:,.0f}/s, writes at {c['paced_offered_ops_per_s']:,.0f} ops/s offered "
                  f"({c['paced_ops_per_s']:,.0f} done): query p99 idle {c['query_idle_paced_p99_ms']:.2f} ms, under "
                  f"ingest {c['query_paced_p99_ms']:.2f} ms (ratio {c['query_paced_p99_ratio']:.2f}); p50 "
                  f"{c['query_idle_paced_p50_ms']:.2f} / {c['query_paced_p50_ms']:.2f} ms; segments mean "
                  f"{c['segments_paced_mean']:.1f}, max {c['segments_paced_max']}", flush=True)
            out[mode] = {"bulk": b, "concurrent": c}
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
