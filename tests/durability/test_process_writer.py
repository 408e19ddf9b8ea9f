"""The indexer-process writer (``Index.process_writer``): same results and promises as an
in-process live writer, typed errors across the process boundary, and a killed indexer loses no
acknowledged write."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

import heron
from heron.errors import ConfigError, DocumentError, LockError, StorageError, WriteRejectedError
from heron.index.process_writer import ProcessWriter

WORDS = ["heron", "egret", "ibis", "stork", "crane", "bittern", "spoonbill", "pelican", "cormorant", "gannet"]


def _ops(seed: int, n: int) -> list[tuple[str, object]]:
    rng = random.Random(seed)
    ops: list[tuple[str, object]] = []
    for i in range(n):
        r = rng.random()
        doc_id = f"d{rng.randrange(60)}"
        if r < 0.06:
            ops.append(("delete", doc_id))
        elif r < 0.08:
            ops.append(("delete_many", [doc_id, f"d{rng.randrange(60)}", "never-added"]))
        elif r < 0.12:
            ops.append(("commit", None))
        elif r < 0.15:
            ops.append(("bulk", [{"id": f"b{i}-{j}", "text": " ".join(rng.choices(WORDS, k=6))} for j in range(20)]))
        else:
            ops.append(("add", {"id": doc_id, "title": rng.choice(WORDS),
                                "text": " ".join(rng.choices(WORDS, k=rng.randrange(1, 12)))}))
    return ops


def _apply(w: heron.IndexWriter | ProcessWriter, ops: list[tuple[str, object]]) -> None:
    for kind, arg in ops:
        if kind == "delete":
            w.delete(str(arg))
        elif kind == "delete_many":
            assert isinstance(arg, list)
            w.delete_many(arg)
        elif kind == "commit":
            w.commit()
        elif kind == "bulk":
            assert isinstance(arg, list)
            w.add_many(arg)
        else:
            assert isinstance(arg, dict)
            w.add(arg)


QUERIES = [*WORDS, "heron egret", "ibis stork"]


def _matches(idx: heron.Index) -> list[set[str]]:
    """Every document each query matches (scores depend on when merges dropped deleted docs)."""
    return [{h.id for h in idx.search(q, k=1000)} for q in QUERIES]


def _results(idx: heron.Index) -> list[list[tuple[float, str]]]:
    """Every match with its score; equal scores in id order (ties are broken by document order,
    which depends on when merges ran)."""
    return [sorted((-round(h.score, 5), h.id) for h in idx.search(q, k=1000)) for q in QUERIES]


def test_same_results_as_an_in_process_writer(tmp_path: Path) -> None:
    ops = _ops(7, 400)
    a, b = heron.Index.create(tmp_path / "thread"), heron.Index.create(tmp_path / "process")
    wa = a.writer(durability="request", refresh_interval_s=None)
    wb = b.process_writer(refresh_interval_s=None)
    try:
        _apply(wa, ops)
        _apply(wb, ops)
        a.refresh()
        b.refresh()  # near-real-time, uncommitted: the state the child published
        assert b.searcher().doc_count() == a.searcher().doc_count() > 0
        assert _matches(b) == _matches(a)
        assert wb.pending_docs == wa.pending_docs
        wa.force_merge(1)  # no deleted documents left in the statistics: scores must agree exactly
        wb.force_merge(1)
        assert wb.committed
        a.refresh()
        b.refresh()
        assert _results(b) == _results(a)
    finally:
        wa.close()
        wb.close()
    a.refresh()
    b.refresh()  # the writer is gone: the last commit, read from disk
    assert _results(b) == _results(a) and len(b.searcher().segments) == 1


def test_writes_become_visible_without_refresh_calls(tmp_path: Path) -> None:
    idx = heron.Index.create(tmp_path / "i")
    with idx.process_writer(refresh_interval_s=0.1) as w:
        t0 = time.monotonic()
        w.add({"id": "k", "text": "kingfisher"})
        while not idx.search("kingfisher") and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        assert [h.id for h in idx.search("kingfisher")] == ["k"]
        assert time.monotonic() - t0 < 1.0
    assert heron.Index.open(tmp_path / "i").searcher().doc_count() == 1  # committed on a clean exit


def test_errors_cross_the_process_boundary_typed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="on-disk"):
        heron.Index.in_memory().process_writer()
    idx = heron.Index.create(tmp_path / "i")
    with pytest.raises(ConfigError, match="live writer"):
        idx.process_writer(durability="commit")
    w = idx.process_writer(max_pending_docs=3, refresh_interval_s=None)
    try:
        with pytest.raises(DocumentError):
            w.add({"text": "no id"})
        with pytest.raises(LockError):
            idx.process_writer()
        w.add_many([{"id": str(i), "text": "x"} for i in range(3)])
        with pytest.raises(WriteRejectedError) as e:
            w.add({"id": "4", "text": "over budget"})
        assert e.value.retry_after_s > 0 and e.value.overloaded is False
        assert not w.closed  # a refused write leaves the writer usable
        w.commit()
        w.add({"id": "4", "text": "fits after the commit"})
    finally:
        w.close()
    assert w.closed


def test_a_killed_indexer_loses_no_acknowledged_write(tmp_path: Path) -> None:
    idx = heron.Index.create(tmp_path / "i")
    w = idx.process_writer(refresh_interval_s=None)
    acked = []
    for i in range(50):
        w.add({"id": f"a{i}", "text": f"acknowledged write {i}"})
        acked.append(f"a{i}")
    w.delete("a7")
    acked.remove("a7")
    os.kill(w._proc.pid, signal.SIGKILL)
    w._proc.join(10)
    with pytest.raises(StorageError, match="indexer process"):
        for _ in range(100):  # the pipe may take a moment to report the death
            w.add({"id": "late", "text": "after the kill"})
            time.sleep(0.01)
    assert w.closed, "a writer whose indexer died must report closed"
    w.close()
    with idx.process_writer(refresh_interval_s=None) as w2:  # replays the log
        idx.refresh()
        ids = {h.id for h in idx.search("acknowledged write", k=100)}
        w2.add({"id": "after", "text": "a new writer works"})
    assert ids == set(acked), f"lost: {sorted(set(acked) - ids)}, unexpected: {sorted(ids - set(acked))}"
    count = heron.Index.open(tmp_path / "i").searcher().doc_count()
    assert count == len(acked) + 1, f"{count} documents after reopening, expected {len(acked) + 1}"


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="CPU affinity needs Linux and at least 2 CPUs")
def test_the_indexer_leaves_the_first_cpu_to_searches(tmp_path: Path) -> None:
    cpus = os.sched_getaffinity(0)
    idx = heron.Index.create(tmp_path / "i")
    with idx.process_writer(refresh_interval_s=None) as w:
        assert os.sched_getaffinity(w._proc.pid) == cpus - {min(cpus)}
        assert os.getpriority(os.PRIO_PROCESS, w._proc.pid) > os.getpriority(os.PRIO_PROCESS, 0)
    with idx.process_writer(refresh_interval_s=None, reserve_search_cpu=False) as w:
        assert os.sched_getaffinity(w._proc.pid) == cpus


def _ids(idx: heron.Index) -> set[str]:
    return {h.id for h in idx.search("heron", k=1000, fields=False)}


def _two_opens(tmp_path: Path, **options: object) -> tuple[Path, bytes, heron.Index, heron.Index,
                                                            ProcessWriter, ProcessWriter]:
    """A new index opened twice (as by two workers) and a process writer from each with one key:
    the first starts the indexer, the second attaches to it."""
    path = tmp_path / "i"
    heron.Index.create(path).close()
    key = os.urandom(32)
    a, b = heron.Index.open(path), heron.Index.open(path)
    return path, key, a, b, a.process_writer(share_key=key, **options), b.process_writer(share_key=key, **options)


def _wait_closed(*writers: ProcessWriter) -> None:
    deadline = time.monotonic() + 10
    while not all(w.closed for w in writers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(w.closed for w in writers)


def test_processes_with_one_key_share_one_indexer(tmp_path: Path) -> None:
    """Two opens of an index with the same ``share_key`` (as two server workers do): the first
    starts the indexer, the second attaches to it instead of failing on the write lock; writes
    from either are acknowledged, every published state reaches both, a detach leaves the owner
    writing, and a wrong key is refused like any other process holding the lock."""
    path, _key, a, b, wa, wb = _two_opens(tmp_path, refresh_interval_s=0.05)
    try:
        assert not wa.attached and wb.attached
        assert wa.others_attached == 1
        for i in range(20):
            (wa if i % 2 else wb).add({"id": f"d{i}", "text": f"heron {i}"})
        wb.refresh()  # through the shared indexer: both processes' searchers get the state
        want = {f"d{i}" for i in range(20)}
        assert _ids(b) == want
        deadline = time.monotonic() + 10
        while _ids(a) != want and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _ids(a) == want
        with pytest.raises(LockError, match="another process"):
            heron.Index.open(path).process_writer(share_key=os.urandom(32))
        with pytest.raises(LockError):  # no key: the lock, as ever
            heron.Index.open(path).process_writer()
        wb.commit()  # global: commits the owner's indexer
        wb.close()  # detaches; the indexer stays for its owner
        assert wa.others_attached == 0 and not wa.closed
        wa.add({"id": "after", "text": "heron after the detach"})
        wa.refresh()
        assert "after" in _ids(a)
    finally:
        wb.close()
        wa.close()
        a.close()
        b.close()
    with heron.Index.open(path) as idx:  # every acknowledged write is in the index
        assert _ids(idx) == {f"d{i}" for i in range(20)} | {"after"}


def test_an_attached_writer_fails_cleanly_when_the_owner_closes(tmp_path: Path) -> None:
    """The owner closing its indexer under an attached process: the attached writer reports
    ``closed`` and a write raises ``StorageError`` saying to retry; a new open becomes the
    owner."""
    path, key, a, b, wa, wb = _two_opens(tmp_path)
    try:
        wb.add({"id": "x", "text": "heron"})
        wa.close()
        _wait_closed(wb)
        with pytest.raises(StorageError, match="retry"):
            wb.add({"id": "y", "text": "heron"})
        w2 = b.process_writer(share_key=key)  # nobody owns it now: this one starts the indexer
        try:
            assert not w2.attached
            w2.add({"id": "y", "text": "heron"})
            w2.commit()
        finally:
            w2.close()
    finally:
        wb.close()
        a.close()
        b.close()
    with heron.Index.open(path) as idx:
        assert _ids(idx) == {"x", "y"}


def test_a_killed_shared_indexer_is_replaced_and_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """SIGKILL the indexer two processes share: both writers report closed, the next opens
    elect a new owner (one starts the indexer, the other attaches), it replays the log, and
    every write acknowledged before and after the kill is in the index."""
    path, key, a, b, wa, wb = _two_opens(tmp_path)
    acked: set[str] = set()
    try:
        for i in range(10):
            w = wa if i % 2 else wb
            w.add({"id": f"before-{i}", "text": "heron"})
            acked.add(f"before-{i}")
        os.kill(wa._proc.pid, signal.SIGKILL)
        _wait_closed(wa, wb)
        with pytest.raises(StorageError, match="retry"):
            wb.add({"id": "lost", "text": "never acknowledged"})
        wb2 = b.process_writer(share_key=key)
        wa2 = a.process_writer(share_key=key)
        try:
            assert not wb2.attached and wa2.attached
            for i in range(10):
                (wa2 if i % 2 else wb2).add({"id": f"after-{i}", "text": "heron"})
                acked.add(f"after-{i}")
            wa2.commit()
        finally:
            wa2.close()
            wb2.close()
    finally:
        wa.close()
        wb.close()
        a.close()
        b.close()
    with heron.Index.open(path) as idx:
        assert _ids(idx) == acked


def test_answers_waiting_together_reach_the_event_loop_in_one_callback(tmp_path: Path) -> None:
    """The reply thread hands the answers already waiting to each event loop in one callback (a
    group commit answers its writes at once: one wake-up of the loop, not one per write), an
    error answer stays an error, and a state is installed only after the answers sent before
    it were handed over."""
    from heron.index import process_writer as pw

    events: list[object] = []

    class FakeLoop:
        def call_soon_threadsafe(self, fn: object, items: list[tuple[object, object, bool]]) -> None:
            events.append(("callback", [(value, ok) for _, value, ok in items]))

    class FakeConn:
        def __init__(self, msgs: list[tuple[object, ...]], together: int) -> None:
            self.msgs, self.together = msgs, together  # the first `together` arrive at once

        def recv(self) -> tuple[object, ...]:
            if not self.msgs:
                raise EOFError
            self.together -= 1
            return self.msgs.pop(0)

        def poll(self, timeout: float) -> bool:
            return bool(self.msgs) and self.together > 0

    loop = FakeLoop()
    w = ProcessWriter.__new__(ProcessWriter)
    w._setup(tmp_path, lambda m, lives: events.append(("state", m)), "request", None)
    w._proc = None
    w._closing = True  # the fake connection's end is expected: no error log
    replies = {}
    for rid in (1, 2, 3, 4):
        r = pw._AsyncReply.__new__(pw._AsyncReply)
        r._loop = loop  # type: ignore[assignment]
        replies[rid] = w._pending[rid] = r
    err = pw._pack_error(StorageError("disk full"))
    w._conn = FakeConn([("r", 1, True, None), ("r", 2, False, err), ("state", "m1", []),
                        ("r", 3, True, 7), ("r", 4, True, None)], together=5)
    w._install = lambda manifest, packed: events.append(("state", manifest))  # type: ignore[method-assign]
    w._read_loop()
    assert [e[0] for e in events] == ["callback", "state", "callback"]
    first = events[0][1]
    assert first[0] == (None, True) and isinstance(first[1][0], StorageError) and first[1][1] is False
    assert events[2][1] == [(7, True), (None, True)]
    assert not w._pending
