"""Filesystem ``Directory``: mmap reads, atomic fsync+rename writes, ``fcntl`` lock.

Inside :meth:`FsDirectory.deferred_sync` a thread's writes skip the fsyncs (still written to a
temporary name and renamed into place) and :meth:`FsDirectory.sync` makes them durable later —
Lucene's split between flushing a segment (searchable, not yet durable) and committing it."""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import threading
from collections.abc import Iterator, MutableSequence, Sequence
from pathlib import Path

from heron.errors import LockError

_TMP_SUFFIX = ".tmp"


def fsync_path(path: Path) -> None:
    """fsync a file or directory by its path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FsOutput:
    def __init__(self, directory: FsDirectory, name: str, unsynced: MutableSequence[str] | None = None) -> None:
        self.name = name
        self._unsynced = unsynced  # not None: no fsync here; the name is appended for a later sync
        self._dir = directory
        self._final = directory.path / name
        self._tmp = directory.path / f"{name}.{os.getpid()}{_TMP_SUFFIX}"
        self._f = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._pos = 0

    def write(self, data: bytes | memoryview) -> None:
        self._f.write(data)
        self._pos += len(data)

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._f.flush()
        if self._unsynced is None:
            os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self._tmp, self._final)
        if self._unsynced is None:
            self._dir.fsync_dir()
        else:
            self._unsynced.append(self.name)

    def abort(self) -> None:
        self._f.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


class FsDirectory:
    """A directory on the local filesystem."""

    def __init__(self, path: str | os.PathLike[str], create: bool = False) -> None:
        self.path = Path(path)
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        self._maps: dict[str, tuple[mmap.mmap, int]] = {}
        self._local = threading.local()  # per thread: the list of deferred_sync, if inside one

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        del state["_local"]  # a thread's deferred_sync does not travel with a pickled copy
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def list(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_file() and not p.name.endswith(_TMP_SUFFIX))

    def exists(self, name: str) -> bool:
        return (self.path / name).is_file()

    def size(self, name: str) -> int:
        return (self.path / name).stat().st_size

    def open_input(self, name: str) -> memoryview:
        p = self.path / name
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                return memoryview(b"")
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return memoryview(m)

    def create_output(self, name: str) -> _FsOutput:
        return _FsOutput(self, name, getattr(self._local, "unsynced", None))

    @contextlib.contextmanager
    def deferred_sync(self, written: MutableSequence[str]) -> Iterator[None]:
        """Files this thread writes inside the block are renamed into place without an fsync of
        the file or the directory; their names are appended to ``written``. Only for files that
        nothing durable refers to until :meth:`sync` has been called on them (a writer's
        uncommitted segments: a commit syncs them before writing the manifest)."""
        prev = getattr(self._local, "unsynced", None)
        self._local.unsynced = written
        try:
            yield
        finally:
            self._local.unsynced = prev

    def sync(self, names: Sequence[str]) -> None:
        """Make files written under :meth:`deferred_sync` durable: fsync each (one since deleted
        is skipped), then the directory (their renames)."""
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                fsync_path(self.path / name)
        self.fsync_dir()

    def write_atomic(self, name: str, data: bytes) -> None:
        out = self.create_output(name)
        try:
            out.write(data)
        except BaseException:
            out.abort()
            raise
        out.close()

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / name).unlink()

    def remove_stale_temporaries(self) -> None:
        """Remove temporary files left by a writer that crashed mid-write."""
        if self.path.is_dir():
            for p in self.path.iterdir():
                if p.name.endswith(_TMP_SUFFIX):
                    with contextlib.suppress(FileNotFoundError):
                        p.unlink()

    def fsync_dir(self) -> None:
        fsync_path(self.path)

    @contextlib.contextmanager
    def lock(self, name: str = "write.lock") -> Iterator[None]:
        p = self.path / name
        fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockError(
                f"index {str(self.path)!r} is locked by another writer ({p}); "
                "close the other writer (only one writer per index) and retry"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def describe(self, name: str) -> str:
        return str(self.path / name)
