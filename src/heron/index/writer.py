"""``IndexWriter``: buffer documents → flush immutable segments → commit a new manifest.

One writer per index (a directory lock enforces it). Adding a document whose id exists
replaces it (delete + add). ``durability`` decides when a write is acknowledged:

* ``"commit"`` (the default of ``Index.writer()``): a transaction. Nothing is durable or
  visible before ``commit()``; ``rollback()`` (or an exception inside ``with
  index.writer()``) discards everything since the last commit. For bulk loads.
* ``"request"`` / ``"async"`` (live writes; ``"request"`` is the service default): every
  ``add`` / ``add_many`` / ``delete`` call is appended to the write-ahead log
  (:mod:`heron.index.wal`) before it returns — fsync'ed first in ``request`` mode, with
  concurrent callers sharing fsyncs; synced every ``sync_interval_ms`` in ``async`` mode.
  ``refresh()`` makes buffered writes searchable without a commit (near-real-time: the
  buffer is flushed to a segment that is not yet in the manifest, and a searcher over the
  committed segments + these + in-memory deletes is handed out); a background thread does
  that every ``refresh_interval_s`` and commits when ``commit_interval_s`` passed,
  ``commit_bytes`` of log accumulated or ``max_nrt_segments`` refresh segments exist (each
  segment costs every search a little; commits let background merges fold them). A commit
  trims the log. An exception inside the
  ``with`` block closes the writer without discarding acknowledged writes.
  With ``parallel_min_docs`` set, ``add_many`` batches at least that big are acknowledged once
  logged and analysed into their own segment by ``build_workers`` spawned worker processes
  (the service turns this on; a script using it needs the ``if __name__ == "__main__":``
  guard that ``multiprocessing`` requires). Later operations on a batch's ids win over it.

Every writer replays the log after the last commit when it opens (and commits it), so a
crash loses no acknowledged write. Thread-safe: one lock orders log appends and state
changes; fsyncs happen outside it (group commit).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from heron.document import Document, make_document
from heron.errors import ConfigError, HeronError, StorageError, WriteRejectedError
from heron.index.gcpause import gc_paused
from heron.index.manifest import Manifest, SegmentMeta
from heron.index.merge import LIVE_MERGE_POLICY, TieredMergePolicy, merge_segments
from heron.index.segment import SegmentData, SegmentReader, read_live_docs, write_live_docs, write_segment
from heron.index.segment_writer import SegmentBuilder
from heron.storage.directory import Directory

if TYPE_CHECKING:
    from heron.index.reader import Searcher
    from heron.index.wal import WriteAheadLog

WRITE_MODES = ("commit", "request", "async")
#: near-real-time refresh period of live writers: writes are searchable about this long after
#: they are acknowledged (plus the flush), keeping refresh-to-visible p99 under 1 s
DEFAULT_REFRESH_INTERVAL_S = 0.5

log = logging.getLogger("heron.writer")


@dataclass(slots=True)
class _Flushing:
    """A buffer being built into segment ``name`` outside the writer's lock."""

    name: str
    epoch: int
    builder: SegmentBuilder
    #: the ids live in that buffer when it was detached
    live_ids: frozenset[str]
    #: the built segment (kept when writing it failed: the retry only writes)
    data: SegmentData | None = None
    #: being built or written now (False: failed, waiting for the next flush to retry it)
    running: bool = False
    #: how many times it was started (more than once: a retry)
    attempts: int = 0
    #: ids written or deleted since (their copy in the new segment is deleted when it joins)
    superseded: set[str] = field(default_factory=set)
    #: its files, written without fsync (the commit that names them syncs them)
    unsynced: list[str] = field(default_factory=list)
    #: (segment, doc) deleted by the writes in this buffer: hidden from snapshots until it joins
    journal: list[tuple[str, int]] = field(default_factory=list)


class IndexWriter:
    """Writes to one index. Use as a context manager: commits on success, rolls back on error."""

    def __init__(
        self,
        directory: Directory,
        on_commit: Any = None,
        merge_policy: TieredMergePolicy | None = None,
        *,
        durability: str = "commit",
        sync_interval_ms: float = 200.0,
        refresh_interval_s: float | None = DEFAULT_REFRESH_INTERVAL_S,
        commit_interval_s: float = 10.0,
        commit_bytes: int = 64 << 20,
        max_pending_docs: int | None = None,
        max_segments: int | None = None,
        on_refresh: Callable[[Searcher], None] | None = None,
        parallel_min_docs: int | None = None,
        build_workers: int = 0,
        max_nrt_segments: int = 2,
    ):
        if durability not in WRITE_MODES:
            raise ConfigError(f"durability must be one of {list(WRITE_MODES)}, got {durability!r}")
        for what, v in (("commit_interval_s", commit_interval_s), ("commit_bytes", commit_bytes)):
            if not v > 0:
                raise ConfigError(f"{what} must be > 0, got {v}")
        if refresh_interval_s is not None and not refresh_interval_s > 0:
            raise ConfigError(f"refresh_interval_s must be > 0 (or None), got {refresh_interval_s}")
        self._dir = directory
        self._lock_cm = directory.lock()
        self._lock_cm.__enter__()
        self._mutex = threading.RLock()
        self._wal: WriteAheadLog | None = None
        try:
            self._manifest = Manifest.read(directory)
            path = getattr(directory, "path", None)
            if path is not None:  # on disk: open the log (replays records after the last commit)
                from heron.index.wal import WriteAheadLog

                self._wal = WriteAheadLog(path, self._committed_seq, "async" if durability == "async" else
                                          "request", sync_interval_ms)
        except BaseException:
            self._lock_cm.__exit__(None, None, None)
            raise
        self.settings = self._manifest.settings
        self.durability = durability
        self._on_commit = on_commit
        self._on_refresh = on_refresh
        self._policy = merge_policy or (LIVE_MERGE_POLICY if durability != "commit" else TieredMergePolicy())
        self._closed = False
        self._commit_interval_s = commit_interval_s
        self._commit_bytes = commit_bytes
        self._max_pending_docs = max_pending_docs
        self._max_segments = max_segments
        if max_nrt_segments < 1:
            raise ConfigError(f"max_nrt_segments must be >= 1, got {max_nrt_segments}")
        self._max_nrt_segments = max_nrt_segments
        # parallel bulk builds (live writers on disk): batch sequence number -> segment name
        self._inflight: dict[int, str] = {}
        self._touch: dict[str, int] = {}  # id -> seq of its last inline op while builds are in flight
        self._epoch = 0
        self._merging: tuple[list[str], str, int] | None = None  # sources, new name, epoch
        self._merge_thread: threading.Thread | None = None
        #: the buffer being built and written outside the lock (one at a time), if any
        self._flushing: _Flushing | None = None
        self._session = os.urandom(4).hex()
        self._cv = threading.Condition(self._mutex)
        self._pool: Any = None
        self._build_error: BaseException | None = None
        self._build_workers = build_workers or (os.cpu_count() or 1)
        self._parallel_min_docs = parallel_min_docs if self._build_workers > 1 else None
        self._reset_pending()
        self._refresher: threading.Thread | None = None
        try:
            self._cleanup_unreferenced()
            if self._wal is not None and self._wal.recovered:
                self._recover()
        except BaseException:
            self._closed = True
            if self._wal is not None:
                self._wal.close()
            self._lock_cm.__exit__(None, None, None)
            raise
        if durability != "commit" and refresh_interval_s is not None:
            self._stop = threading.Event()
            ref = weakref.ref(self)
            self._refresher = threading.Thread(
                target=_refresh_loop, args=(ref, self._stop, refresh_interval_s), name="heron-nrt", daemon=True
            )
            self._refresher.start()

    # -- write-ahead log --------------------------------------------------------------------
    @property
    def _committed_seq(self) -> int:
        return int(self._manifest.user_data.get("wal_seq", 0))

    @property
    def live(self) -> bool:
        """Whether writes are logged and acknowledged one call at a time (not a transaction)."""
        return self.durability != "commit"

    def _recover(self) -> None:
        assert self._wal is not None
        n = 0
        for rec in self._wal.recovered:
            for op in rec.ops:
                self._apply(op, rec.seq)
                n += 1
        log.info("replayed %d operations from the write-ahead log of %s", n, self._dir.describe(""))
        self._wal.recovered = []
        self.commit(merge=False)

    def _apply(self, op: Mapping[str, Any], seq: int) -> None:
        kind = op.get("op")
        if kind == "add":
            d = make_document(op["doc"], self.settings)
            self._delete_committed(d.id)
            self._builder.add(d)
            if self._buffer_full():
                self.flush()
        elif kind == "delete":
            doc_id = str(op["id"])
            self._builder.delete(doc_id)
            self._delete_committed(doc_id)
        else:
            raise HeronError(f"unknown operation {kind!r} in the write-ahead log of {self._dir.describe('')}")
        self._applied_seq = seq
        self._changes += 1

    @property
    def _logging(self) -> bool:
        """Whether writes go to the write-ahead log (live writers)."""
        return self._wal is not None and self.live

    def _log(self, ops: list[dict[str, Any]]) -> int:
        """Append ``ops`` to the log (live writers); returns the sequence number, 0 if not logged."""
        if not self._logging:
            return 0
        return self._wal.append(ops)  # type: ignore[union-attr]

    def _durable(self, seq: int) -> None:
        if seq and self._wal is not None:
            self._wal.sync(seq)

    def _admit(self, n: int) -> None:
        """Back-pressure: refuse writes when the uncommitted buffer or segment backlog is over budget."""
        if self._max_pending_docs is not None and self._pending_docs + n > self._max_pending_docs:
            raise WriteRejectedError(
                f"the write buffer is full ({self._pending_docs:,} uncommitted documents, budget "
                f"{self._max_pending_docs:,}); retry after the next commit", retry_after_s=1.0)
        if self._max_segments is not None and len(self._segments) > self._max_segments:
            raise WriteRejectedError(
                f"the merge backlog is over budget ({len(self._segments)} segments, budget {self._max_segments}); "
                "retry when merges caught up", retry_after_s=2.0, overloaded=True)

    # -- state since the last commit ------------------------------------------------------
    def _reset_pending(self) -> None:
        self._applied_seq = self._committed_seq
        self._pending_docs: int = 0
        self._changes: int = 0
        self._nrt: tuple[int, Searcher] | None = None
        self._last_commit: float = time.monotonic()
        self._builder: SegmentBuilder = SegmentBuilder(self.settings)
        self._segments: list[SegmentMeta] = list(self._manifest.segments)
        self._readers: dict[str, SegmentReader] = {}
        self._live: dict[str, np.ndarray] = {}
        self._dirty: set[str] = set()
        self._new_files: list[str] = []
        #: files of flushed segments written without fsync (``FsDirectory.deferred_sync``)
        self._unsynced: list[str] = []
        #: (segment, doc) of flushed documents deleted by the writes in the buffer: a snapshot
        #: still shows them until the buffer is flushed, so that it never shows an update's
        #: delete without its add (``_nrt_searcher``)
        self._journal: list[tuple[str, int]] = []
        self._next_segment = self._manifest.next_segment

    def _reader(self, meta: SegmentMeta) -> SegmentReader:
        r = self._readers.get(meta.name)
        if r is None:
            r = self._readers[meta.name] = SegmentReader(self._dir, meta.name, stored=self.settings.store_documents)
        return r

    def _live_of(self, meta: SegmentMeta) -> np.ndarray:
        live = self._live.get(meta.name)
        if live is None:
            if meta.del_file:
                live = read_live_docs(self._dir, meta.del_file, meta.doc_count).copy()
            else:
                live = np.ones(meta.doc_count, dtype=np.uint8)
            self._live[meta.name] = live
        return live

    # -- documents ------------------------------------------------------------------------
    def add(self, doc: Document | Mapping[str, Any], source: str | None = None) -> None:
        """Add or replace one document (validated; raises ``DocumentError``).

        Live writers return once the write is in the log (durable in ``request`` mode)."""
        self._check_open()
        d = make_document(doc, self.settings, source)
        with self._mutex:
            self._check_open()
            self._raise_build_error()
            self._admit(1)
            seq = self._log([{"op": "add", "doc": d.to_stored()}]) if self._logging else 0
            self._add_doc(d, seq)
        self._durable(seq)

    def _add_doc(self, d: Document, seq: int) -> None:
        if self._inflight and seq:
            self._touch[d.id] = seq
        self._delete_committed(d.id)
        self._builder.add(d)
        self._pending_docs += 1
        self._changes += 1
        if seq:
            self._applied_seq = seq
        if self._flushing is None and self._buffer_full():
            self.flush()

    def _add_unlogged(self, docs: list[Document]) -> None:
        """``_add_doc(d, 0)`` for each document, the buffer filled a slice at a time (the same
        flushes at the same document counts; the memory budget is checked after each slice)."""
        i = 0
        while i < len(docs):
            part = docs[i:i + max(1, self.settings.writer_buffer_docs - self._builder.slots)]
            if self._segments or self._flushing is not None:
                for d in part:
                    self._delete_committed(d.id)
            self._builder.add_many(part)
            self._pending_docs += len(part)
            self._changes += len(part)
            i += len(part)
            if self._flushing is None and self._buffer_full(estimate_ram=True):
                self.flush()

    def _buffer_full(self, estimate_ram: bool = False) -> bool:
        """Whether the buffer reached ``writer_buffer_docs`` or ``writer_buffer_mb`` (its RAM is
        estimated every 64 documents, or now when ``estimate_ram``)."""
        n = self._builder.slots
        return n >= self.settings.writer_buffer_docs or (
            (estimate_ram or not n & 63) and self._builder.ram_bytes >= self.settings.writer_buffer_mb << 20)

    def add_many(self, docs: Iterable[Document | Mapping[str, Any]]) -> int:
        """Add or replace documents, all or nothing: every document is validated before any
        is added. For live writers one call is one log record (one fsync)."""
        self._check_open()
        # bulk work allocates many objects and no cycles: the collector is paused for it (see
        # gcpause), not for a live writer's wait on the log's fsync, so that writer threads
        # waiting back to back cannot keep it off
        with gc_paused():
            valid = [make_document(d, self.settings) for d in docs]
        if not valid:
            return 0
        if not self.live:
            with self._mutex, gc_paused():
                self._check_open()
                self._raise_build_error()
                self._admit(len(valid))
                self._add_unlogged(valid)
            return len(valid)
        if (self._parallel_min_docs is not None and len(valid) >= self._parallel_min_docs
                and self._wal is not None and getattr(self.settings, "vectors", None) is None):
            return self._add_many_parallel(valid)
        with self._mutex:
            self._check_open()
            self._admit(len(valid))
            seq = self._log([{"op": "add", "doc": d.to_stored()} for d in valid])
            for d in valid:
                self._add_doc(d, seq)
        self._durable(seq)
        return len(valid)

    def add_parallel(
        self, docs: Iterable[Document | Mapping[str, Any]], processes: int = 0, chunk_docs: int | None = None
    ) -> int:
        """Add many documents using worker processes (all cores when ``processes`` is 0).

        Each chunk of ``chunk_docs`` becomes a segment built in a worker; ids are replaced as
        with ``add`` (later wins). A document that fails validation aborts the whole call
        before anything is committed. Needs an on-disk index (falls back to ``add_many``).
        ``chunk_docs`` defaults to 50,000, or 4,096 with vectors: embedding makes a chunk ~100x
        dearer, and with big chunks the last one keeps one core busy for minutes while the others
        idle (enwiki-107k on 2 cores: ~2.5 min of a 23-min build).
        """
        import os

        from heron.index.parallel import run_parallel
        from heron.storage.fs import FsDirectory

        self._check_open()
        n_proc = processes or os.cpu_count() or 1
        if not isinstance(self._dir, FsDirectory) or n_proc <= 1 or self.live:
            return self.add_many(docs)
        self.flush()

        def names() -> Iterator[str]:
            while True:
                name = f"s{self._next_segment:06d}"
                self._next_segment += 1
                self._new_files.extend([f"{name}.seg", f"{name}.doc", f"{name}.vec"])
                yield name

        if chunk_docs is None:
            chunk_docs = 50_000 if self.settings.vectors is None else 4_096
        results = run_parallel(str(self._dir.path), self.settings, names(), docs, n_proc, chunk_docs)
        total = 0
        for r in results:
            for doc_id in r["ids"]:
                self._delete_committed(doc_id)
            meta = SegmentMeta(r["name"], r["doc_count"], tuple(r["sum_len"]), size_bytes=r["bytes"])
            self._segments.append(meta)
            total += r["doc_count"]
        return total

    def _add_many_parallel(self, valid: list[Document]) -> int:
        """A big batch: logged (and acknowledged) here, analysed into its own segment by a worker
        process meanwhile, registered when built. A later operation on one of its ids wins over
        it (``_touch``), an earlier one loses; until registered a commit keeps its log records."""
        from heron.index.parallel import build_segment

        assert self._wal is not None
        with self._mutex:
            self._check_open()
            self._raise_build_error()
            self._admit(len(valid))
            seq = self._log([{"op": "add", "doc": d.to_stored()} for d in valid])
            # a name no other writer session uses: a worker orphaned by a crash cannot clobber it
            name = f"s{self._next_segment:06d}_{self._session}"
            self._next_segment += 1
            self._new_files += [f"{name}.seg", f"{name}.doc", f"{name}.vec"]
            self._inflight[seq] = name
            self._pending_docs += len(valid)
            self._changes += 1
            epoch = self._epoch
            fut = self._get_pool().submit(build_segment, str(self._wal.path), self.settings.to_dict(), name,
                                          [d.to_stored() for d in valid])
        fut.add_done_callback(lambda f: self._register(f, seq, name, epoch))
        self._durable(seq)
        with self._cv:  # bounded work in flight: wait (back-pressure) rather than queue without limit
            while len(self._inflight) > 2 * self._build_workers and not self._closed:
                self._cv.wait(1.0)
        return len(valid)

    def _get_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            # spawn: no fork of a process with threads; workers exit when this process dies
            self._pool = ProcessPoolExecutor(max_workers=self._build_workers, mp_context=mp.get_context("spawn"),
                                             initializer=_exit_with_parent,
                                             initargs=(os.getpid(), BUILD_AFFINITY))
        return self._pool

    def _register(self, fut: Any, seq: int, name: str, epoch: int) -> None:
        with self._cv:
            try:
                self._inflight.pop(seq, None)
                if self._closed or epoch != self._epoch or fut.cancelled():
                    return  # rolled back or closing: the log still has the batch
                exc = fut.exception()
                if exc is not None:
                    self._build_error = exc
                    log.error("building segment %s in a worker failed: %s", name, exc)
                    return
                r = fut.result()
                meta = SegmentMeta(name, int(r["doc_count"]), tuple(r["sum_len"]), size_bytes=int(r["bytes"]))
                live = np.ones(meta.doc_count, dtype=np.uint8)
                for i, did in enumerate(r["ids"]):
                    if self._touch.get(did, 0) > seq:
                        live[i] = 0  # a later operation on this id already happened
                    else:
                        self._builder.delete(did)
                        self._delete_committed(did)
                        if self._inflight:
                            self._touch[did] = seq
                self._segments.append(meta)
                if not live.all():
                    self._live[name] = live
                    self._dirty.add(name)
                self._changes += 1
                if not self._inflight:
                    self._touch.clear()
            except BaseException as e:  # never lose the error: the next write or commit raises it
                self._build_error = e
                log.exception("registering segment %s failed", name)
            finally:
                self._cv.notify_all()

    def wait_for_builds(self, timeout_s: float | None = None) -> bool:
        """Wait until every bulk batch handed to a worker is built and registered."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cv:
            while self._inflight and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(1.0 if left is None else min(left, 1.0))
        return True

    def _raise_build_error(self) -> None:
        if self._build_error is not None:
            raise StorageError(
                f"building a segment of {self._dir.describe('')} in a worker process failed "
                f"({self._build_error}); acknowledged writes are in the log: close and reopen the index "
                "(recovery replays them)") from self._build_error

    def delete(self, doc_id: str) -> bool:
        """Delete by external id; returns whether a document was found (live writers: logged first)."""
        return self.delete_many([doc_id]) > 0

    def delete_many(self, doc_ids: Iterable[str]) -> int:
        """Delete documents by external id, as one logged operation (live writers: one log
        record, all or none); returns how many of them were found."""
        ids = [str(i) for i in doc_ids]
        self._check_open()
        if not ids:
            return 0
        with self._mutex:
            self._check_open()
            self._admit(0)
            self._raise_build_error()
            seq = self._log([{"op": "delete", "id": i} for i in ids])
            found = 0
            for doc_id in ids:
                if self._inflight and seq:
                    self._touch[doc_id] = seq
                hit = self._builder.delete(doc_id)
                found += self._delete_committed(doc_id) or hit
            self._changes += 1
            if seq:
                self._applied_seq = seq
        self._durable(seq)
        return found

    def _delete_committed(self, doc_id: str) -> bool:
        """Mark ``doc_id`` deleted in the segments (and in the buffer being flushed, when its
        segment is registered); returns whether a live copy was there."""
        found = False
        f = self._flushing
        if f is not None and doc_id not in f.superseded:
            f.superseded.add(doc_id)
            found = doc_id in f.live_ids
        for meta in self._segments:
            found = self._delete_in(meta, doc_id) or found
        return found

    def _delete_in(self, meta: SegmentMeta, doc_id: str) -> bool:
        """Mark ``doc_id`` deleted in segment ``meta`` (in memory), journaled with the buffer's
        writes; whether a live copy was there."""
        doc = self._reader(meta).doc_for_id(doc_id)
        if doc < 0:
            return False
        live = self._live_of(meta)
        if not live[doc]:
            return False
        live[doc] = 0
        self._dirty.add(meta.name)
        self._journal.append((meta.name, doc))
        return True

    # -- flush / commit ---------------------------------------------------------------------
    # A flush turns the buffer into a segment: analysis, postings, compression, files — tens of
    # milliseconds for a few hundred documents. Refreshes and commits do it outside the lock
    # (Lucene's concurrent flush): under the lock the buffer is swapped for an empty one and a
    # segment name taken; it is built and written meanwhile, writes going to the new buffer; under
    # the lock again it joins the segments, and the ids that later writes replaced or deleted
    # (``_Flushing.superseded``) are marked deleted in it. One flush runs at a time; a commit
    # waits for it, so a manifest never names a log position whose documents are not in it.
    def flush(self) -> None:
        """Write buffered documents as a new (not yet committed) segment."""
        with self._mutex:
            self._flush()

    def _flush(self) -> None:
        """Flush the buffer with the lock held (after the flush in flight, if any, is registered)."""
        job = self._detach() if self._flushing is not None else None
        if job is not None:  # a flush that failed before: retried here, under the lock
            try:
                self._register_flush(job, self._run_flush(job))
            except BaseException:
                job.running = False
                raise
            self._flushing = None
        if not len(self._builder):
            self._builder = SegmentBuilder(self.settings)
            self._journal = []  # deletes only: they show now
            return
        with gc_paused():
            self._flush_builder()

    def _flush_builder(self) -> None:
        data = self._builder.build()
        name = f"s{self._next_segment:06d}"
        self._next_segment += 1
        with self._dir.deferred_sync(self._unsynced):  # uncommitted: the commit naming it syncs it first
            info = self._write(name, data)
        self._segments.append(SegmentMeta(name, data.doc_count, tuple(info["sum_len"]), size_bytes=info["bytes"]))
        self._builder = SegmentBuilder(self.settings)
        self._journal = []  # the buffer's documents are in a segment: its deletes show with them

    def _wait_flush(self) -> None:
        """Wait (lock held; it is released while waiting) until no flush is running."""
        while self._flushing is not None and self._flushing.running:
            self._cv.wait()

    def _detach(self) -> _Flushing | None:
        """Under the lock: the flush to run next — one that failed before (retried first, so
        segments keep the order of their documents), else the buffer, swapped for an empty one."""
        self._wait_flush()
        job = self._flushing
        if job is None:
            if not len(self._builder):
                self._journal = []  # deletes only: they show now
                return None
            builder, self._builder = self._builder, SegmentBuilder(self.settings)
            name = f"s{self._next_segment:06d}"
            self._next_segment += 1
            self._new_files += [f"{name}.seg", f"{name}.doc", f"{name}.vec"]
            job = self._flushing = _Flushing(name, self._epoch, builder, frozenset(builder.by_id),
                                             journal=self._journal)
            self._journal = []
        job.running = True
        job.attempts += 1
        return job

    def _run_flush(self, job: _Flushing) -> dict[str, Any]:
        """Build and write ``job``'s segment (no lock needed); returns the segment's summary."""
        with gc_paused():
            if job.data is None:
                job.data = job.builder.build()
            with self._dir.deferred_sync(job.unsynced):
                return self._write_files(job.name, job.data)

    def _flush_outside_lock(self) -> None:
        """Flush the buffer with the lock held only to detach it and to register its segment.

        If building or writing fails (disk full), the error is raised and the detached buffer
        waits: the next flush or commit retries it first (then flushes the buffer written since),
        and writes meanwhile still supersede its documents."""
        while True:
            with self._mutex:
                self._check_open()
                job = self._detach()
            if job is None:
                return
            try:
                info = self._run_flush(job)
            except BaseException:
                with self._cv:
                    job.running = False
                    self._cv.notify_all()
                raise
            with self._cv:
                try:
                    self._register_flush(job, info)
                finally:
                    self._flushing = None
                    self._cv.notify_all()
            if job.attempts == 1:  # the buffer as it was when this call began: done
                return

    def _register_flush(self, job: _Flushing, info: dict[str, Any]) -> None:
        """Add the segment built outside the lock, without the documents superseded meanwhile."""
        assert job.data is not None
        if self._closed or job.epoch != self._epoch:  # rolled back meanwhile: the log has it all
            self._delete_segment_files([job.name])
            return
        meta = SegmentMeta(job.name, job.data.doc_count, tuple(info["sum_len"]), size_bytes=info["bytes"])
        self._segments.append(meta)
        self._unsynced += job.unsynced
        for doc_id in job.superseded:  # the current buffer's writes: journaled with it
            self._delete_in(meta, doc_id)

    def _write(self, name: str, data: Any) -> dict[str, Any]:
        self._new_files += [f"{name}.seg", f"{name}.doc", f"{name}.vec"]
        return self._write_files(name, data)

    def _write_files(self, name: str, data: Any) -> dict[str, Any]:
        kinds: dict[str, str] = {f.name: str(f.type) for f in self.settings.filter_fields}
        return write_segment(
            self._dir, name, data, len(self.settings.text_fields), self.settings.store_documents, kinds
        )

    def commit(self, merge: bool = True) -> None:
        """Make every change durable and visible atomically (and trim the write-ahead log)."""
        self._check_open()
        try:
            self._flush_outside_lock()  # the buffer so far; under the lock only what came since
        except OSError as e:
            raise self._commit_error(e) from e
        old_logs: list[str] = []
        with self._mutex:
            self._check_open()
            self._raise_build_error()
            try:
                self._flush()
                metas = self._apply_deletes()
                if self._unsynced:  # flushed segments become durable before a manifest names them
                    self._dir.sync(self._unsynced)  # (_publish starts a new list)
                # batches still being built: the commit covers the log only up to the first of them
                # (replaying from there is idempotent) and the log is not trimmed
                trim = self._wal is not None and not self._inflight
                if self._wal is not None and trim:  # the new log file exists before the manifest that needs it
                    self._wal.roll(self._wal.last_seq)
                self._publish(metas)
                if self._wal is not None and trim:
                    old_logs = self._wal.take_old()  # deleted below, outside the lock
                if merge:
                    if self.live:  # merges run in a thread: writes wait only for the brief swap
                        self._start_background_merge()
                    else:
                        self.maybe_merge()
            except OSError as e:
                raise self._commit_error(e) from e
        if old_logs and self._wal is not None:
            try:
                self._wal.drop(old_logs)  # the commit is published: only disk space is at stake
            except OSError as e:
                log.warning("could not delete superseded write-ahead log files of %s: %s (they are deleted "
                            "after the index is next opened)", self._dir.describe(""), e)

    def _commit_error(self, e: OSError) -> StorageError:
        return StorageError(
            f"commit of {self._dir.describe('')} failed: {e.strerror or e} "
            f"({getattr(e, 'filename', None) or 'while writing'}). The previous commit (generation "
            f"{self._manifest.generation}) is intact and acknowledged writes are still in the log; "
            "free disk space or fix permissions, then retry the commit or reopen the index")

    def maybe_commit(self) -> bool:
        """Commit if the time or log-size threshold is reached; returns whether it committed."""
        with self._mutex:
            if self._closed or not self._changes:
                return False
            due = time.monotonic() - self._last_commit >= self._commit_interval_s
            if self._wal is not None and self._wal.bytes_since_roll >= self._commit_bytes:
                due = True
            if self._max_pending_docs is not None and self._pending_docs * 2 >= self._max_pending_docs:
                due = True
            if self.live and self._uncommitted_segments() >= self._max_nrt_segments:
                due = True  # each segment costs every search a little: commit, so merges can fold them
        if due:
            self.commit()  # not under the lock: the commit flushes the buffer outside it first
        return due

    def _uncommitted_segments(self) -> int:
        committed = {m.name for m in self._manifest.segments}
        return sum(1 for m in self._segments if m.name not in committed)

    # -- near-real-time -------------------------------------------------------------------------
    def refresh(self) -> Searcher:
        """A searcher over everything written so far, committed or not (near-real-time).

        Buffered documents are flushed to a segment that is not yet in the manifest; deletes
        are applied through in-memory live-doc masks. Cheap when nothing changed.
        """
        self._check_open()
        with self._mutex:
            self._check_open()
            self._wait_flush()
            cached = self._nrt
            if cached is not None and cached[0] == self._changes:
                return cached[1]
            changes = self._changes
        self._flush_outside_lock()  # writes go on meanwhile
        with self._mutex:
            self._check_open()
            s = self._nrt_searcher()  # everything up to ``changes`` (later writes show with their buffer)
            self._nrt = (changes, s)
        return s

    def snapshot(self) -> Searcher:
        """A searcher over the segments flushed so far (committed or not) and their deletes —
        without flushing: the writes still in the buffer (or being flushed) are not in it, their
        deletes of flushed documents included (:meth:`refresh` flushes them first), so an update
        never shows as a missing document. Cheap: a state to publish while holding the writer's lock."""
        with self._mutex:
            self._check_open()
            cached = self._nrt
            if cached is not None and cached[0] == self._changes:
                return cached[1]
            return self._nrt_searcher()

    def _nrt_searcher(self) -> Searcher:
        from dataclasses import replace

        from heron.index.reader import Searcher, SegmentView

        hidden: dict[str, list[int]] = {}  # deletes of writes not flushed yet: not shown
        f = self._flushing
        for name, doc in (*(f.journal if f is not None else ()), *self._journal):
            hidden.setdefault(name, []).append(doc)
        views: list[SegmentView] = []
        metas: list[SegmentMeta] = []
        for m in self._segments:
            live: np.ndarray | None = None
            if m.name in self._live or m.del_file:
                live = self._live_of(m).copy()
                if m.name in hidden:
                    live[hidden[m.name]] = 1
                m = SegmentMeta(m.name, m.doc_count, m.sum_len, m.del_gen, int(m.doc_count - live.sum()),
                                m.size_bytes)
            metas.append(m)
            views.append(SegmentView(m, self._reader(m), live))
        return Searcher(replace(self._manifest, segments=tuple(metas)), views)

    def _tick(self) -> None:
        """One round of the background thread: commit when due, else refresh if anything changed."""
        if self._closed or self.maybe_commit():
            return
        nrt = self._nrt
        if self._changes and (nrt is None or nrt[0] != self._changes):
            s = self.refresh()
            if self._on_refresh is not None:
                self._on_refresh(s)

    @property
    def pending_docs(self) -> int:
        """Documents added since the last commit."""
        return self._pending_docs

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def refreshes_itself(self) -> bool:
        """Whether a background thread makes writes searchable every ``refresh_interval_s``."""
        return self._refresher is not None

    @property
    def committed(self) -> bool:
        """True when nothing changed since the last commit."""
        return not self._changes

    def _apply_deletes(self) -> list[SegmentMeta]:
        metas: list[SegmentMeta] = []
        for m in self._segments:
            if m.name in self._dirty:
                live = self._live[m.name]
                dels = int(m.doc_count - live.sum())
                if dels == m.doc_count:
                    continue  # fully deleted: drop the segment
                gen = m.del_gen + 1
                fname = f"{m.name}.{gen}.del"
                write_live_docs(self._dir, fname, live)
                self._new_files.append(fname)
                m = SegmentMeta(m.name, m.doc_count, m.sum_len, gen, dels, m.size_bytes)
            metas.append(m)
        return metas

    def _publish(self, metas: list[SegmentMeta]) -> None:
        m = self._manifest.with_segments(tuple(metas), self._next_segment)
        seq = self._wal.last_seq if self._wal is not None else self._committed_seq
        if self._inflight:
            seq = min(self._inflight) - 1
        if seq != self._committed_seq:
            from dataclasses import replace

            m = replace(m, user_data={**m.user_data, "wal_seq": seq})
        m.write(self._dir)
        self._manifest = m
        keep = {m.name: self._readers[m.name] for m in metas if m.name in self._readers}
        lives = {m.name: self._live[m.name] for m in metas if m.name in self._live}
        self._reset_pending()
        self._readers, self._live = keep, lives
        for name in self._inflight.values():  # still being built: rollback must find their files
            self._new_files += [f"{name}.seg", f"{name}.doc", f"{name}.vec"]
        self._cleanup_unreferenced()
        if self._on_commit is not None:
            self._on_commit()

    def maybe_merge(self) -> int:
        """Run the merge policy until it finds nothing to do; returns merges done."""
        done = 0
        while True:
            merges = self._policy.find_merges(self._manifest.segments)
            if not merges:
                return done
            for names in merges:
                self._merge(names)
                done += 1

    def force_merge(self, max_segments: int = 1) -> None:
        """Merge down to at most ``max_segments`` segments (1 = optimise for search speed)."""
        self.commit(merge=False)
        while len(self._manifest.segments) > max_segments:
            segs = sorted(self._manifest.segments, key=lambda m: m.live_count)
            n = len(segs) - max_segments + 1
            self._merge([m.name for m in segs[:n]])

    def _merge(self, names: list[str]) -> None:
        order = [m for m in self._manifest.segments if m.name in names]
        readers = [self._reader(m) for m in order]
        lives = [self._live_of(m) if m.del_file else None for m in order]
        data = merge_segments(readers, lives, len(self.settings.text_fields))
        new_name = f"s{self._next_segment:06d}"
        self._next_segment += 1
        metas = [m for m in self._manifest.segments if m.name not in names]
        if data.doc_count:
            info = self._write(new_name, data)
            merged = SegmentMeta(new_name, data.doc_count, tuple(info["sum_len"]), size_bytes=info["bytes"])
            # keep doc order stable: the merged segment takes the place of the first source
            first = next(i for i, m in enumerate(self._manifest.segments) if m.name in names)
            before = [m for m in self._manifest.segments[:first] if m.name not in names]
            metas = [*before, merged, *[m for m in self._manifest.segments[first:] if m.name not in names]]
        log.info("merged %s into %s (%d docs)", names, new_name, data.doc_count)
        self._publish(metas)

    # -- background merges (live writers) ---------------------------------------------------------
    def _start_background_merge(self) -> None:
        """Start merging the policy's first pick in a thread (called with the lock held)."""
        if self._merging is not None or self._closed:
            return
        merges = self._policy.find_merges(self._manifest.segments)
        if not merges:
            return
        names = merges[0]
        order = [m for m in self._manifest.segments if m.name in names]
        readers = [self._reader(m) for m in order]
        # the merge drops the deletes committed so far; later ones are carried over when it is swapped in
        lives = [read_live_docs(self._dir, m.del_file, m.doc_count) if m.del_file else None for m in order]
        new_name = f"s{self._next_segment:06d}_{self._session}"
        self._next_segment += 1
        self._merging = (names, new_name, self._epoch)
        t = threading.Thread(target=self._merge_worker, args=(order, readers, lives, new_name),
                             name="heron-merge", daemon=True)
        self._merge_thread = t
        t.start()

    def _merge_worker(self, order: list[SegmentMeta], readers: list[SegmentReader],
                      lives: list[np.ndarray | None], new_name: str) -> None:
        try:
            data = merge_segments(readers, lives, len(self.settings.text_fields))
            info = self._write(new_name, data) if data.doc_count else None
            with self._mutex:
                self._swap_in_merge(order, lives, new_name, data.doc_count, info)
        except BaseException:
            log.exception("background merge into %s failed (the sources stay; it will be retried)", new_name)
            with self._mutex:
                self._merging = None
                self._delete_segment_files([new_name])

    def _swap_in_merge(self, order: list[SegmentMeta], lives: list[np.ndarray | None], new_name: str,
                       count: int, info: dict[str, Any] | None) -> None:
        assert self._merging is not None
        names, _, epoch = self._merging
        self._merging = None
        current = {m.name: m for m in self._manifest.segments}
        if self._closed or epoch != self._epoch or any(n not in current for n in names):
            self._delete_segment_files([new_name])
            return
        pending = {m.name: m for m in self._segments}
        committed_live = np.ones(count, dtype=np.uint8)
        pending_live = np.ones(count, dtype=np.uint8)
        base = 0
        moved: dict[str, np.ndarray] = {}  # source -> each document's slot in the merged segment
        for m, snap in zip(order, lives, strict=True):
            keep = np.ones(m.doc_count, dtype=bool) if snap is None else snap.astype(bool)
            newdoc = moved[m.name] = np.cumsum(keep) - 1 + base
            base += int(keep.sum())
            cm = current[m.name]  # deletes committed while merging
            c_live = read_live_docs(self._dir, cm.del_file, cm.doc_count) if cm.del_file else None
            if c_live is not None:
                committed_live[newdoc[keep & ~c_live.astype(bool)]] = 0
            p_live = self._live_of(pending[m.name]) if m.name in pending else c_live  # and not yet committed
            if p_live is not None:
                pending_live[newdoc[keep & ~p_live.astype(bool)]] = 0
        merged: SegmentMeta | None = None
        if info is not None and committed_live.any():
            dels = int(count - committed_live.sum())
            merged = SegmentMeta(new_name, count, tuple(info["sum_len"]), 1 if dels else 0, dels, info["bytes"])
            if dels:
                write_live_docs(self._dir, f"{new_name}.1.del", committed_live)

        def replaced(segs: Sequence[SegmentMeta]) -> list[SegmentMeta]:
            first = next(i for i, m in enumerate(segs) if m.name in names)
            rest = [m for m in segs if m.name not in names]
            before = [m for m in segs[:first] if m.name not in names]
            return [*before, *([merged] if merged else []), *rest[len(before):]]

        if merged is None:
            self._delete_segment_files([new_name])
        man = self._manifest.with_segments(tuple(replaced(self._manifest.segments)),
                                           max(self._manifest.next_segment, self._next_segment))
        man.write(self._dir)
        self._manifest = man
        self._segments = replaced(self._segments)
        for n in names:
            self._readers.pop(n, None)
            self._live.pop(n, None)
            self._dirty.discard(n)
        if merged is not None and not np.array_equal(pending_live, committed_live):
            self._live[new_name] = pending_live
            self._dirty.add(new_name)
        # journaled deletes (uncommitted: of documents live when the merge began) move with them
        for journal in (self._journal, *([self._flushing.journal] if self._flushing is not None else [])):
            journal[:] = [(n, d) if n not in moved else (new_name, int(moved[n][d]))
                          for n, d in journal if n not in moved or merged is not None]
        self._nrt = None
        self._delete_segment_files(names)  # open searchers keep their mapped copies
        log.info("merged %s into %s (%d docs) in the background", names, new_name, count)
        if self._on_commit is not None:
            self._on_commit()
        self._start_background_merge()

    def _delete_segment_files(self, names: Sequence[str]) -> None:
        prefixes = set(names)
        for f in self._dir.list():
            if f.split(".")[0] in prefixes and f.split(".")[-1] in ("seg", "doc", "del", "vec"):
                self._dir.delete(f)

    def rollback(self) -> None:
        """Discard every change since the last commit — for live writers, acknowledged ones too."""
        with self._mutex:
            self._wait_flush()
            self._flushing = None  # a flush that failed and waits for a retry: its documents go too
            self._epoch += 1  # batches still being built are discarded when they finish
            self._inflight.clear()
            self._touch.clear()
            self._build_error = None
            for f in self._new_files:
                self._dir.delete(f)
            nxt = self._next_segment
            self._reset_pending()
            self._next_segment = max(self._next_segment, nxt)  # never reuse a name a searcher may hold
            if self._wal is not None and self._wal.last_seq != self._committed_seq:
                self._wal.roll(self._committed_seq, reset=True)  # voids the logged records
                self._wal.drop_old()

    def close(self) -> None:
        """Release the index. Uncommitted writes of a live writer stay in the log (replayed by
        the next writer); a transaction's uncommitted writes are dropped."""
        if self._closed:
            return
        if self._refresher is not None:
            self._stop.set()
            if self._refresher is not threading.current_thread():
                self._refresher.join(30.0)
        if self._pool is not None:  # finish (and register) the batches being built
            self._pool.shutdown(wait=True)
            self._pool = None
        t = self._merge_thread
        if t is not None and t is not threading.current_thread():
            t.join()
        with self._mutex:
            self._wait_flush()  # a flush from another thread registers (or fails) first
            if self._closed:
                return
            self._closed = True
            try:
                if self._wal is not None:
                    self._wal.close()
            finally:
                self._lock_cm.__exit__(None, None, None)

    def _check_open(self) -> None:
        if self._closed:
            raise HeronError("this IndexWriter is closed; open a new one with index.writer()")

    def _cleanup_unreferenced(self) -> None:
        keep = self._manifest.referenced_files() | {"write.lock"}
        building = set(getattr(self, "_inflight", {}).values())
        merging = getattr(self, "_merging", None)
        if merging is not None:
            building.add(merging[1])
        flushing = getattr(self, "_flushing", None)
        if flushing is not None:
            building.add(flushing.name)
        for name in self._dir.list():
            if name not in keep and name.split(".")[-1] in ("seg", "doc", "del", "vec") and \
                    name.split(".")[0] not in building:
                self._dir.delete(name)
        remove = getattr(self._dir, "remove_stale_temporaries", None)
        if remove is not None and not building:  # a worker's temporary file is not stale
            remove()

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
            elif not self.live:
                with contextlib.suppress(Exception):
                    self.rollback()
        finally:
            self.close()


def _refresh_loop(ref: weakref.ReferenceType[IndexWriter], stop: threading.Event, interval_s: float) -> None:
    """Background near-real-time refresh + threshold commits of one live writer."""
    while not stop.wait(interval_s):
        w = ref()
        if w is None or w.closed:
            return
        try:
            w._tick()
        except Exception:  # keep refreshing; the next write or commit reports the problem
            log.exception("background refresh/commit of %s failed", w._dir.describe(""))
        del w


#: CPUs the segment-building workers may use (``None``: those of the writer's process). An
#: indexer process confined off the search CPU sets this so bulk builds still use every core.
BUILD_AFFINITY: frozenset[int] | None = None


def _exit_with_parent(parent_pid: int, cpus: frozenset[int] | None = None) -> None:
    """Initializer of segment-building workers (and start of an indexer process): exit when the
    writer's process ``parent_pid`` is gone (killed). Checks that process itself, not
    ``getppid()``: an indexer forked by the forkserver has the forkserver as its parent."""
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)

    def watch() -> None:
        while True:
            try:
                os.kill(parent_pid, 0)
            except (ProcessLookupError, PermissionError):  # gone (or the pid reused by another user)
                os._exit(0)
            time.sleep(0.1)

    threading.Thread(target=watch, name="heron-parent-watch", daemon=True).start()
