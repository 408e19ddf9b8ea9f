"""The service's open indexes, one lazily opened writer per index, and the refresh thread.

Writes go to an index's single :class:`~heron.IndexWriter`, opened on the first write and
closed at the next commit, so the write lock is held only while uncommitted writes exist
(``heron index`` can still update a served index between bursts). The refresh thread, every
``refresh_interval_s``, commits pending writes (which makes them searchable) and reloads
every index's reader (which picks up commits made by other processes). Writes are
therefore visible after at most about one interval, or at once after ``refresh_now``.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from heron.api import Index
from heron.config import IndexSettings
from heron.errors import ConfigError, IndexExistsError, IndexNotFoundError
from heron.index.writer import IndexWriter
from heron.service.config import check_index_name

log = logging.getLogger("heron.service")
T = TypeVar("T")


@dataclass(eq=False)
class IndexHandle:
    """One served index: the ``Index``, where it lives, and its writer state."""

    name: str
    index: Index
    path: str | None
    #: created through the API under ``data_dir`` (only those are deleted from disk)
    owned: bool = False
    pending: int = 0
    _writer: IndexWriter | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, fn: Callable[[IndexWriter], T]) -> T:
        """Run ``fn`` with the index's writer (opened on demand); counts as a pending change."""
        with self._lock:
            if self._writer is None:
                self._writer = self.index.writer()
            out = fn(self._writer)
            self.pending += 1
            return out

    def commit(self) -> bool:
        """Commit pending writes (making them visible) and release the writer."""
        with self._lock:
            w = self._writer
            if w is None:
                return False
            try:
                if self.pending:
                    w.commit()
            finally:
                w.close()
                self._writer = None
                self.pending = 0
            return True

    def refresh(self) -> None:
        """Commit pending writes, then reload the reader (sees other processes' commits)."""
        self.commit()
        self.index.refresh()

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self.index.close()


class IndexRegistry:
    """Name → :class:`IndexHandle`, plus creation/deletion under ``data_dir``."""

    def __init__(self, data_dir: str | None = None) -> None:
        self.data_dir = data_dir
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
            h = self._handles[name] = IndexHandle(name, index, path, owned)
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
            if sub.name in self._handles or not sub.is_dir():
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
            h = self._handles[name] = IndexHandle(name, idx, path, owned=True)
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

    def refresh_all(self, names: Iterable[str] | None = None) -> None:
        for h in [self._handles[n] for n in names] if names is not None else self.handles():
            try:
                h.refresh()
            except Exception:  # the refresh thread must survive a bad index
                log.exception("refreshing index %r failed", h.name)

    def close_all(self) -> None:
        for h in self.handles():
            try:
                h.close()
            except Exception:
                log.exception("closing index %r failed", h.name)


class RefreshThread:
    """Calls ``registry.refresh_all()`` every ``interval_s`` until stopped."""

    def __init__(self, registry: IndexRegistry, interval_s: float) -> None:
        self._registry = registry
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heron-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._registry.refresh_all()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
