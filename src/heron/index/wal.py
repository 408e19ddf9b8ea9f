"""The write-ahead log: every acknowledged write is here before it is acknowledged.

One WAL per on-disk index, as files ``wal.<base>.log`` in the index directory. A file starts
with a header (written atomically: temp + fsync + rename)::

    magic b"HERONWAL" | version u32 | flags u32 | base_seq u64 | crc32 of the 24 bytes before  (28 bytes)

followed by records, each framed with its length and two checksums::

    length u32 | seq u64 | crc32(payload) u32 | crc32 of the 16 header bytes before | payload

``payload`` is the JSON list of operations of one write call (``{"op": "add", "doc": {...}}``
or ``{"op": "delete", "id": ...}``), so a bulk request is one record and replays all or nothing.
Sequence numbers increase by one; a file's first record is ``base_seq + 1``. The manifest
records ``wal_seq``, the last sequence number its segments contain; recovery replays records
after it (replay is idempotent: adds are upserts, deletes of absent ids are no-ops).

What counts as a torn tail (dropped, because a write that never completed was never
acknowledged): a record header or payload that runs past the end of the newest file, or a
zero-filled tail. Anything else — a bad checksum in a complete record, a gap in sequence
numbers, a damaged file header — raises :class:`~heron.errors.CorruptIndexError` naming the
file and offset: an acknowledged write would otherwise be silently lost.

Durability (``durability=``):

* ``"request"`` (default): ``sync(seq)`` returns only after an ``fsync`` covering ``seq``.
  Concurrent writers share fsyncs (group commit): one thread syncs, the others that appended
  before it started wait for it instead of issuing their own.
* ``"async"``: ``sync`` returns at once; a background thread fsyncs every ``sync_interval_ms``.
  A power loss (not a process crash: the data is in the OS page cache) can lose the writes of
  the last interval.

On commit the log is *rolled*: a new file whose base is the committed sequence number, then
older files are deleted. A rollback rolls to a file flagged ``RESET``: records of older
files are void (a crash between the roll and the deletion cannot resurrect them).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from heron.errors import ConfigError, CorruptIndexError, IncompatibleFormatError
from heron.storage.fs import fsync_path

Durability = Literal["request", "async"]
DURABILITY_MODES: tuple[str, ...] = ("request", "async")
WAL_MAGIC = b"HERONWAL"
WAL_VERSION = 1
FLAG_RESET = 1
_FILE_HEAD = struct.Struct("<8sIIQ")  # 24 bytes, then crc32 u32
_FILE_HEADER_SIZE = _FILE_HEAD.size + 4
_REC_HEAD = struct.Struct("<IQI")  # length, seq, payload crc: 16 bytes, then header crc u32
_REC_HEADER_SIZE = _REC_HEAD.size + 4
_NAME = re.compile(r"^wal\.(\d{16})\.log$")
MAX_RECORD_BYTES = 1 << 30


def wal_file_name(base_seq: int) -> str:
    return f"wal.{base_seq:016d}.log"


def is_wal_file(name: str) -> bool:
    return _NAME.match(name) is not None


def wal_files(path: Path) -> list[str]:
    """WAL file names in ``path``, oldest first."""
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if _NAME.match(p.name))


@dataclass(frozen=True, slots=True)
class WalRecord:
    seq: int
    ops: list[dict[str, Any]]


@dataclass(slots=True)
class WalFile:
    """One parsed WAL file."""

    name: str
    base_seq: int
    flags: int
    records: list[WalRecord]
    #: offset just past the last good record
    end: int
    size: int
    #: why the bytes after ``end`` were ignored (a torn tail), or None
    torn: str | None = None

    @property
    def last_seq(self) -> int:
        return self.records[-1].seq if self.records else self.base_seq


def encode_header(base_seq: int, flags: int = 0) -> bytes:
    head = _FILE_HEAD.pack(WAL_MAGIC, WAL_VERSION, flags, base_seq)
    return head + struct.pack("<I", zlib.crc32(head))


def encode_record(seq: int, ops: Sequence[dict[str, Any]]) -> bytes:
    payload = orjson.dumps(list(ops))
    head = _REC_HEAD.pack(len(payload), seq, zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def parse_wal_file(path: Path, name: str, *, allow_torn_tail: bool = True) -> WalFile:
    """Read and verify one WAL file (see the module docstring for torn tail vs corruption)."""
    where = str(path / name)
    try:
        data = (path / name).read_bytes()
    except FileNotFoundError:
        raise CorruptIndexError(where, "file is missing") from None
    m = _NAME.match(name)
    if m is None:
        raise CorruptIndexError(where, "not a WAL file name (expected wal.<16 digits>.log)")
    if len(data) < _FILE_HEADER_SIZE:
        raise CorruptIndexError(where, f"WAL header truncated ({len(data)} of {_FILE_HEADER_SIZE} bytes)")
    magic, version, flags, base = _FILE_HEAD.unpack_from(data, 0)
    (hcrc,) = struct.unpack_from("<I", data, _FILE_HEAD.size)
    if magic != WAL_MAGIC:
        raise CorruptIndexError(where, "not a heron WAL file (bad magic)")
    if zlib.crc32(data[: _FILE_HEAD.size]) != hcrc:
        raise CorruptIndexError(where, "WAL header checksum mismatch")
    if version != WAL_VERSION:
        raise IncompatibleFormatError(where, version, WAL_VERSION)
    if base != int(m.group(1)):
        raise CorruptIndexError(where, f"WAL header says base sequence {base}, the file name says {m.group(1)}")
    records: list[WalRecord] = []
    pos = _FILE_HEADER_SIZE
    n = len(data)
    expect = base + 1
    torn: str | None = None
    while pos < n:
        rest = data[pos:]
        if rest.count(0) == len(rest):
            torn = f"{len(rest)} zero bytes at offset {pos}"
            break
        if n - pos < _REC_HEADER_SIZE:
            torn = f"partial record header at offset {pos}"
            break
        length, seq, pcrc = _REC_HEAD.unpack_from(data, pos)
        (rhcrc,) = struct.unpack_from("<I", data, pos + _REC_HEAD.size)
        if zlib.crc32(data[pos : pos + _REC_HEAD.size]) != rhcrc:
            raise CorruptIndexError(where, f"WAL record header checksum mismatch at offset {pos}")
        if seq != expect:
            raise CorruptIndexError(where, f"WAL record at offset {pos} has sequence {seq}, expected {expect}")
        start = pos + _REC_HEADER_SIZE
        if start + length > n:
            torn = f"record {seq} at offset {pos} runs past the end of the file"
            break
        payload = data[start : start + length]
        if zlib.crc32(payload) != pcrc:
            tail = data[start:]
            # a payload whose end was never written (zero-filled) is torn; other damage is not
            if start + length == n and tail.rstrip(b"\0") != tail:
                torn = f"record {seq} at offset {pos} ends in zero bytes (torn write)"
                break
            raise CorruptIndexError(where, f"WAL record {seq} at offset {pos}: payload checksum mismatch")
        try:
            ops = orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            raise CorruptIndexError(where, f"WAL record {seq} at offset {pos} is not JSON ({e})") from None
        if not isinstance(ops, list):
            raise CorruptIndexError(where, f"WAL record {seq} at offset {pos} is not a list of operations")
        records.append(WalRecord(seq, ops))
        expect += 1
        pos = start + length
    if torn is not None and not allow_torn_tail:
        raise CorruptIndexError(where, f"damaged WAL file not at the end of the log: {torn}")
    return WalFile(name, base, flags, records, pos, n, torn)


def read_log(path: Path) -> list[WalFile]:
    """Parse every WAL file of ``path`` (oldest first); only the newest may have a torn tail.

    Files older than the newest ``RESET`` file are void (a rollback) and left out.
    """
    names = wal_files(path)
    files = [parse_wal_file(path, nm, allow_torn_tail=i == len(names) - 1) for i, nm in enumerate(names)]
    for i in range(len(files) - 1, -1, -1):
        if files[i].flags & FLAG_RESET:
            files = files[i:]
            break
    for prev, nxt in itertools.pairwise(files):
        if nxt.base_seq != prev.last_seq and not nxt.flags & FLAG_RESET:
            raise CorruptIndexError(
                str(path / nxt.name),
                f"WAL file starts after sequence {nxt.base_seq} but the previous file ends at {prev.last_seq}",
            )
    return files


def pending_records(files: Sequence[WalFile], committed_seq: int) -> Iterator[WalRecord]:
    for f in files:
        for r in f.records:
            if r.seq > committed_seq:
                yield r


def _create_file(path: Path, base_seq: int, flags: int) -> str:
    name = wal_file_name(base_seq)
    tmp = path / f"{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(encode_header(base_seq, flags))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / name)
    fsync_path(path)
    return name


class WriteAheadLog:
    """The open log of one index (owned by its single writer). Thread-safe."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        committed_seq: int,
        durability: str = "request",
        sync_interval_ms: float = 200.0,
    ) -> None:
        if durability not in DURABILITY_MODES:
            raise ConfigError(f"durability must be one of {list(DURABILITY_MODES)}, got {durability!r}")
        if not sync_interval_ms > 0:
            raise ConfigError(f"sync_interval_ms must be > 0, got {sync_interval_ms}")
        self.path = Path(path)
        self.durability = durability
        self.sync_interval_s = sync_interval_ms / 1000.0
        files = read_log(self.path)
        #: records after the last commit, to replay into the writer
        self.recovered: list[WalRecord] = list(pending_records(files, committed_seq))
        last = max([committed_seq, *(f.last_seq for f in files)])
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._fd = -1
        if files and files[-1].torn is not None:  # drop the torn tail: new records follow the last good one
            newest = files[-1]
            with open(self.path / newest.name, "r+b") as f:
                f.truncate(newest.end)
                f.flush()
                os.fsync(f.fileno())
            newest.torn = None
        if files and files[-1].last_seq == last:
            self._name = files[-1].name
        else:
            self._name = _create_file(self.path, last, 0)
        self._fd = os.open(self.path / self._name, os.O_WRONLY | os.O_APPEND)
        self._old = [f.name for f in files if f.name != self._name]
        self._seq = last  # last appended
        self._synced = last  # last known durable
        self._syncing = False
        self._closed = False
        self.bytes_since_roll = 0
        self._error: BaseException | None = None
        self._syncer: threading.Thread | None = None
        if durability == "async":
            self._stop = threading.Event()
            self._syncer = threading.Thread(target=self._sync_loop, name="heron-wal-sync", daemon=True)
            self._syncer.start()

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def current_file(self) -> str:
        return self._name

    # -- appending ------------------------------------------------------------------------------
    def append(self, ops: Sequence[dict[str, Any]]) -> int:
        """Write one record (the OS has it when this returns; durable after ``sync``)."""
        with self._lock:
            self._check()
            seq = self._seq + 1
            frame = encode_record(seq, ops)
            if len(frame) > MAX_RECORD_BYTES:
                raise ConfigError(f"one write of {len(frame):,} bytes is over the WAL record limit "
                                  f"({MAX_RECORD_BYTES:,}); split it into smaller batches")
            view = memoryview(frame)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self._seq = seq
            self.bytes_since_roll += len(frame)
            return seq

    def sync(self, seq: int) -> None:
        """Return once record ``seq`` is durable (``request``) — at once in ``async`` mode."""
        if self.durability == "async":
            return
        self._sync_to(seq)

    def _sync_to(self, seq: int) -> None:
        with self._cond:
            while self._synced < seq:
                self._check()
                if self._syncing:  # another thread's fsync may cover us: wait for it
                    self._cond.wait()
                    continue
                self._syncing = True
                target, fd = self._seq, self._fd
                self._cond.release()
                try:
                    os.fsync(fd)
                except BaseException as e:
                    self._cond.acquire()
                    self._syncing = False
                    self._error = e
                    self._cond.notify_all()
                    raise
                self._cond.acquire()
                self._syncing = False
                self._synced = max(self._synced, target)
                self._cond.notify_all()

    def _sync_loop(self) -> None:
        while not self._stop.wait(self.sync_interval_s):
            with contextlib.suppress(Exception):
                self._sync_to(self._seq)

    def _check(self) -> None:
        if self._closed:
            raise CorruptIndexError(str(self.path / self._name), "the WAL is closed")
        if self._error is not None:
            raise OSError(f"the write-ahead log {self.path / self._name} failed earlier ({self._error}); "
                          "reopen the index to recover") from self._error

    # -- commit / rollback ------------------------------------------------------------------------
    def roll(self, committed_seq: int, reset: bool = False) -> None:
        """Start a new file based at ``committed_seq``; older files are deleted by ``drop_old``.

        Called by the writer with its lock held (no appends in between) *before* it publishes
        the manifest that says ``committed_seq``: until then the old files still replay.
        """
        with self._cond:
            self._check()
            os.fsync(self._fd)
            self._synced = self._seq
            base = self._seq if reset else committed_seq
            if base != self._seq:
                raise AssertionError(f"WAL roll at {committed_seq} but the log is at {self._seq}")
            name = wal_file_name(base)
            if name == self._name and not reset:
                return
            if name == self._name:  # reset onto the same base: replace the current file
                os.close(self._fd)
                self._fd = -1
                _create_file(self.path, base, FLAG_RESET)
            else:
                _create_file(self.path, base, FLAG_RESET if reset else 0)
                os.close(self._fd)
                self._old.append(self._name)
            self._name = name
            self._fd = os.open(self.path / name, os.O_WRONLY | os.O_APPEND)
            self.bytes_since_roll = 0

    def drop_old(self) -> None:
        """Delete files superseded by the last roll (after the manifest was published)."""
        self.drop(self.take_old())

    def take_old(self) -> list[str]:
        """The files superseded by the rolls so far, to :meth:`drop` once the manifest that
        covers them is published (taken under the writer's lock, before any later roll: what
        a later roll supersedes is not covered yet)."""
        with self._lock:
            old, self._old = self._old, []
        return old

    def drop(self, old: list[str]) -> None:
        """Delete files returned by :meth:`take_old` (no lock needed: nothing else uses them)."""
        for name in old:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
        if old:
            fsync_path(self.path)

    def close(self) -> None:
        if self._syncer is not None:
            self._stop.set()
            self._syncer.join(5.0)
            self._syncer = None
        with self._cond:
            if self._closed:
                return
            self._closed = True
            if self._fd >= 0:
                with contextlib.suppress(OSError):
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
            self._cond.notify_all()
