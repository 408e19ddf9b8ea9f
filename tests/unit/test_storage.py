"""Container format: round trips, and every kind of damage raises CorruptIndexError naming the file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from heron.errors import CorruptIndexError, IncompatibleFormatError, LockError
from heron.storage import FsDirectory, MemoryDirectory
from heron.storage.container import read_container, write_container


@pytest.fixture(params=["memory", "fs"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryDirectory | FsDirectory:
    return MemoryDirectory() if request.param == "memory" else FsDirectory(tmp_path / "d", create=True)


def test_round_trip(directory: MemoryDirectory | FsDirectory) -> None:
    arrays = {
        "a": np.arange(10, dtype=np.uint32),
        "b": np.array([[1.5, 2.5], [3.5, 4.5]]),
        "empty": np.zeros(0, dtype=np.int64),
        "bytes": np.frombuffer(b"hello", dtype=np.uint8),
    }
    write_container(directory, "x.seg", "segment", arrays, {"k": 1})
    meta, got = read_container(directory, "x.seg", "segment")
    assert meta == {"k": 1}
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)


def _corrupt(directory: MemoryDirectory | FsDirectory, name: str, pos: int, truncate: bool = False) -> None:
    data = bytearray(bytes(directory.open_input(name)))
    if truncate:
        data = data[:pos]
    else:
        data[pos] ^= 0xFF
    directory.write_atomic(name, bytes(data))


@pytest.mark.parametrize("where", ["magic", "header", "data", "footer", "truncated"])
def test_damage_is_detected(directory: MemoryDirectory | FsDirectory, where: str) -> None:
    write_container(directory, "x.seg", "segment", {"a": np.arange(1000, dtype=np.uint32)})
    size = directory.size("x.seg")
    pos = {"magic": 0, "header": 20, "data": size // 2, "footer": size - 3, "truncated": size - 100}[where]
    _corrupt(directory, "x.seg", pos, truncate=where == "truncated")
    with pytest.raises(CorruptIndexError) as e:
        read_container(directory, "x.seg", "segment")
    assert "x.seg" in str(e.value) and e.value.path.endswith("x.seg")


def test_wrong_kind_and_missing_file(directory: MemoryDirectory | FsDirectory) -> None:
    write_container(directory, "x.doc", "docstore", {"a": np.zeros(3)})
    with pytest.raises(CorruptIndexError, match="expected a 'segment' file"):
        read_container(directory, "x.doc", "segment")
    with pytest.raises(CorruptIndexError, match="missing"):
        read_container(directory, "nope.seg", "segment")


def test_future_format_version_is_refused(directory: MemoryDirectory | FsDirectory) -> None:
    write_container(directory, "x.seg", "segment", {"a": np.zeros(3)})
    data = bytearray(bytes(directory.open_input("x.seg")))
    data[8] = 99
    # a file a newer heron wrote has a valid checksum (a flipped version byte alone is damage)
    struct.pack_into("<I", data, len(data) - 12, zlib.crc32(bytes(data[:-12])))
    directory.write_atomic("x.seg", bytes(data))
    with pytest.raises(IncompatibleFormatError, match="format version 99"):
        read_container(directory, "x.seg", "segment")
    data[8] = 98
    directory.write_atomic("x.seg", bytes(data))
    with pytest.raises(CorruptIndexError, match="checksum"):
        read_container(directory, "x.seg", "segment")


def test_lock_is_exclusive(directory: MemoryDirectory | FsDirectory) -> None:
    with directory.lock(), pytest.raises(LockError), directory.lock():
        pass
    with directory.lock():  # released again
        pass


def test_failed_write_leaves_previous_file(tmp_path: Path) -> None:
    d = FsDirectory(tmp_path, create=True)
    d.write_atomic("manifest.json", b"old")
    out = d.create_output("manifest.json")
    out.write(b"partial new content")
    out.abort()  # as if the process died before close(): the rename never happened
    assert bytes(d.open_input("manifest.json")) == b"old"
    assert d.list() == ["manifest.json"]


def test_deferred_sync_skips_fsyncs_of_this_threads_writes_until_sync(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading

    d = FsDirectory(tmp_path, create=True)
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    written: list[str] = []
    with d.deferred_sync(written):
        d.write_atomic("a.seg", b"aaa")
        other = threading.Thread(target=d.write_atomic, args=("b.seg", b"bbb"))  # another thread: synced
        other.start()
        other.join()
    assert written == ["a.seg"]
    assert len(synced) == 2  # b.seg and the directory, nothing for a.seg
    d.write_atomic("c.seg", b"ccc")  # after the block: synced again
    assert written == ["a.seg"] and len(synced) == 4
    assert bytes(d.open_input("a.seg")) == b"aaa" and d.list() == ["a.seg", "b.seg", "c.seg"]
    d.delete("c.seg")
    d.sync(["a.seg", "c.seg"])  # a file deleted since is skipped; then the directory
    assert len(synced) == 6
    import pickle

    with d.deferred_sync(written):  # a pickled copy (sent to another process) is a plain directory
        copy = pickle.loads(pickle.dumps(d))
    copy.write_atomic("d.seg", b"ddd")
    assert written == ["a.seg"] and len(synced) == 8 and copy.list() == ["a.seg", "b.seg", "d.seg"]
