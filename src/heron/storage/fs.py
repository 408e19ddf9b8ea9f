"""Filesystem ``Directory``: mmap reads, atomic fsync+rename writes, ``fcntl`` lock."""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
from collections.abc import Iterator
from pathlib import Path

from heron.errors import LockError

_TMP_SUFFIX = ".tmp"


class _FsOutput:
    def __init__(self, directory: FsDirectory, name: str) -> None:
        self.name = name
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
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self._tmp, self._final)
        self._dir.fsync_dir()

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
        return _FsOutput(self, name)

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
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

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
