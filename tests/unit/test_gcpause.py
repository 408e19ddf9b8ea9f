"""The bulk-indexing pause of the cyclic garbage collector: nesting, threads, restoring the
caller's setting, and that the writer's bulk calls use it and leave the collector as found."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import heron
from heron.index import writer as writer_mod
from heron.index.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_pause_disables_and_restores() -> None:
    gc.enable()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: still paused, and the inner exit does not re-enable
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_keeps_a_disabled_collector_disabled() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_pause_restores_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_re_enable_once_the_last_ends() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with gc_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with gc_paused():
            second_in.set()
            first_out.wait(5)
            seen["after first left"] = gc.isenabled()  # the other thread's exit must not re-enable

    ts = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert seen == {"after first left": False}
    assert gc.isenabled()


def test_writer_bulk_calls_pause_the_collector(monkeypatch: pytest.MonkeyPatch,
                                              tiny_docs: list[dict[str, Any]]) -> None:
    gc.enable()
    states: list[tuple[str, bool]] = []
    cls = writer_mod.IndexWriter

    def spy(name: str) -> None:
        real = getattr(cls, name)

        def wrapped(self: Any, *a: Any) -> Any:
            states.append((name, gc.isenabled()))
            return real(self, *a)

        monkeypatch.setattr(cls, name, wrapped)

    for name in ("_add_unlogged", "_flush_builder"):
        spy(name)
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        assert w.add_many(tiny_docs) == len(tiny_docs)
        assert gc.isenabled()
        w.flush()
    assert states == [("_add_unlogged", False), ("_flush_builder", False)]  # a transaction's bulk add, a flush
    assert gc.isenabled()
    assert idx.stats().doc_count == len(tiny_docs)


def test_a_live_writers_wait_for_its_log_runs_with_the_collector_on(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any, tiny_docs: list[dict[str, Any]]) -> None:
    """Writer threads waiting on the log's fsync back to back must not keep the collector off."""
    gc.enable()
    seen: list[bool] = []
    real = writer_mod.IndexWriter._durable

    def durable(self: Any, seq: int) -> None:
        seen.append(gc.isenabled())
        real(self, seq)

    monkeypatch.setattr(writer_mod.IndexWriter, "_durable", durable)
    idx = heron.Index.create(str(tmp_path / "idx"), heron.IndexSettings())
    with idx.writer(durability="request") as w:
        assert w.add_many(tiny_docs) == len(tiny_docs)
    assert seen == [True]
    assert gc.isenabled()


def test_writer_leaves_a_disabled_collector_disabled(tiny_docs: list[dict[str, Any]]) -> None:
    gc.disable()
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        w.add_many(tiny_docs)
    assert not gc.isenabled()
    assert idx.stats().doc_count == len(tiny_docs)
