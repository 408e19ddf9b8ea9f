"""Snapshots: incremental, consistent while writes continue, checksum-verified restore — to a
local directory and to a real S3 API server (moto's standalone server on loopback)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import heron
from heron.errors import CorruptIndexError
from heron.snapshots import (
    LocalRepository,
    Repository,
    create_snapshot,
    delete_snapshot,
    list_snapshots,
    open_repository,
    restore_snapshot,
)
from heron.snapshots.snapshot import SnapshotNotFoundError


def docs(start: int, n: int, word: str = "heron") -> list[dict[str, Any]]:
    return [{"id": f"d{i}", "title": f"doc {i}", "text": f"{word} number {i} in the marsh"}
            for i in range(start, start + n)]


def result(idx: heron.Index, q: str = "marsh") -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in idx.search(q, k=1000)]


@pytest.fixture
def s3_repo(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Repository:
    import boto3

    # credentials and region from the standard AWS chain (here: the environment)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = "heron-" + re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return open_repository(f"s3://{bucket}/backups/prod", endpoint_url=s3_endpoint)


@pytest.fixture(params=["local", "s3"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Repository:
    if request.param == "local":
        return open_repository(str(tmp_path / "repo"))
    r: Repository = request.getfixturevalue("s3_repo")
    return r


def test_snapshot_restore_incremental_delete(tmp_path: Path, repo: Repository) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        w.add_many(docs(0, 100))
    s1 = create_snapshot(p, repo, "first")
    assert s1.uploaded_files == len(s1.files) and s1.doc_count == 100
    with idx.writer() as w:
        w.add_many(docs(100, 50, "egret"))
        w.delete("d3")
    s2 = create_snapshot(p, repo, "second")
    # incremental: the first segment is shared, only new files are uploaded
    assert 0 < s2.uploaded_files < len(s2.files)
    assert s2.uploaded_bytes < s2.size_bytes
    assert [s.name for s in list_snapshots(repo)] == ["first", "second"]
    r1 = restore_snapshot(repo, "first", tmp_path / "r1")
    assert r1.doc_count == 100
    old = heron.Index.open(tmp_path / "r1")
    assert old.stats().doc_count == 100 and old.get("d3") is not None and old.get("d120") is None
    restore_snapshot(repo, "second", tmp_path / "r2")
    new = heron.Index.open(tmp_path / "r2")
    assert result(new) == result(heron.Index.open(p))
    with new.writer(durability="request", refresh_interval_s=None) as w:  # a restored index takes writes
        w.add(docs(500, 1)[0])
    assert new.get("d500") is not None
    delete_snapshot(repo, "first")
    assert [s.name for s in list_snapshots(repo)] == ["second"]
    restore_snapshot(repo, "second", tmp_path / "r3")  # shared blobs survived the delete
    assert result(heron.Index.open(tmp_path / "r3")) == result(heron.Index.open(p))
    with pytest.raises(SnapshotNotFoundError):
        restore_snapshot(repo, "first", tmp_path / "r4")
    with pytest.raises(heron.IndexExistsError):
        restore_snapshot(repo, "second", tmp_path / "r3")


def test_snapshot_is_consistent_while_writes_continue(tmp_path: Path, repo: Repository) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        for b in range(12):  # many segments, so the writer below merges them away
            w.add_many(docs(b * 10, 10))
            w.commit(merge=False)
    expected = result(idx)
    w2 = idx.writer(durability="request", refresh_interval_s=None)
    stop = threading.Event()

    def write_meanwhile() -> None:  # commits + merges delete the pinned files' originals
        i = 1000
        while not stop.is_set():
            w2.add_many(docs(i, 20, "ibis"))
            w2.delete(f"d{i % 100}")
            w2.commit()
            i += 20

    t = threading.Thread(target=write_meanwhile)

    def start_writes() -> None:
        t.start()
        while len(w2._manifest.segments) > 6 and t.is_alive():  # wait until a merge happened
            time.sleep(0.001)

    info = create_snapshot(p, repo, "busy", before_upload=start_writes)
    stop.set()
    t.join()
    w2.close()
    assert info.doc_count == 120
    restore_snapshot(repo, "busy", tmp_path / "restored")
    assert result(heron.Index.open(tmp_path / "restored")) == expected


def test_interrupted_upload_leaves_no_snapshot_and_resumes(tmp_path: Path, repo: Repository,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    for b in range(3):
        with idx.writer() as w:
            w.add_many(docs(b * 30, 30))
    real = type(repo).put_file
    calls = {"n": 0}

    def flaky(self: Any, key: str, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("connection reset by peer (simulated network failure)")
        real(self, key, path)

    monkeypatch.setattr(type(repo), "put_file", flaky)
    with pytest.raises(ConnectionError):
        create_snapshot(p, repo, "nightly")
    assert list_snapshots(repo) == []  # no half snapshot is visible
    calls["n"] = 100
    info = create_snapshot(p, repo, "nightly")  # the retry uploads only what is missing
    assert info.uploaded_files == len(info.files) - 2
    restore_snapshot(repo, "nightly", tmp_path / "r")
    assert result(heron.Index.open(tmp_path / "r")) == result(idx)


def test_restore_detects_damaged_blobs(tmp_path: Path, repo: Repository) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        w.add_many(docs(0, 40))
    info = create_snapshot(p, repo, "s")
    seg = next(f for f in info.files if f[0].endswith(".seg"))
    data = bytearray(repo.get_bytes(f"blobs/{seg[1]}"))
    data[len(data) // 2] ^= 0x01
    repo.put_bytes(f"blobs/{seg[1]}", bytes(data))
    with pytest.raises(CorruptIndexError) as e:
        restore_snapshot(repo, "s", tmp_path / "r")
    assert seg[1] in str(e.value) and "sha256" in str(e.value)
    assert not (tmp_path / "r").exists()


def test_local_repository_uri_forms(tmp_path: Path) -> None:
    assert isinstance(open_repository(f"file://{tmp_path}"), LocalRepository)
    with pytest.raises(heron.ConfigError):
        open_repository("ftp://x/y")
    with pytest.raises(heron.ConfigError):
        open_repository("s3://")
