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
    states: list[bool] = []
    real_flush = writer_mod.IndexWriter._flush_builder
    real_add = writer_mod.IndexWriter._add_many

    def add_spy(self: Any, docs: Any) -> int:
        states.append(gc.isenabled())
        return int(real_add(self, docs))

    def flush_spy(self: Any) -> None:
        states.append(gc.isenabled())
        real_flush(self)

    monkeypatch.setattr(writer_mod.IndexWriter, "_add_many", add_spy)
    monkeypatch.setattr(writer_mod.IndexWriter, "_flush_builder", flush_spy)
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        assert w.add_many(tiny_docs) == len(tiny_docs)
        assert gc.isenabled()
        w.flush()
    assert states == [False, False]  # inside add_many and the flush, paused
    assert gc.isenabled()
    assert idx.stats().doc_count == len(tiny_docs)


def test_writer_leaves_a_disabled_collector_disabled(tiny_docs: list[dict[str, Any]]) -> None:
    gc.disable()
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        w.add_many(tiny_docs)
    assert not gc.isenabled()
    assert idx.stats().doc_count == len(tiny_docs)
