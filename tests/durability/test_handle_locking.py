"""The service's index handle never makes the event loop wait on its lock, and the refresh thread
asks the writer whether it may be released without holding that lock (a round trip to an indexer
process can take milliseconds under load; every search would wait behind it)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import heron
from heron.document import Document
from heron.index.process_writer import ProcessWriter
from heron.service import registry
from heron.service.registry import IndexHandle


class FakeWriter:
    """A live writer whose state questions can observe the handle and act meanwhile."""

    def __init__(self, handle: IndexHandle, during_question: Any = None, refreshes_itself: bool = True) -> None:
        self.handle = handle
        self.refreshes_itself = refreshes_itself
        self.during_question = during_question
        self.closed = False
        self.added: list[str] = []
        self.lock_held_while_asked: list[bool] = []
        self.pending = 0

    @property
    def pending_docs(self) -> int:
        self.lock_held_while_asked.append(self.handle._lock.locked())
        if self.during_question is not None:
            self.during_question()
        return self.pending

    @property
    def committed(self) -> bool:
        return True

    def add(self, doc: Document) -> None:
        self.added.append(doc.id)

    def close(self) -> None:
        self.closed = True


def _handle() -> IndexHandle:
    return IndexHandle("t", heron.Index.in_memory(), None)


def test_release_asks_the_writer_without_holding_the_lock() -> None:
    h = _handle()
    w = FakeWriter(h)
    h._writer = w  # type: ignore[assignment]
    h._release_if_done()
    assert w.lock_held_while_asked == [False]
    assert w.closed and h._writer is None


def test_a_write_that_came_and_went_meanwhile_keeps_the_writer_open() -> None:
    h = _handle()
    w = FakeWriter(h, during_question=lambda: h.write(lambda lw: lw.add(Document(id="late", text="x"))))
    h._writer = w  # type: ignore[assignment]
    h._release_if_done()
    assert w.added == ["late"] and h._inflight == 0
    assert not w.closed and h._writer is w  # "late" may not be committed: the writer stays


def test_no_release_while_a_write_is_in_flight() -> None:
    h = _handle()
    w = FakeWriter(h)
    h._writer = w  # type: ignore[assignment]
    h._inflight = 1
    h._release_if_done()
    assert w.lock_held_while_asked == [] and not w.closed


def hold_lock_for(h: IndexHandle, seconds: float) -> None:
    """Take the handle's lock, as the refresh thread committing would, and free it later."""
    h._lock.acquire()
    threading.Timer(seconds, h._lock.release).start()


def loop_ticks_during_add(h: IndexHandle) -> list[float]:
    """Run ``h.add_async`` on an event loop; the times (s) at which the loop ran meanwhile."""
    ticks: list[float] = []

    async def main() -> None:
        add = asyncio.create_task(h.add_async(Document(id="d1", text="heron")))
        t0 = time.monotonic()
        while not add.done():
            await asyncio.sleep(0.01)
            ticks.append(time.monotonic() - t0)
        await add

    asyncio.run(main())
    return ticks


def test_add_async_does_not_block_the_event_loop_on_a_held_lock() -> None:
    h = _handle()
    w = FakeWriter(h)
    h._writer = w  # type: ignore[assignment]
    hold_lock_for(h, 0.3)
    ticks = loop_ticks_during_add(h)
    assert w.added == ["d1"] and h._inflight == 0 and h._started == 1
    assert ticks[-1] >= 0.25  # the write waited for the lock ...
    assert sum(1 for t in ticks if t < 0.25) >= 10  # ... while the loop kept running


class CountingIndex:
    def __init__(self) -> None:
        self.refreshes = 0

    def refresh(self) -> None:
        self.refreshes += 1


def test_the_refresh_thread_leaves_a_self_refreshing_writer_to_its_schedule() -> None:
    """Each tick releases a finished writer; it forces a refresh (a round trip and one more
    snapshot to install) only when no open writer publishes snapshots on its own."""
    idx = CountingIndex()
    h = IndexHandle("t", idx, None)  # type: ignore[arg-type]
    h.tick()
    assert idx.refreshes == 1  # no writer: pick up other processes' commits
    for own_schedule, expected in ((True, 1), (False, 2)):
        w = FakeWriter(h, refreshes_itself=own_schedule)
        h._writer = w  # type: ignore[assignment]
        w.pending = 1  # an uncommitted write: the writer stays
        h.tick()
        assert h._writer is w and idx.refreshes == expected


def test_live_writers_say_whether_they_refresh_themselves() -> None:
    idx = heron.Index.in_memory()
    for options, expected in (({"durability": "request"}, True),
                              ({"durability": "request", "refresh_interval_s": None}, False),
                              ({}, False)):
        w = idx.writer(**options)
        try:
            assert w.refreshes_itself is expected
        finally:
            w.close()


def test_a_writer_closed_while_being_asked_is_left_alone() -> None:
    """A commit on another thread may release the writer while the refresh thread asks it."""
    from heron.errors import HeronError

    h = _handle()
    w = FakeWriter(h)

    def closed_meanwhile() -> None:
        w.closed = True
        raise HeronError("this writer is closed; open a new one with index.writer()")

    w.during_question = closed_meanwhile
    h._writer = w  # type: ignore[assignment]
    h._release_if_done()  # no error
    w.closed = False
    w.during_question = lambda: (_ for _ in ()).throw(HeronError("indexer gone"))
    with pytest.raises(HeronError, match="indexer gone"):  # an open writer's failure is not swallowed
        h._release_if_done()


class Clock:
    """A ``time`` stand-in for the registry whose ``monotonic()`` moves only by ``sleep``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_committed_writer_stays_open_until_no_write_came_for_idle_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service keeps an idle writer ``writer_idle_s`` (an indexer process takes ~0.2 s to
    start, with the writes of that time queued behind it); after that its lock is freed."""
    clock = Clock()
    monkeypatch.setattr(registry, "time", clock)
    h = IndexHandle("t", heron.Index.in_memory(), None, writer_options={"idle_s": 0.3})
    w = FakeWriter(h)
    h._writer = w  # type: ignore[assignment]
    h.write(lambda lw: lw.add(Document(id="d1", text="x")))
    h._release_if_done()
    assert not w.closed and h._writer is w and w.lock_held_while_asked == []  # not even asked
    clock.sleep(0.2)
    h.write(lambda lw: lw.add(Document(id="d2", text="x")))  # a write restarts the idle time
    clock.sleep(0.2)
    h._release_if_done()
    assert not w.closed and h._writer is w
    clock.sleep(0.15)
    h._release_if_done()
    assert w.closed and h._writer is None and w.added == ["d1", "d2"]


def test_the_idle_time_does_not_reach_the_writer_itself() -> None:
    """``idle_s`` is the handle's, not a writer option: the real writer opens with it set."""
    h = IndexHandle("t", heron.Index.in_memory(), None, writer_options={"idle_s": 5.0, "commit_interval_s": 0.05})
    h.write(lambda lw: lw.add(Document(id="d1", text="heron")))
    try:
        assert isinstance(h._writer, heron.IndexWriter)
        h.refresh()
        assert [x.id for x in h.index.search("heron")] == ["d1"]
    finally:
        h.close()


class SlowProcessWriter(ProcessWriter):
    """An indexer-process writer stand-in whose ``add_async`` takes a while (no process)."""

    def __init__(self, on_add: Any) -> None:  # no indexer process: only what the handle uses
        self._closed = False
        self.on_add = on_add
        self.added: list[str] = []

    async def add_async(self, doc: Document | Any, source: str | None = None) -> None:
        self.on_add()
        await asyncio.sleep(0.05)
        self.added.append(doc.id)


def test_an_add_that_ends_while_a_commit_holds_the_lock_does_not_block_the_event_loop() -> None:
    """A ``?refresh=true`` commit takes the handle's lock while an indexer-process write is in
    flight: the write's end waits for it in a worker thread, the loop keeps running."""
    h = _handle()
    w = SlowProcessWriter(on_add=lambda: hold_lock_for(h, 0.3))
    h._writer = w
    ticks = loop_ticks_during_add(h)
    assert w.added == ["d1"] and h._inflight == 0 and not h._lock.locked()
    assert ticks[-1] >= 0.25  # the write's end waited for the lock ...
    assert sum(1 for t in ticks if t < 0.25) >= 10  # ... while the loop kept running


def test_a_commit_keeps_a_writer_that_wrote_within_the_idle_time(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(registry, "time", clock)
    h = IndexHandle("t", heron.Index.in_memory(), None, writer_options={"idle_s": 0.2})
    h.write(lambda lw: lw.add(Document(id="d1", text="heron")))
    w = h._writer
    try:
        assert h.commit() and h._writer is w and w is not None and not w.closed
        clock.sleep(0.25)
        assert h.commit() and h._writer is None and w.closed  # idle: released, lock freed
    finally:
        h.close()
