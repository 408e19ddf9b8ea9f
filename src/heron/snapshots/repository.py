"""Where snapshots are stored: the ``Repository`` protocol, a local-directory implementation,
and ``open_repository(uri)`` (``/path``, ``file:///path`` or ``s3://bucket/prefix``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from heron.errors import ConfigError


class Repository(Protocol):
    """A flat key → bytes store. Keys use ``/``; ``put_file`` must be all-or-nothing."""

    def put_file(self, key: str, path: Path) -> None: ...

    def put_bytes(self, key: str, data: bytes) -> None: ...

    def get_file(self, key: str, dest: Path) -> None:
        """Download ``key`` to ``dest``; raises ``KeyError`` when it does not exist."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def delete(self, key: str) -> None: ...

    def describe(self) -> str: ...


class LocalRepository:
    """A directory (local disk, NFS mount...): files are published by rename after fsync."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ConfigError(f"invalid repository key {key!r}")
        return self.root / key

    def _publish(self, key: str, write: object) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
        try:
            with open(tmp, "wb") as out:
                assert callable(write)
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    def put_file(self, key: str, path: Path) -> None:
        def write(out: object) -> None:
            with open(path, "rb") as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)  # type: ignore[attr-defined]

        self._publish(key, write)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._publish(key, lambda out: out.write(data))

    def get_file(self, key: str, dest: Path) -> None:
        src = self._path(key)
        if not src.is_file():
            raise KeyError(key)
        with open(src, "rb") as f, open(dest, "wb") as out:
            while chunk := f.read(1 << 20):
                out.write(chunk)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*")
                      if p.is_file() and not p.name.endswith(".partial"))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def describe(self) -> str:
        return str(self.root)


def open_repository(uri: str, endpoint_url: str | None = None) -> Repository:
    """``/path`` or ``file:///path`` → :class:`LocalRepository`; ``s3://bucket/prefix`` →
    :class:`~heron.snapshots.s3.S3Repository` (credentials, region and — unless given —
    endpoint from the standard AWS chain: environment, ``~/.aws``, instance roles)."""
    if not uri:
        raise ConfigError("no snapshot repository given: use a directory, file:///path or s3://bucket/prefix")
    u = urlparse(uri)
    if u.scheme == "s3":
        if not u.netloc:
            raise ConfigError(f"snapshot repository {uri!r}: s3:// needs a bucket (s3://bucket/prefix)")
        from heron.snapshots.s3 import S3Repository

        return S3Repository(u.netloc, u.path.lstrip("/"), endpoint_url=endpoint_url)
    if u.scheme == "file":
        return LocalRepository(u.path)
    if u.scheme:
        raise ConfigError(f"snapshot repository {uri!r}: unknown scheme {u.scheme!r} (use a path, file:// or s3://)")
    return LocalRepository(uri)
