#!/usr/bin/env python3
"""Crash harness: real writer processes, real SIGKILLs, exact checks of every acknowledged write.

Each cycle starts a writer process on the same index. The writer streams random operations —
bulk adds, single adds, updates (re-adding an id with new content), deletes — through a live
``request``-durability writer that refreshes every 50 ms and commits every 0.2-0.5 s (so merges
run too), and after each call returns it prints an acknowledgement line. Before each call it
prints the intent, so the harness knows the (at most one) operation in flight. The harness
SIGKILLs it at a random moment, reopens the index (recovery replays the log), verifies every
file's checksum (``heron check``), and checks that:

* every acknowledged add/update is present with exactly the acknowledged content;
* every acknowledged delete is absent;
* the operation in flight is either fully applied or not at all;
* the ids matching several queries equal those of a reference index rebuilt from the acked log.

The writer runs in the killed process itself (``--writer thread``) or, as the service runs it, in
an indexer process of its own (``Index.process_writer``; ``--writer process``: the whole process
group — caller, indexer, forkserver — is SIGKILLed at once). The default alternates: cycles
1, 4, 5, 8, ... in-process, 2, 3, 6, 7, ... in an indexer process (and, independently, odd cycles
build bulks in worker processes), so every combination is killed.

Usage::

    python scripts/crash_harness.py --cycles 50            # the documented full run
    python scripts/crash_harness.py --cycles 10 --seed 7   # what CI runs (tests/durability)

Prints one line per cycle and ``acknowledged operations lost: 0 over N kill cycles`` at the
end; exits 1 on the first discrepancy (with the details).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORDS = ["heron", "egret", "stork", "ibis", "crane", "bittern", "spoonbill", "flamingo", "pelican", "cormorant", "kingfisher", "plover", "sandpiper", "curlew", "godwit", "avocet"]
QUERIES = ["heron", "egret stork", "crane", "flamingo pelican", "kingfisher", "curlew godwit avocet"]


# -- the writer process ------------------------------------------------------------------------
def text_for(doc_id: str, version: int, rng: random.Random) -> dict[str, Any]:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
    return {"id": doc_id, "title": f"{doc_id} v{version}", "text": f"{words} version{version}"}


def worker(path: str, seed: int, durability: str, placement: str = "thread") -> None:
    import heron

    rng = random.Random(seed)
    idx = heron.Index.open(path)
    if durability == "commit":  # a transaction acknowledges nothing before commit: the harness must notice
        w = idx.writer(durability="commit")
    else:
        # every other cycle: bulks of >= 20 documents are built in worker processes (the parallel
        # path the service uses), smaller ones inline; otherwise everything inline
        parallel = 20 if seed % 2 else None
        opts: dict[str, Any] = {"durability": durability, "refresh_interval_s": 0.05,
                                "commit_interval_s": rng.uniform(0.2, 0.5), "parallel_min_docs": parallel,
                                "build_workers": 2}
        w = idx.process_writer(**opts) if placement == "process" else idx.writer(**opts)
    ids = [d["id"] for d in (idx.get(f"doc{i}") for i in range(2000)) if d is not None]
    out = sys.stdout
    version = seed * 1_000_000
    next_id = rng.randint(0, 1500)

    def emit(kind: str, payload: Any) -> None:
        out.write(json.dumps({"k": kind, **payload}) + "\n")
        out.flush()

    while True:
        r = rng.random()
        version += 1
        if r < 0.25:  # bulk add of new and existing ids
            batch = []
            for _ in range(rng.randint(2, 40)):
                if ids and rng.random() < 0.3:
                    did = rng.choice(ids)
                else:
                    did = f"doc{next_id % 2000}"
                    next_id += 1
                version += 1
                batch.append(text_for(did, version, rng))
            emit("intent", {"op": "bulk", "docs": batch})
            w.add_many(batch)
            ids.extend(d["id"] for d in batch)
            emit("ack", {})
        elif r < 0.55:  # single add
            did = f"doc{next_id % 2000}"
            next_id += 1
            d = text_for(did, version, rng)
            emit("intent", {"op": "add", "docs": [d]})
            w.add(d)
            ids.append(did)
            emit("ack", {})
        elif r < 0.8 and ids:  # update
            d = text_for(rng.choice(ids), version, rng)
            emit("intent", {"op": "add", "docs": [d]})
            w.add(d)
            emit("ack", {})
        elif ids:  # delete
            did = rng.choice(ids)
            emit("intent", {"op": "delete", "id": did})
            w.delete(did)
            emit("ack", {})
        if rng.random() < 0.02 and durability != "commit":
            w.commit()  # explicit commits too (and the merges they trigger)


# -- the harness -------------------------------------------------------------------------------
class Mismatch(AssertionError):
    pass


def apply(ref: dict[str, dict[str, Any]], intent: dict[str, Any]) -> None:
    if intent["op"] == "delete":
        ref.pop(intent["id"], None)
    else:
        for d in intent["docs"]:
            ref[d["id"]] = d


def touched(intent: dict[str, Any]) -> set[str]:
    return {intent["id"]} if intent["op"] == "delete" else {d["id"] for d in intent["docs"]}


def expected_stored(d: dict[str, Any]) -> dict[str, Any]:
    return {"id": d["id"], "title": d["title"], "text": d["text"]}


def verify(path: Path, ref: dict[str, dict[str, Any]], inflight: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check the reopened index against ``ref``; returns the reference the index proved to hold."""
    import heron
    from heron.index.check import check_index

    report = check_index(path)
    if not report.ok:
        raise Mismatch(f"heron check failed after recovery: {report.problems}")
    idx = heron.Index.open(path)
    if inflight is not None:  # the op in flight is all-or-nothing: pick the version the index holds
        after = dict(ref)
        apply(after, inflight)
        ids = touched(inflight)
        got = {i: idx.get(i) for i in ids}
        if all(got[i] == (expected_stored(after[i]) if i in after else None) for i in ids):
            ref = after
        elif not all(got[i] == (expected_stored(ref[i]) if i in ref else None) for i in ids):
            raise Mismatch(f"operation in flight half applied: {inflight['op']} {sorted(ids)[:5]}: {got}")
    for doc_id, d in ref.items():
        got_doc = idx.get(doc_id)
        if got_doc != expected_stored(d):
            raise Mismatch(f"acknowledged write of {doc_id!r} lost or wrong: expected {d}, found {got_doc}")
    st = idx.stats()
    if st.doc_count != len(ref):
        raise Mismatch(f"index holds {st.doc_count} documents, the acknowledged log {len(ref)}")
    reference = heron.Index.in_memory()
    with reference.writer() as w:
        w.add_many(ref.values())
    for q in QUERIES:
        a = {h.id for h in idx.search(q, k=10_000, fields=False)}
        b = {h.id for h in reference.search(q, k=10_000, fields=False)}
        if a != b:
            raise Mismatch(f"query {q!r}: index {len(a)} hits, reference {len(b)}; differ on {sorted(a ^ b)[:10]}")
    return ref


def _reap_group(pgid: int, timeout_s: float = 10.0) -> None:
    """Wait until the killed writer's helper processes (same session) have exited; SIGKILL stragglers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def placement_of(cycle: int, writer: str) -> str:
    if writer != "alternate":
        return writer
    return "process" if cycle % 4 in (2, 3) else "thread"


def run(cycles: int, seed: int, workdir: Path | None, min_s: float, max_s: float, quiet: bool,
        durability: str = "request", writer: str = "alternate") -> int:
    import heron

    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="heron-crash-", dir=workdir))
    path = tmp / "idx"
    heron.Index.create(path)
    ref: dict[str, dict[str, Any]] = {}
    total_acked = 0
    try:
        for cycle in range(1, cycles + 1):
            acks = tmp / f"acks-{cycle}.jsonl"
            errs = tmp / f"stderr-{cycle}.txt"
            where = placement_of(cycle, writer)
            with open(acks, "wb") as out, open(errs, "wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, __file__, "--worker", str(path), "--seed", str(seed * 1000 + cycle),
                     "--durability", durability, "--writer", where],
                    stdout=out, stderr=err, start_new_session=True,
                )
                # wait until the writer is up (its first line), then kill it at a random moment
                deadline = time.monotonic() + 120
                while acks.stat().st_size == 0 and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(min_s, max_s))
                if where == "process":  # caller, indexer process and forkserver die together
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    os.kill(proc.pid, signal.SIGKILL)  # the writer; its build workers notice and exit
                proc.wait()
                _reap_group(proc.pid)
            if proc.returncode != -signal.SIGKILL:
                raise Mismatch(f"writer exited by itself ({proc.returncode}): {errs.read_text()[-2000:]}")
            lines = acks.read_bytes().splitlines(keepends=True)
            acked = 0
            inflight: dict[str, Any] | None = None
            for raw in lines:
                if not raw.endswith(b"\n"):
                    break  # a line cut by the kill: not acknowledged
                msg = json.loads(raw)
                if msg["k"] == "intent":
                    inflight = msg
                else:
                    assert inflight is not None
                    apply(ref, inflight)
                    inflight = None
                    acked += 1
            t0 = time.perf_counter()
            ref = verify(path, ref, inflight)
            total_acked += acked
            if not quiet:
                print(f"cycle {cycle:3d}: {acked:5d} acknowledged ops, {len(ref):5d} docs, "
                      f"{'parallel' if cycle % 2 else 'inline  '} bulks, writer in {where:7s} "
                      f"in flight: {inflight['op'] if inflight else '-':6s} recovered+verified in "
                      f"{time.perf_counter() - t0:.2f} s", flush=True)
        print(f"acknowledged operations lost: 0 over {cycles} kill cycles "
              f"({total_acked} acknowledged operations, {len(ref)} documents at the end)", flush=True)
        return 0
    except Mismatch as e:
        print(f"FAILED: {e}\nindex kept at {path}", flush=True)
        return 1
    finally:
        if os.environ.get("HERON_KEEP_CRASH_INDEX") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None, help="where the index lives (default: a temp dir)")
    ap.add_argument("--min-run-s", type=float, default=0.5, help="shortest run before a kill")
    ap.add_argument("--max-run-s", type=float, default=3.0, help="longest run before a kill")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--durability", default="request", choices=["request", "async", "commit"],
                    help="writer mode ('commit' acknowledges nothing durable: a self-test that must FAIL)")
    ap.add_argument("--writer", default="alternate", choices=["alternate", "thread", "process"],
                    help="where the writer runs: in the killed process, in an indexer process, or alternating")
    ap.add_argument("--worker", metavar="PATH", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.seed, a.durability, a.writer)
        return
    sys.exit(run(a.cycles, a.seed, a.workdir, a.min_run_s, a.max_run_s, a.quiet, a.durability, a.writer))


if __name__ == "__main__":
    main()
