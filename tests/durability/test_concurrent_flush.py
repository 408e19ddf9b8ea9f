"""Refreshes and commits build the buffered documents into a segment outside the writer's lock:
writes go on meanwhile, and what they replace or delete in the buffer being flushed is deleted
in its segment when it joins. Differential: a writer thread's operations against a dict, with
refreshes and commits running concurrently, give the same documents as applying them in order."""

from __future__ import annotations

import errno
import random
import threading
from pathlib import Path
from typing import Any

import pytest

import heron
from heron.errors import StorageError
from heron.index import writer as writer_mod
from heron.index.manifest import Manifest
from heron.index.segment_writer import SegmentBuilder
from heron.storage.fs import FsDirectory


def doc(i: int, word: str = "heron") -> dict[str, Any]:
    return {"id": f"d{i}", "title": f"doc {i}", "text": f"{word} number {i} wades in the reef"}


def live_writer(tmp_path: Path, n: int) -> tuple[Path, heron.Index, Any]:
    """A new on-disk index with a live writer (no background refresh) holding d0..d{n-1}."""
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add_many([doc(i) for i in range(n)])
    return p, idx, w


def visible(s: Any) -> dict[str, str]:
    """id -> text of every document a searcher snapshot shows (each id at most once)."""
    out: dict[str, str] = {}
    for h in s.search("number", k=10_000):
        assert h.id not in out, f"{h.id} is live twice"
        out[h.id] = h.fields["text"]
    return out


def contents(idx: heron.Index) -> dict[str, str]:
    """id -> text of every live document (searched by a word every test document has)."""
    hits = idx.search("number", k=10_000)
    out: dict[str, str] = {}
    for h in hits:
        assert h.id not in out, f"{h.id} is live twice"
        stored = idx.get(h.id)
        assert stored is not None
        out[h.id] = stored["text"]
    return out


class GatedBuild:
    """Makes the next ``SegmentBuilder.build`` wait until released (and says when it started)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.armed = True
        original = SegmentBuilder.build
        gate = self

        def build(builder: SegmentBuilder) -> Any:
            if gate.armed:
                gate.armed = False
                gate.started.set()
                assert gate.release.wait(30), "the test never released the build"
            return original(builder)

        monkeypatch.setattr(SegmentBuilder, "build", build)


def run(fn: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as e:  # handed to the test
            out.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, out


def test_writes_go_on_while_a_refresh_builds_and_win_over_the_flushed_copies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, idx, w = live_writer(tmp_path, 0)
    for i in range(6):
        w.add(doc(i))
    gate = GatedBuild(monkeypatch)
    refresher, refreshed = run(w.refresh)
    assert gate.started.wait(10)
    # the refresh is building d0..d5 now; the lock is free, so these return at once
    writes, done = run(lambda: (w.add(doc(1, "egret")), w.delete("d2"), w.delete("d99"), w.add(doc(7))))
    writes.join(10)
    assert not writes.is_alive(), "a write waited for the segment being built"
    assert done == [(None, True, False, None)]  # d2 was found in the buffer being flushed
    assert refresher.is_alive()
    gate.release.set()
    refresher.join(10)
    assert not refresher.is_alive() and not isinstance(refreshed[0], BaseException)
    idx.refresh()
    expected = {f"d{i}": doc(i)["text"] for i in (0, 3, 4, 5, 7)} | {"d1": doc(1, "egret")["text"]}
    assert contents(idx) == expected
    w.close()  # nothing committed: the log replays it all on open
    assert contents(heron.Index.open(p)) == expected


def test_a_commit_waits_for_the_flush_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, _, w = live_writer(tmp_path, 4)
    gate = GatedBuild(monkeypatch)
    refresher, _ = run(w.refresh)
    assert gate.started.wait(10)
    w.add(doc(4))
    committer, committed = run(w.commit)
    committer.join(0.3)
    assert committer.is_alive(), "the commit did not wait for the segment being built"
    gate.release.set()
    for t in (refresher, committer):
        t.join(10)
        assert not t.is_alive()
    assert committed == [None]
    assert Manifest.read(FsDirectory(p)).doc_count == 5
    w.close()
    assert set(contents(heron.Index.open(p))) == {f"d{i}" for i in range(5)}


def test_a_failed_flush_is_retried_and_loses_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, idx, w = live_writer(tmp_path, 5)
    original = writer_mod.write_segment
    calls = {"n": 0}

    def full_disk(*a: Any, **k: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(*a, **k)

    monkeypatch.setattr(writer_mod, "write_segment", full_disk)
    with pytest.raises(OSError, match="No space left"):
        w.refresh()
    # the detached buffer waits for a retry; writes meanwhile still replace its documents
    w.add(doc(0, "egret"))
    assert w.delete("d1")
    w.add(doc(5))
    expected = {f"d{i}": doc(i)["text"] for i in (2, 3, 4, 5)} | {"d0": doc(0, "egret")["text"]}
    idx.refresh()  # retries the failed flush, then flushes the writes made since: all visible
    assert contents(idx) == expected
    assert Manifest.read(FsDirectory(p)).doc_count == 0  # not committed yet
    w.add(doc(6))
    w.commit()
    expected["d6"] = doc(6)["text"]
    idx.refresh()
    assert contents(idx) == expected
    assert Manifest.read(FsDirectory(p)).doc_count == 6
    w.close()
    assert contents(heron.Index.open(p)) == expected


def test_a_commit_that_cannot_flush_says_so_and_keeps_the_previous_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p, _, w = live_writer(tmp_path, 3)
    w.commit()
    w.add(doc(3))

    def full_disk(*a: Any, **k: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writer_mod, "write_segment", full_disk)
    with pytest.raises(StorageError, match=r"previous commit .* is intact"):
        w.commit()
    assert Manifest.read(FsDirectory(p)).doc_count == 3
    monkeypatch.undo()
    w.commit()  # space freed: the retry commits it
    assert Manifest.read(FsDirectory(p)).doc_count == 4
    w.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_refreshes_and_commits_equal_applying_the_operations_in_order(
        tmp_path: Path, seed: int) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p, heron.IndexSettings(writer_buffer_docs=37))  # some flushes from adds too
    w = idx.writer(durability="request", refresh_interval_s=None)
    rng = random.Random(seed)
    expected: dict[str, str] = {}
    stop = threading.Event()
    errors: list[BaseException] = []
    states = {frozenset(expected.items())}  # after each operation, in order
    seen: list[frozenset[tuple[str, str]]] = []  # what the snapshots showed

    def background() -> None:
        r = random.Random(seed + 100)
        try:
            while not stop.is_set():
                if r.random() < 0.2:
                    w.commit()
                    s = w.snapshot()
                else:
                    s = w.refresh()
                seen.append(frozenset(visible(s).items()))
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=background, daemon=True)
    t.start()
    try:
        for step in range(1_500):
            i = rng.randrange(120)
            roll = rng.random()
            if roll < 0.2:
                found = w.delete(f"d{i}")
                assert found == (f"d{i}" in expected), f"step {step}: delete d{i}"
                expected.pop(f"d{i}", None)
            elif roll < 0.25:
                batch = [doc(j, f"w{step}") for j in rng.sample(range(120), 5)]
                w.add_many(batch)
                expected.update({d["id"]: d["text"] for d in batch})
            else:
                d = doc(i, f"w{step}")
                w.add(d)
                expected[d["id"]] = d["text"]
            states.add(frozenset(expected.items()))
    finally:
        stop.set()
        t.join(30)
    assert not errors
    # every snapshot showed the index as it was after some operation: never an update's delete
    # without its add, a delete before the writes it follows, or half a batch
    assert len(seen) > 50 and all(v in states for v in seen), sum(v not in states for v in seen)
    idx.refresh()
    assert contents(idx) == expected
    w.close()
    assert contents(heron.Index.open(p)) == expected


def test_snapshots_never_show_an_update_as_a_missing_document(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An update deletes the old copy of a flushed document at once, but a snapshot shows that
    delete only with the buffer holding the new copy — also when the update comes while that
    buffer, or the one before it, is being flushed."""
    _, _idx, w = live_writer(tmp_path, 5)
    w.commit()
    original = visible(w.snapshot())
    w.add(doc(1, "alpha"))
    assert visible(w.snapshot()) == original  # d1 is updated in the buffer: the old copy shows
    w.delete("d3")
    assert visible(w.snapshot()) == original
    gate = GatedBuild(monkeypatch)
    t, out = run(w.refresh)  # flushes d1 "alpha" and the delete of d3
    assert gate.started.wait(30)
    w.add(doc(1, "beta"))  # supersedes d1 in the buffer being flushed
    w.add(doc(2, "gamma"))  # deletes the committed d2
    assert visible(w.snapshot()) == original
    gate.release.set()
    t.join(30)
    after_first = {**original, "d1": doc(1, "alpha")["text"]}
    del after_first["d3"]
    assert visible(out[0]) == after_first == visible(w.snapshot())
    assert visible(w.refresh()) == {**after_first, "d1": doc(1, "beta")["text"], "d2": doc(2, "gamma")["text"]}
    w.close()
