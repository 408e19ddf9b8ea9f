"""The ``Directory`` protocol: the only way heron touches stored bytes.

A directory holds flat named files. Writes go through ``create_output`` and become
visible atomically when the output is closed (write to a temporary name, fsync, rename,
fsync the directory on a filesystem; inside ``deferred_sync`` without the fsyncs, until
``sync``). Readers get a read-only buffer (an mmap on a filesystem) that numpy can view
without copying.
"""

from __future__ import annotations

from collections.abc import MutableSequence, Sequence
from contextlib import AbstractContextManager
from typing import Protocol


class OutputFile(Protocol):
    """A file being written; ``close()`` publishes it atomically under its final name."""

    name: str

    def write(self, data: bytes | memoryview) -> None: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Directory(Protocol):
    """Flat namespace of immutable files plus one writer lock."""

    def list(self) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int: ...

    def open_input(self, name: str) -> memoryview:
        """Read-only view of the whole file (mmap on disk). Raises FileNotFoundError."""
        ...

    def create_output(self, name: str) -> OutputFile: ...

    def deferred_sync(self, written: MutableSequence[str]) -> AbstractContextManager[None]:
        """Files this thread writes inside the block may skip being made durable (their names
        are appended to ``written``) until :meth:`sync`."""
        ...

    def sync(self, names: Sequence[str]) -> None:
        """Make files written under :meth:`deferred_sync` durable."""
        ...

    def write_atomic(self, name: str, data: bytes) -> None: ...

    def delete(self, name: str) -> None: ...

    def lock(self, name: str = "write.lock") -> AbstractContextManager[None]:
        """Exclusive, non-blocking lock; raises ``heron.errors.LockError`` if held."""
        ...

    def describe(self, name: str) -> str:
        """Human-readable location of a file, for error messages."""
        ...
