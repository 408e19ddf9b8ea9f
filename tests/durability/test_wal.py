"""Write-ahead log: acknowledged writes survive without a commit, torn tails vs corruption,
group commit, async mode, rollback, near-real-time refresh, threshold commits, back-pressure."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import heron
from heron.errors import CorruptIndexError, WriteRejectedError
from heron.index import wal as wal_mod
from heron.index.manifest import Manifest
from heron.storage.fs import FsDirectory


def doc(i: int, word: str = "heron") -> dict[str, Any]:
    return {"id": f"d{i}", "title": f"doc {i}", "text": f"{word} number {i} wades in the reef"}


def ids(idx: heron.Index, q: str, k: int = 100) -> set[str]:
    return {h.id for h in idx.search(q, k=k)}


def wal_names(p: Path) -> list[str]:
    return sorted(n for n in os.listdir(p) if wal_mod.is_wal_file(n))


def test_acknowledged_writes_survive_without_commit(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add_many([doc(i) for i in range(10)])
    w.add(doc(10, "egret"))
    assert w.delete("d3")
    w.add({"id": "d4", "text": "replaced content about storks"})
    w.close()  # no commit: the writes live only in the log
    assert Manifest.read(FsDirectory(p)).doc_count == 0
    again = heron.Index.open(p)  # recovery replays the log tail and commits it
    assert again.stats().doc_count == 10
    assert ids(again, "heron") == {f"d{i}" for i in range(10)} - {"d3", "d4"}
    assert ids(again, "storks") == {"d4"} and ids(again, "egret") == {"d10"}
    assert again.get("d4") == {"id": "d4", "title": "", "text": "replaced content about storks"}
    # replay is idempotent: opening again changes nothing
    assert heron.Index.open(p).stats().doc_count == 10
    assert len(wal_names(p)) == 1


def test_commit_trims_the_log_and_rollback_voids_it(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer(durability="request", refresh_interval_s=None) as w:
        w.add_many([doc(i) for i in range(5)])
        w.commit()
        (name,) = wal_names(p)
        assert os.path.getsize(p / name) == wal_mod._FILE_HEADER_SIZE  # only the header is left
        w.add(doc(99, "bittern"))
        w.rollback()  # explicit rollback discards even acknowledged writes
    assert ids(heron.Index.open(p), "bittern") == set()
    assert heron.Index.open(p).stats().doc_count == 5


def test_torn_tail_is_dropped_but_damage_inside_the_log_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    for i in range(3):
        w.add(doc(i))
    w.close()
    (name,) = wal_names(p)
    data = (p / name).read_bytes()
    # a half-written last record (the process died inside write()): dropped
    (p / name).write_bytes(data + wal_mod.encode_record(4, [{"op": "add", "doc": doc(4)}])[:30])
    assert heron.Index.open(p).stats().doc_count == 3

    q = tmp_path / "idx2"
    idx2 = heron.Index.create(q)
    w = idx2.writer(durability="request", refresh_interval_s=None)
    for i in range(3):
        w.add(doc(i))
    w.close()
    (name,) = wal_names(q)
    data = bytearray((q / name).read_bytes())
    data[wal_mod._FILE_HEADER_SIZE + 25] ^= 0x41  # inside the first record's payload
    (q / name).write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError) as e:
        heron.Index.open(q)
    assert name in str(e.value) and "checksum" in str(e.value)


def test_group_commit_shares_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    calls = 0
    real = os.fsync

    def slow_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        time.sleep(0.005)  # a disk that takes 5 ms per flush
        real(fd)

    monkeypatch.setattr(wal_mod.os, "fsync", slow_fsync)

    def client(c: int) -> None:
        for i in range(25):
            w.add(doc(c * 1000 + i))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.setattr(wal_mod.os, "fsync", real)
    assert calls < 200 * 0.75, calls  # 200 acknowledged writes, far fewer fsyncs
    w.close()
    assert heron.Index.open(p).stats().doc_count == 200


def test_async_durability_syncs_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    synced = threading.Event()
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.set()
        real(fd)

    w = idx.writer(durability="async", sync_interval_ms=20, refresh_interval_s=None)
    monkeypatch.setattr(wal_mod.os, "fsync", fsync)
    w.add(doc(1))  # returns without waiting for the disk
    assert synced.wait(2.0)
    w.close()
    assert heron.Index.open(p).stats().doc_count == 1


def test_near_real_time_visibility_without_commit(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer(durability="request", refresh_interval_s=0.1, commit_interval_s=3600) as w:
        gen = idx.stats().generation
        t0 = time.monotonic()
        w.add(doc(1, "spoonbill"))
        while not ids(idx, "spoonbill") and time.monotonic() - t0 < 5:
            time.sleep(0.02)
        assert ids(idx, "spoonbill") == {"d1"}
        assert time.monotonic() - t0 < 1.0
        assert Manifest.read(FsDirectory(p)).generation == gen  # visible, not committed
        w.delete("d1")
        idx.refresh()  # an explicit refresh is immediate
        assert ids(idx, "spoonbill") == set()
        assert idx.get("d1") is None


def test_commit_on_time_threshold(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=0.05, commit_interval_s=0.2)
    w.add(doc(1))
    t0 = time.monotonic()
    while Manifest.read(FsDirectory(p)).doc_count == 0 and time.monotonic() - t0 < 5:
        time.sleep(0.05)
    assert Manifest.read(FsDirectory(p)).doc_count == 1
    w.close()


def test_back_pressure_rejects_writes_over_budget(tmp_path: Path) -> None:
    idx = heron.Index.create(tmp_path / "idx")
    w = idx.writer(durability="request", refresh_interval_s=None, max_pending_docs=5)
    w.add_many([doc(i) for i in range(5)])
    with pytest.raises(WriteRejectedError) as e:
        w.add(doc(6))
    assert e.value.retry_after_s > 0 and "budget" in str(e.value)
    w.commit()
    w.add(doc(6))  # accepted again once committed
    w.close()


def test_bulk_is_all_or_nothing(tmp_path: Path) -> None:
    idx = heron.Index.create(tmp_path / "idx")
    with idx.writer(durability="request", refresh_interval_s=None) as w:
        with pytest.raises(heron.DocumentError):
            w.add_many([doc(1), {"text": "no id"}])
        assert w.pending_docs == 0
    assert idx.stats().doc_count == 0


def test_memory_index_live_writer_has_no_log() -> None:
    idx = heron.Index.in_memory()
    with idx.writer(durability="request", refresh_interval_s=None) as w:
        w.add(doc(1))
        idx.refresh()
        assert ids(idx, "heron") == {"d1"}


def test_parallel_bulk_builds_respect_operation_order(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None, parallel_min_docs=50, build_workers=2)
    w.add_many([doc(i, "old") for i in range(100)])  # built in a worker process
    w.add_many([doc(i, "mid") for i in range(50, 150)])  # a second batch, may finish first
    w.delete("d5")  # inline operations after the batches: they win over the batches' versions
    w.add(doc(6, "newest"))
    w.add_many([doc(i) for i in range(3)])  # small batch: inline
    w.commit()  # may run while batches are still being built
    w.close()  # waits for the builds
    again = heron.Index.open(p)
    assert again.get("d5") is None
    assert "newest" in again.get("d6")["text"]  # type: ignore[index]
    assert "mid" in again.get("d60")["text"]  # type: ignore[index]
    assert "old" in again.get("d40")["text"]  # type: ignore[index]
    assert "heron" in again.get("d1")["text"]  # type: ignore[index]
    assert again.stats().doc_count == 149
    assert ids(again, "old") == {f"d{i}" for i in range(3, 50)} - {"d5", "d6"}
    assert ids(again, "mid") == {f"d{i}" for i in range(50, 150)}


def test_background_merge_does_not_block_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heron.index import writer as writer_mod
    from heron.index.merge import TieredMergePolicy

    release = threading.Event()
    started = threading.Event()
    real = writer_mod.merge_segments

    def slow_merge(*a: Any, **kw: Any) -> Any:
        started.set()
        assert release.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(writer_mod, "merge_segments", slow_merge)
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None,
                   merge_policy=TieredMergePolicy(merge_factor=3, min_tier_docs=10))
    for b in range(3):
        w.add_many([doc(b * 10 + i) for i in range(10)])
        w.commit()
    assert started.wait(5)  # a merge of the 3 segments is running and blocked
    t0 = time.monotonic()
    w.delete("d1")  # writes and commits proceed meanwhile
    w.add(doc(2, "replaced"))
    w.commit()
    w.delete("d11")  # an uncommitted delete of a merging document
    assert time.monotonic() - t0 < 2
    release.set()
    w._merge_thread.join(10)  # type: ignore[union-attr]
    segs = Manifest.read(FsDirectory(p)).segments
    assert len(segs) <= 2 and any(s.name.startswith("s") and "_" in s.name for s in segs)
    idx.refresh()
    assert idx.get("d1") is None and idx.get("d11") is None and "replaced" in idx.get("d2")["text"]  # type: ignore[index]
    assert ids(idx, "heron") == {f"d{i}" for i in range(30)} - {"d1", "d11", "d2"}
    w.close()
    again = heron.Index.open(p)
    assert again.get("d11") is None and again.stats().doc_count == 28
    from heron.index.check import check_index

    assert check_index(p).ok and not check_index(p).warnings


def test_flushed_segments_are_synced_by_the_commit_before_its_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh flushes the buffer to a segment without fsyncs (durable through the log until
    committed); the commit fsyncs its files before writing the manifest that names it."""
    calls: list[tuple[list[str], list[str]]] = []
    real_sync = FsDirectory.sync

    def spy(self: FsDirectory, names: Any) -> None:
        calls.append((list(names), [m.name for m in Manifest.read(self).segments]))
        real_sync(self, names)

    monkeypatch.setattr(FsDirectory, "sync", spy)
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add_many([doc(i) for i in range(5)])
    w.refresh()
    committed = {m.name for m in Manifest.read(FsDirectory(p)).segments}
    flushed = [m.name for m in w._segments if m.name not in committed]
    assert len(flushed) == 1 and f"{flushed[0]}.seg" in w._unsynced and not calls
    w.add(doc(5))  # buffered: the commit flushes it too
    w.commit()
    assert len(calls) == 1 and not w._unsynced
    names, manifest_then = calls[0]
    assert f"{flushed[0]}.seg" in names and f"{flushed[0]}.doc" in names and len(names) == 4
    assert flushed[0] not in manifest_then  # synced before the manifest named it
    now = [m.name for m in Manifest.read(FsDirectory(p)).segments]
    assert flushed[0] in now and len(now) == 2
    w.close()
    assert ids(heron.Index.open(p), "heron") == {f"d{i}" for i in range(6)}


def test_delete_many_is_one_logged_operation_replayed_after_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add_many([doc(i) for i in range(6)])
    w.commit()
    w.add(doc(6))
    seq = w._wal.last_seq if w._wal is not None else 0
    assert w.delete_many(["d1", "d6", "nope", "d1"]) == 2  # committed, buffered, unknown, repeated
    assert w._wal is not None and w._wal.last_seq == seq + 1  # one log record
    assert w.delete_many([]) == 0
    w.close()  # no commit after the deletes: they live only in the log
    again = heron.Index.open(p)
    assert ids(again, "heron") == {"d0", "d2", "d3", "d4", "d5"}


def test_refreshes_reuse_the_committed_segments_saturation_tables(tmp_path: Path) -> None:
    """A near-real-time refresh changes the exact average length; BM25's grid value
    (``scoring_avgdl``) does not move for a few documents, so the committed segment's
    per-posting saturation table is reused, not recomputed for the whole index, and the scores
    still equal those of an index built from scratch with the same documents."""
    from heron.search.similarity import scoring_avgdl

    def text(i: int, words: int) -> dict[str, str]:
        return {"id": f"d{i}", "text": " ".join(["heron"] + [f"w{(i * 7 + j) % 50}" for j in range(words - 1)])}

    base = [text(i, 9 if i % 2 else 11) for i in range(400)]  # average 10 words
    extra = [text(1000, 8), text(1001, 8)]
    idx = heron.Index.create(tmp_path / "idx")
    with idx.writer() as w:
        w.add_many(base)
    s0 = idx.searcher().warm()
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add(extra[0])
    idx.refresh()
    s1 = idx.searcher()
    w.add(extra[1])
    idx.refresh()
    s2 = idx.searcher()
    f = s0.binder.field_names.index("text")
    exact = [s.stats.total_length(f) / s.stats.doc_count() for s in (s0, s1, s2)]
    assert exact[0] > exact[1] > exact[2]  # the exact average moved at each refresh ...
    assert s0.binder.avgdl[f] == s1.binder.avgdl[f] == s2.binder.avgdl[f] == scoring_avgdl(exact[2] * 402, 402)
    assert s1.segments[0].reader is s2.segments[0].reader
    assert s2._sat(0) is s1._sat(0)  # ... the table did not
    w.close()
    fresh = heron.Index.in_memory()
    with fresh.writer() as fw:
        fw.add_many(base + extra)
    got = [(h.id, h.score) for h in s2.search("heron w3 w17", k=20)]
    assert got == [(h.id, h.score) for h in fresh.search("heron w3 w17", k=20)] and len(got) == 20
