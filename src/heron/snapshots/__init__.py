"""Snapshots: incremental, checksum-verified backups of an index's last commit to a repository
(a local directory or S3), and restore into a new index.

Repository layout (any backend)::

    blobs/<sha256>            the bytes of one immutable index file, uploaded once and shared
                              by every snapshot that contains it (incremental)
    snapshots/<name>.json     written last: the snapshot exists only once every blob it lists
                              is stored — an interrupted upload leaves no half snapshot

See :mod:`heron.snapshots.snapshot` for create / list / restore / delete.
"""

from heron.snapshots.repository import LocalRepository, Repository, open_repository
from heron.snapshots.snapshot import (
    SnapshotInfo,
    create_snapshot,
    delete_snapshot,
    list_snapshots,
    restore_snapshot,
)

__all__ = [
    "LocalRepository",
    "Repository",
    "SnapshotInfo",
    "create_snapshot",
    "delete_snapshot",
    "list_snapshots",
    "open_repository",
    "restore_snapshot",
]
