"""Create, list, restore and delete snapshots of an index's last commit.

*Consistent while writes continue*: the manifest is read once and every file it references is
hard-linked into a private staging directory next to the index before anything is uploaded
(segment, stored-document and deletes files are immutable and never reused under the same
name, so a link pins exactly the committed bytes even if a merge deletes the original a moment
later). If a file vanished between reading the manifest and linking it, the newer manifest is
taken instead. Where hard links are impossible the files are copied from open descriptors.

*Incremental*: each file is stored once as ``blobs/<sha256>``; a later snapshot uploads only
files the repository does not hold yet.

*Checksum-verified*: every file's container checksum is verified before upload (a damaged index
is never backed up), its SHA-256 and size are recorded, and restore checks both for every
downloaded file, then runs the full ``heron check`` on the restored index before it is moved
into place. The snapshot record itself carries the SHA-256 of its body.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from heron.errors import ConfigError, CorruptIndexError, IndexExistsError, IndexNotFoundError
from heron.index.manifest import MANIFEST, Manifest
from heron.snapshots.repository import Repository
from heron.storage.container import verify_container
from heron.storage.fs import FsDirectory

SNAPSHOT_FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class SnapshotNotFoundError(IndexNotFoundError):
    """No snapshot of that name in the repository."""


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """One snapshot: what it holds and, for a fresh one, what its upload cost."""

    name: str
    created: str
    generation: int
    doc_count: int
    files: tuple[tuple[str, str, int], ...]  # (file name, sha256, bytes)
    uploaded_files: int = 0
    uploaded_bytes: int = 0

    @property
    def size_bytes(self) -> int:
        return sum(f[2] for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "created": self.created, "generation": self.generation,
                "doc_count": self.doc_count, "files": len(self.files), "size_bytes": self.size_bytes,
                "uploaded_files": self.uploaded_files, "uploaded_bytes": self.uploaded_bytes}


def _record_key(name: str) -> str:
    return f"snapshots/{name}.json"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"invalid snapshot name {name!r}: use 1-128 letters, digits, '_', '-' or '.', "
                          "starting with a letter or digit")
    return name


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _pin(index: Path) -> tuple[Path, bytes, Manifest]:
    """Hard-link (or copy) the files of the current commit into a staging directory."""
    d = FsDirectory(index)
    for _attempt in range(20):
        manifest = Manifest.read(d)
        raw = manifest.to_bytes()
        staging = index.parent / f".{index.name}.snapshot-{os.getpid()}-{time.time_ns()}"
        staging.mkdir()
        try:
            for name in sorted(manifest.referenced_files() - {MANIFEST}):
                try:
                    os.link(index / name, staging / name)
                except FileNotFoundError:
                    raise
                except OSError as e:
                    if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    with open(index / name, "rb") as src, open(staging / name, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        except FileNotFoundError:  # a commit/merge replaced the manifest meanwhile: take the new one
            shutil.rmtree(staging, ignore_errors=True)
            continue
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return staging, raw, manifest
    raise CorruptIndexError(str(index / MANIFEST), "the index changed 20 times while a snapshot was pinning it")


def _encode_record(body: dict[str, Any]) -> bytes:
    canon = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return orjson.dumps({"format": SNAPSHOT_FORMAT, "sha256": hashlib.sha256(canon).hexdigest(), "body": body},
                        option=orjson.OPT_SORT_KEYS)


def _read_record(repo: Repository, name: str) -> dict[str, Any]:
    where = f"{repo.describe()}/{_record_key(name)}"
    try:
        raw = repo.get_bytes(_record_key(name))
    except KeyError:
        raise SnapshotNotFoundError(f"no snapshot {name!r} in repository {repo.describe()!r}") from None
    try:
        doc = orjson.loads(raw)
        body = doc["body"]
        digest = doc["sha256"]
        fmt = int(doc["format"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise CorruptIndexError(where, f"unreadable snapshot record ({e})") from None
    if fmt != SNAPSHOT_FORMAT:
        raise CorruptIndexError(where, f"snapshot format {fmt}, this heron reads {SNAPSHOT_FORMAT}")
    if hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest() != digest:
        raise CorruptIndexError(where, "snapshot record checksum mismatch")
    return dict(body)


def _info(body: dict[str, Any], uploaded_files: int = 0, uploaded_bytes: int = 0) -> SnapshotInfo:
    return SnapshotInfo(
        name=body["name"], created=body["created"], generation=int(body["generation"]),
        doc_count=int(body["doc_count"]),
        files=tuple((f["name"], f["sha256"], int(f["size"])) for f in body["files"]),
        uploaded_files=uploaded_files, uploaded_bytes=uploaded_bytes,
    )


def create_snapshot(
    index_path: str | os.PathLike[str],
    repo: Repository,
    name: str | None = None,
    *,
    before_upload: Callable[[], None] | None = None,
) -> SnapshotInfo:
    """Snapshot the last commit of the index at ``index_path`` into ``repo`` (incremental).

    ``before_upload`` runs once the files are pinned (tests use it to write meanwhile).
    """
    index = Path(index_path)
    if not (index / MANIFEST).is_file():
        raise IndexNotFoundError(f"no heron index at {str(index)!r}")
    created = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    name = _check_name(name or "snap-" + created.replace(":", "").replace("-", "").replace(".", "-"))
    if repo.exists(_record_key(name)):
        raise IndexExistsError(f"snapshot {name!r} already exists in {repo.describe()!r}; choose another name "
                               "or delete it first")
    staging, raw_manifest, manifest = _pin(index)
    try:
        if before_upload is not None:
            before_upload()
        sd = FsDirectory(staging)
        files = []
        up_files = up_bytes = 0
        for fname in sorted(os.listdir(staging)):
            verify_container(sd, fname)  # never back up a damaged file
            sha, size = _sha256(staging / fname)
            files.append({"name": fname, "sha256": sha, "size": size})
            if not repo.exists(f"blobs/{sha}"):
                repo.put_file(f"blobs/{sha}", staging / fname)
                up_files += 1
                up_bytes += size
        body = {
            "name": name, "created": created, "generation": manifest.generation, "doc_count": manifest.doc_count,
            "manifest": raw_manifest.decode("utf-8"),
            "manifest_sha256": hashlib.sha256(raw_manifest).hexdigest(), "files": files,
        }
        repo.put_bytes(_record_key(name), _encode_record(body))  # the snapshot exists from here on
        for f in files:  # a concurrent delete's garbage collection may have raced us: re-upload
            if not repo.exists(f"blobs/{f['sha256']}"):
                repo.put_file(f"blobs/{f['sha256']}", staging / str(f["name"]))
        return _info(body, up_files, up_bytes)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def list_snapshots(repo: Repository) -> list[SnapshotInfo]:
    """Every complete snapshot in ``repo``, oldest first."""
    out = []
    for key in repo.list("snapshots/"):
        if key.startswith("snapshots/") and key.endswith(".json"):
            out.append(_info(_read_record(repo, key[len("snapshots/"):-len(".json")])))
    return sorted(out, key=lambda s: (s.created, s.name))


def restore_snapshot(repo: Repository, name: str, target: str | os.PathLike[str]) -> SnapshotInfo:
    """Restore snapshot ``name`` into a new index at ``target`` (missing or empty directory).

    Every file is verified (size, SHA-256, container checksum) and the whole index is checked
    before it appears at ``target``; on any mismatch nothing is left at ``target``.
    """
    from heron.index.check import check_index

    body = _read_record(repo, _check_name(name))
    dest = Path(target)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise IndexExistsError(f"cannot restore into {str(dest)!r}: it exists and is not an empty directory")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.restore-{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        sd = FsDirectory(staging)
        for f in body["files"]:
            blob = f"blobs/{f['sha256']}"
            where = f"{repo.describe()}/{blob} ({f['name']})"
            try:
                repo.get_file(blob, staging / f["name"])
            except KeyError:
                raise CorruptIndexError(where, "file of the snapshot is missing from the repository") from None
            sha, size = _sha256(staging / f["name"])
            if size != int(f["size"]) or sha != f["sha256"]:
                raise CorruptIndexError(where, f"downloaded {size} bytes with sha256 {sha[:16]}..., the snapshot "
                                               f"recorded {f['size']} bytes, {str(f['sha256'])[:16]}...")
            verify_container(sd, f["name"])
        raw = str(body["manifest"]).encode("utf-8")
        if hashlib.sha256(raw).hexdigest() != body["manifest_sha256"]:
            raise CorruptIndexError(f"{repo.describe()}/{_record_key(name)}", "manifest checksum mismatch")
        sd.write_atomic(MANIFEST, raw)
        report = check_index(staging)
        if not report.ok:
            raise CorruptIndexError(str(staging), "restored index fails its check: " + "; ".join(report.problems))
        if dest.exists():
            dest.rmdir()
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _info(body)


def delete_snapshot(repo: Repository, name: str) -> int:
    """Delete snapshot ``name`` and every blob no other snapshot uses; returns blobs deleted."""
    _read_record(repo, _check_name(name))
    repo.delete(_record_key(name))
    keep = {f[1] for s in list_snapshots(repo) for f in s.files}
    deleted = 0
    for key in repo.list("blobs/"):
        if key.startswith("blobs/") and key[len("blobs/"):] not in keep:
            with contextlib.suppress(KeyError):
                repo.delete(key)
            deleted += 1
    return deleted
