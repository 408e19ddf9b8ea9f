"""In-memory ``Directory`` for tests and throwaway indexes."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator, MutableSequence, Sequence

from heron.errors import LockError


class _MemOutput:
    def __init__(self, directory: MemoryDirectory, name: str) -> None:
        self.name = name
        self._dir = directory
        self._buf = io.BytesIO()

    def write(self, data: bytes | memoryview) -> None:
        self._buf.write(data)

    def tell(self) -> int:
        return self._buf.tell()

    def close(self) -> None:
        self._dir.files[self.name] = self._buf.getvalue()

    def abort(self) -> None:
        self._buf = io.BytesIO()


class MemoryDirectory:
    """Files held in a dict; publishing a file is an atomic dict assignment."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self._locks: set[str] = set()
        self._mutex = threading.Lock()

    def list(self) -> list[str]:
        return sorted(self.files)

    def exists(self, name: str) -> bool:
        return name in self.files

    def size(self, name: str) -> int:
        return len(self.files[name])

    def open_input(self, name: str) -> memoryview:
        try:
            return memoryview(self.files[name])
        except KeyError:
            raise FileNotFoundError(f"memory://{name}") from None

    def create_output(self, name: str) -> _MemOutput:
        return _MemOutput(self, name)

    @contextlib.contextmanager
    def deferred_sync(self, written: MutableSequence[str]) -> Iterator[None]:
        """Nothing to defer in memory: a no-op."""
        yield

    def sync(self, names: Sequence[str]) -> None:
        """Nothing to sync in memory."""

    def write_atomic(self, name: str, data: bytes) -> None:
        self.files[name] = bytes(data)

    def delete(self, name: str) -> None:
        self.files.pop(name, None)

    @contextlib.contextmanager
    def lock(self, name: str = "write.lock") -> Iterator[None]:
        with self._mutex:
            if name in self._locks:
                raise LockError("in-memory index is locked by another writer; close it first")
            self._locks.add(name)
        try:
            yield
        finally:
            with self._mutex:
                self._locks.discard(name)

    def describe(self, name: str) -> str:
        return f"memory://{name}"
