"""The service's open indexes, one lazily opened live writer per index, and the refresh thread.

Writes go to an index's single live :class:`~heron.IndexWriter` (durability ``request`` by
default: a write is answered only once it is fsync'ed in the index's write-ahead log;
concurrent requests share fsyncs). The writer is opened on the first write; its own thread
makes buffered writes searchable every ``refresh_interval_s`` (near-real-time, no commit) and
commits every ``commit_interval_s``. The service's refresh thread reloads every index's reader
(picking up commits made by other processes) and closes a writer once everything it took is
committed and no write came for ``idle_s`` (the service's ``writer_idle_s``), so the write lock
is held only while writes keep coming (``heron index`` can still update a served index between
bursts) and a steady or bursty stream does not restart the writer after every commit (an
indexer process takes ~0.2 s to start, with the writes of that time queued behind it). Over its
budget a writer refuses writes (:class:`~heron.errors.WriteRejectedError` → 429/503 with
``retry-after``).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread

from heron.api import Index
from heron.config import IndexSettings
from heron.document import Document
from heron.errors import ConfigError, HeronError, IndexExistsError, IndexNotFoundError
from heron.index.process_writer import ProcessWriter
from heron.index.writer import IndexWriter
from heron.service.aliases import ALIASES_FILE, AliasStore
from heron.service.config import check_index_name

log = logging.getLogger("heron.service")
#: hex key that the workers of one ``heron serve --workers N`` share (set by the serving parent):
#: the first worker to write starts the index's indexer process, the others attach to it
SHARE_KEY_ENV = "HERON_SERVE_WRITER_KEY"
T = TypeVar("T")
#: an index's live writer: in a child process (on-disk indexes, ``writer_process``) or in this one
LiveWriter = IndexWriter | ProcessWriter


@dataclass(eq=False)
class IndexHandle:
    """One served index: the ``Index``, where it lives, and its writer state."""

    name: str
    index: Index
    path: str | None
    #: created through the API under ``data_dir`` (only those are deleted from disk)
    owned: bool = False
    #: options of the live writer (durability, refresh/commit intervals, budgets)
    writer_options: dict[str, Any] = field(default_factory=dict)
    _writer: LiveWriter | None = None
    _inflight: int = 0
    #: writes started so far (tells the refresh thread whether one came and went meanwhile)
    _started: int = 0
    #: ``time.monotonic()`` when the last write started
    _last_write: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def pending(self) -> int:
        """Documents written since the last commit."""
        w = self._writer
        return w.pending_docs if w is not None and not w.closed else 0

    def write(self, fn: Callable[[LiveWriter], T]) -> T:
        """Run ``fn`` with the index's live writer (opened on demand). Returns after the write is
        in the log; the handle lock is not held meanwhile, so concurrent writes share fsyncs."""
        with self._lock:
            if self._writer is None or self._writer.closed:
                opts = {"durability": "request", **self.writer_options}
                opts.pop("idle_s", None)
                if opts.pop("process", False) and getattr(self.index.directory, "path", None) is not None:
                    key = os.environ.get(SHARE_KEY_ENV)  # the workers of one server share an indexer
                    self._writer = self.index.process_writer(**opts, share_key=bytes.fromhex(key) if key else None)
                else:
                    self._writer = self.index.writer(**opts)
            w = self._writer
            self._begin_write()
        try:
            return fn(w)
        finally:
            self._end_write()

    async def add_async(self, doc: Document) -> None:
        """``write(lambda w: w.add(doc))`` for the event loop: with an open indexer process the
        document goes to it from the loop's thread and the answer comes back to the loop (no
        worker thread per write); otherwise, or to open the writer first, in a worker thread.
        The event loop never waits for the handle's lock: while another thread holds it (opening
        or closing the writer, a commit), the write goes the worker-thread way too."""
        w: ProcessWriter | None = None
        if self._lock.acquire(blocking=False):
            try:
                lw = self._writer
                if isinstance(lw, ProcessWriter) and not lw.closed:
                    w = lw
                    self._begin_write()
            finally:
                self._lock.release()
        if w is None:
            await anyio.to_thread.run_sync(lambda: self.write(lambda lw: lw.add(doc)))
            return
        try:
            await w.add_async(doc)
        finally:
            if not self._end_write(blocking=False):  # a commit holds the lock (``?refresh=true``):
                with anyio.CancelScope(shield=True):  # wait in a worker thread, not in the loop
                    await anyio.to_thread.run_sync(self._end_write)

    def _begin_write(self) -> None:
        """(Handle lock held.) A write starts: in flight, counted, and the idle time restarts."""
        self._inflight += 1
        self._started += 1
        self._last_write = time.monotonic()

    def _end_write(self, blocking: bool = True) -> bool:
        """A write ends; without ``blocking``, only if the handle's lock is free (returns whether
        it ended)."""
        if not self._lock.acquire(blocking=blocking):
            return False
        try:
            self._inflight -= 1
        finally:
            self._lock.release()
        return True

    def _idle(self) -> bool:
        """No write started for ``writer_options["idle_s"]`` seconds (default 0: always)."""
        return time.monotonic() - self._last_write >= float(self.writer_options.get("idle_s", 0.0))

    def commit(self) -> bool:
        """Commit pending writes; release the writer unless a write is in flight or one started
        within the idle time (a client that refreshes after each write keeps its indexer)."""
        with self._lock:
            w = self._writer
            if w is None:
                return False
            if w.closed:
                self._writer = None
                return False
            w.wait_for_builds(60.0)  # big bulk batches still being analysed in worker processes
            w.commit()
            if not self._inflight and self._idle() and not _serves_others(w):
                w.close()
                self._writer = None
            return True

    def refresh(self, commit: bool = False) -> None:
        """Make every acknowledged write searchable (near-real-time; no commit unless
        ``commit``) and pick up other processes' commits; release a writer whose writes are all
        committed."""
        if commit:
            self.commit()
        self._release_if_done()
        self.index.refresh()

    def tick(self) -> None:
        """The refresh thread's periodic call: release a writer whose writes are all committed;
        then make writes searchable and pick up other processes' commits — unless the open live
        writer refreshes on its own schedule (publishing each snapshot itself; forcing one more
        per period would make the serving process open and install twice as many)."""
        self._release_if_done()
        w = self._writer
        if w is not None and not w.closed and w.refreshes_itself:
            return
        self.index.refresh()

    def _release_if_done(self) -> None:
        """Close the writer when everything it took is committed, no write is in flight and none
        started for ``writer_options["idle_s"]`` seconds (default 0). The writer is asked (a round
        trip to an indexer process) without holding the handle's lock, so writes keep flowing
        meanwhile; it is closed only if no write started since."""
        with self._lock:
            w = self._writer
            if w is None or w.closed or self._inflight or not self._idle():
                return
            started = self._started
        try:
            done = not w.pending_docs and w.committed and not _serves_others(w)
        except HeronError:
            if w.closed:  # closed meanwhile (a commit that released it): nothing left to do
                return
            raise
        if not done:
            return
        with self._lock:
            if self._writer is w and not self._inflight and self._started == started:
                w.close()
                self._writer = None

    def close(self) -> None:
        """Commit and release the writer, then close the index. A writer attached to another
        worker's indexer only detaches: that worker commits (everything acknowledged is in the
        shared log either way), and it may already be closing as the server stops."""
        try:
            w = self._writer
            if not (isinstance(w, ProcessWriter) and w.attached):
                self.commit()
        finally:
            try:
                with self._lock:  # the server stops: an indexer other workers attached to closes too
                    w, self._writer = self._writer, None
                if w is not None and not w.closed:
                    w.close()
            finally:
                self.index.close()


def _serves_others(w: LiveWriter) -> bool:
    """Whether ``w`` owns an indexer process that other processes (workers) are attached to:
    closing it would cut their writes off, so it stays open until they detach."""
    return isinstance(w, ProcessWriter) and not w.attached and w.others_attached > 0


class IndexRegistry:
    """Name → :class:`IndexHandle`, plus creation/deletion under ``data_dir``."""

    def __init__(self, data_dir: str | None = None, writer_options: Mapping[str, Any] | None = None) -> None:
        self.data_dir = data_dir
        self.writer_options = dict(writer_options or {})
        self.aliases = AliasStore(Path(data_dir) / ALIASES_FILE if data_dir is not None else None)
        self._handles: dict[str, IndexHandle] = {}
        self._lock = threading.Lock()

    # -- lookup -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._handles)

    def handles(self) -> list[IndexHandle]:
        return list(self._handles.values())

    def get(self, name: str | None, default: str | None = None) -> IndexHandle:
        """The handle for ``name`` (or ``default``, or the first index); 404-style error otherwise."""
        key = name or default or next(iter(self._handles), None)
        if key is not None:
            key = self.aliases.resolve(key)
        h = self._handles.get(key) if key is not None else None
        if h is None:
            if key is None:
                raise IndexNotFoundError("no index is being served; start heron serve with --index NAME=PATH")
            raise IndexNotFoundError(f"no index named {key!r}; available: {sorted(self._handles)}")
        return h

    # -- lifecycle ----------------------------------------------------------------------------
    def add(self, name: str, index: Index, path: str | None = None, owned: bool = False) -> IndexHandle:
        check_index_name(name)
        with self._lock:
            if name in self._handles:
                raise ConfigError(f"index name {name!r} is already in use")
            h = self._handles[name] = IndexHandle(name, index, path, owned, dict(self.writer_options))
        return h

    def open_all(self, specs: Mapping[str, str]) -> None:
        """Open every configured ``name → path`` (raises on the first that fails)."""
        for name, path in specs.items():
            self.add(name, Index.open(path), path)
            log.info("serving index %r from %s", name, path)

    def open_data_dir(self) -> None:
        """Serve again the indexes created earlier under ``data_dir`` (sub-folders with an index)."""
        if self.data_dir is None or not Path(self.data_dir).is_dir():
            return
        for sub in sorted(Path(self.data_dir).iterdir()):
            if sub.name in self._handles or not sub.is_dir() or sub.name.startswith("."):  # staging dirs
                continue
            try:
                idx = Index.open(sub)
            except IndexNotFoundError:
                continue
            self.add(sub.name, idx, str(sub), owned=True)
            log.info("serving index %r from data_dir %s", sub.name, sub)

    def create(self, name: str, settings: IndexSettings) -> IndexHandle:
        """Create a new on-disk index under ``data_dir``."""
        check_index_name(name)
        if self.data_dir is None:
            raise ConfigError("creating indexes needs a data directory: set data_dir in the config "
                              "(or HERON_DATA_DIR, or heron serve --data-dir)")
        with self._lock:
            if name in self._handles:
                raise IndexExistsError(f"an index named {name!r} already exists")
            path = str(Path(self.data_dir) / name)
            idx = Index.create(path, settings)
            h = self._handles[name] = IndexHandle(name, idx, path, owned=True,
                                                  writer_options=dict(self.writer_options))
        log.info("created index %r at %s", name, path)
        return h

    def drop(self, name: str) -> IndexHandle:
        """Stop serving ``name``; delete its files when it was created under ``data_dir``."""
        with self._lock:
            h = self.get(name)
            del self._handles[name]
        h.close()
        if h.owned and h.path is not None:
            shutil.rmtree(h.path, ignore_errors=True)
        return h

    def tick_all(self) -> None:
        """The refresh thread's period: aliases file, then each index's :meth:`IndexHandle.tick`."""
        try:
            self.aliases.reload()  # picks up `heron alias` edits
        except Exception:
            log.exception("reloading the aliases file failed")
        for h in self.handles():
            try:
                h.tick()
            except Exception:  # the refresh thread must survive a bad index
                log.exception("refreshing index %r failed", h.name)

    def close_all(self) -> None:
        for h in self.handles():
            try:
                h.close()
            except Exception:
                log.exception("closing index %r failed", h.name)


class RefreshThread:
    """Calls ``registry.tick_all()`` every ``interval_s`` until stopped."""

    def __init__(self, registry: IndexRegistry, interval_s: float) -> None:
        self._registry = registry
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heron-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._registry.tick_all()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
