"""Corruption: 200 trials of flipped bytes / truncations across every file type of a committed
index — each detected at open or first read with ``CorruptIndexError`` naming the file, none
returning results — plus ``heron check``, and disk-full / permission errors during commit."""

from __future__ import annotations

import errno
import os
import random
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import heron
from heron.cli.main import cli
from heron.config import VectorSettings
from heron.embed import register_embedder
from heron.embed.hashing import HashEmbedder
from heron.errors import CorruptIndexError, StorageError
from heron.index.check import check_index
from heron.index.manifest import MANIFEST, Manifest
from heron.index.wal import is_wal_file
from heron.storage import fs
from heron.storage.fs import FsDirectory

QUERIES = ["heron", "reef wading", "bird number 7", "stork"]


register_embedder("test-hash-corruption", HashEmbedder())


def build(p: Path) -> heron.Index:
    """A committed index with several segments, stored documents, deletes, vectors and a log."""
    idx = heron.Index.create(p, heron.IndexSettings(filter_fields=(heron.FilterField("topic"),),
                                                    vectors=VectorSettings(model="test-hash-corruption")))
    rng = random.Random(5)
    words = ["heron", "egret", "stork", "reef", "wading", "bird", "migrates", "coast", "marsh"]
    for batch in range(3):
        with idx.writer(durability="request", refresh_interval_s=None) as w:
            w.add_many([{"id": f"d{batch}-{i}", "title": f"bird number {i}",
                         "text": " ".join(rng.choice(words) for _ in range(12)),
                         "metadata": {"topic": rng.choice(["a", "b"])}} for i in range(60)])
            if batch:
                for i in range(0, 60, 9):
                    w.delete(f"d{batch - 1}-{i}")
            w.commit(merge=False)
    return idx


def kinds(p: Path) -> dict[str, list[str]]:
    """Every file the committed index consists of, grouped by type (whatever types segments have)."""
    m = Manifest.read(FsDirectory(p))
    out: dict[str, list[str]] = {}
    for name in sorted(m.referenced_files() | {n for n in os.listdir(p) if is_wal_file(n)}):
        kind = "manifest" if name == MANIFEST else "wal" if is_wal_file(name) else name.rsplit(".", 1)[-1]
        out.setdefault(kind, []).append(name)
    return out


def use(p: Path) -> list[Any]:
    """Open and read everything a user could read: searches (lexical and dense) and every stored
    document."""
    idx = heron.Index.open(p)
    out: list[Any] = [[(h.id, h.score) for h in idx.search(q, k=50)] for q in QUERIES]
    out += [[(h.id, h.score) for h in idx.search(q, k=50, mode="dense")] for q in QUERIES]
    out.append([idx.get(f"d{b}-{i}") for b in range(3) for i in range(60)])
    return out


def test_200_corruptions_are_all_detected(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    build(pristine)
    files = kinds(pristine)
    assert {"manifest", "seg", "doc", "del", "vec", "wal"} <= set(files), files
    assert use(pristine)  # the undamaged index reads fine
    rng = random.Random(2026)
    types = sorted(files)
    seen: Counter[str] = Counter()
    work = tmp_path / "work"
    for trial in range(200):
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(pristine, work)
        kind = types[trial % len(types)]
        name = rng.choice(files[kind])
        data = bytearray((work / name).read_bytes())
        if rng.random() < 0.7:
            pos = rng.randrange(len(data))
            data[pos] ^= rng.randrange(1, 256)
            how = f"byte {pos} of {len(data)} flipped"
        else:
            data = data[: rng.randrange(len(data))]
            how = f"truncated to {len(data)} bytes"
        (work / name).write_bytes(bytes(data))
        with pytest.raises(CorruptIndexError) as e:
            use(work)
            pytest.fail(f"trial {trial}: {name} {how}: not detected, results returned")
        assert name in str(e.value) and e.value.path.endswith(name), (trial, name, how, str(e.value))
        report = check_index(work)  # heron check finds the same damage
        assert not report.ok and any(name in pr for pr in report.problems), (trial, name, how, report.problems)
        seen[kind] += 1
    assert sum(seen.values()) == 200 and set(seen) == set(types)


def test_heron_check_cli(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    build(p)
    r = CliRunner().invoke(cli, ["check", str(p)])
    assert r.exit_code == 0, r.output
    assert "OK:" in r.output and ".seg" in r.output and "wal." in r.output
    seg = next(n for n in os.listdir(p) if n.endswith(".seg"))
    data = bytearray((p / seg).read_bytes())
    data[len(data) // 2] ^= 0x10
    (p / seg).write_bytes(bytes(data))
    r = CliRunner().invoke(cli, ["check", str(p)])
    assert r.exit_code == 2 and "DAMAGED" in r.output and seg in r.output and "checksum" in r.output
    r = CliRunner().invoke(cli, ["check", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "no heron index" in r.output


def _fail_writes_after(monkeypatch: pytest.MonkeyPatch, budget: int, err: int) -> None:
    real = fs._FsOutput.write
    left = [budget]

    def write(self: Any, data: bytes | memoryview) -> None:
        left[0] -= len(data)
        if left[0] < 0:
            raise OSError(err, os.strerror(err), str(self._tmp))
        real(self, data)

    monkeypatch.setattr(fs._FsOutput, "write", write)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_failed_commit_keeps_previous_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    p = tmp_path / "idx"
    idx = build(p)
    before = use(p)
    gen = Manifest.read(FsDirectory(p)).generation
    w = idx.writer(durability="request", refresh_interval_s=None)
    w.add_many([{"id": f"n{i}", "text": f"stork marsh new {i}"} for i in range(100)])
    w.delete("d2-1")
    _fail_writes_after(monkeypatch, 2000, err)
    with pytest.raises(StorageError) as e:
        w.commit()
    msg = str(e.value)
    assert "previous commit" in msg and f"generation {gen}" in msg and os.strerror(err) in msg
    monkeypatch.undo()
    w.close()
    assert not any(n.endswith(".tmp") for n in os.listdir(p))
    assert Manifest.read(FsDirectory(p)).generation == gen  # the previous commit is what is on disk
    # nothing acknowledged is lost: reopening replays the log
    again = heron.Index.open(p)
    assert again.get("n99") is not None and again.get("d2-1") is None
    assert check_index(p).ok
    assert before[0]  # the old state was readable all along


def test_disk_full_on_a_real_tiny_filesystem(tmp_path: Path) -> None:
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()}); the failing-write test covers it")
    try:
        p = mnt / "idx"
        idx = heron.Index.create(p)
        with idx.writer() as w:
            w.add_many([{"id": f"a{i}", "text": f"heron {i}"} for i in range(20)])
        gen = Manifest.read(FsDirectory(p)).generation
        rng = random.Random(1)
        big = [{"id": f"b{i}", "text": " ".join(f"w{rng.randrange(10**9)}" for _ in range(300))}
               for i in range(400)]
        with pytest.raises(StorageError, match="No space left on device"), idx.writer() as w:
            w.add_many(big)
        assert Manifest.read(FsDirectory(p)).generation == gen
        again = heron.Index.open(p)
        assert again.stats().doc_count == 20 and {h.id for h in again.search("heron", k=50)} == {
            f"a{i}" for i in range(20)}
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)  # lazy: mapped files may still be open
