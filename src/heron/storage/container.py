"""The container format shared by every heron index file.

Layout (little endian)::

    magic  b"HERONIDX"            8 bytes
    format version                u32
    header length H               u32
    header                        H bytes of JSON: {"kind", "meta", "arrays": {name: [dtype, shape, offset]}}
    padding to 64                 array data follows, each array 64-byte aligned
    ...arrays...
    crc32 of everything above     u32
    magic  b"HERONEND"            8 bytes

Readers verify magic, version, length and CRC before any array is used, so a damaged
file raises :class:`~heron.errors.CorruptIndexError` naming the file instead of giving
wrong results. Arrays are returned as zero-copy numpy views of the (mmap'd) buffer.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from heron.errors import CorruptIndexError, IncompatibleFormatError
from heron.storage.directory import Directory

MAGIC = b"HERONIDX"
END_MAGIC = b"HERONEND"
FORMAT_VERSION = 1
_ALIGN = 64
_FOOTER = struct.Struct("<I8s")


def write_container(
    directory: Directory,
    name: str,
    kind: str,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any] | None = None,
) -> int:
    """Write ``arrays`` (C-contiguous) and ``meta`` atomically as file ``name``; returns its size."""
    layout: dict[str, list[Any]] = {}
    offset = 0
    prepared: list[np.ndarray] = []
    for key, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        offset = _align(offset)
        layout[key] = [a.dtype.str, list(a.shape), offset]
        offset += a.nbytes
        prepared.append(a)
    header = orjson.dumps({"kind": kind, "meta": dict(meta or {}), "arrays": layout})
    prefix = MAGIC + struct.pack("<II", FORMAT_VERSION, len(header)) + header
    data_start = _align(len(prefix))
    out = directory.create_output(name)
    try:
        crc = 0
        pos = 0

        def emit(b: bytes | memoryview) -> None:
            nonlocal crc, pos
            crc = zlib.crc32(b, crc)
            out.write(b)
            pos += len(b)

        emit(prefix + b"\0" * (data_start - len(prefix)))
        for (_key, (_dt, _shape, off)), a in zip(layout.items(), prepared, strict=True):
            want = data_start + off
            if want > pos:
                emit(b"\0" * (want - pos))
            if a.nbytes:
                emit(memoryview(a.reshape(-1).view(np.uint8)))  # type: ignore[arg-type]
        out.write(_FOOTER.pack(crc, END_MAGIC))
        size = pos + _FOOTER.size
    except BaseException:
        out.abort()
        raise
    out.close()
    return size


def verify_container(directory: Directory, name: str) -> str:
    """Verify any container file (magic, version, lengths, checksum, header); returns its kind."""
    return _read(directory, name, None, True)[0]


def read_container(
    directory: Directory, name: str, kind: str, verify: bool = True
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Open ``name``, check it is a ``kind`` file, verify its checksum, return (meta, arrays)."""
    _, meta, arrays = _read(directory, name, kind, verify)
    return meta, arrays


def _read(
    directory: Directory, name: str, kind: str | None, verify: bool
) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:
    """(kind, meta, arrays) of ``name``; ``kind=None`` accepts any kind."""
    where = directory.describe(name)
    try:
        buf = directory.open_input(name)
    except FileNotFoundError:
        raise CorruptIndexError(where, "file is missing") from None
    n = len(buf)
    if n < len(MAGIC) + 8 + _FOOTER.size or bytes(buf[:8]) != MAGIC:
        raise CorruptIndexError(where, "not a heron index file (bad magic or truncated)")
    version, hlen = struct.unpack_from("<II", buf, 8)
    crc_stored, end = _FOOTER.unpack_from(buf, n - _FOOTER.size)
    if end != END_MAGIC:
        raise CorruptIndexError(where, "missing end marker (file truncated?)")
    # the checksum first: a damaged version number is damage, not a newer format
    if verify and zlib.crc32(buf[: n - _FOOTER.size]) != crc_stored:
        raise CorruptIndexError(where, "checksum mismatch")
    if version != FORMAT_VERSION:
        raise IncompatibleFormatError(where, version, FORMAT_VERSION)
    if 16 + hlen > n - _FOOTER.size:
        raise CorruptIndexError(where, "header length exceeds file size")
    try:
        header = orjson.loads(bytes(buf[16 : 16 + hlen]))
    except orjson.JSONDecodeError as e:
        raise CorruptIndexError(where, f"unreadable header ({e})") from None
    found = header.get("kind") if isinstance(header, dict) else None
    if not isinstance(found, str):
        raise CorruptIndexError(where, "unreadable header")
    if kind is not None and found != kind:
        raise CorruptIndexError(where, f"expected a {kind!r} file, found {found!r}")
    data_start = _align(16 + hlen)
    arrays: dict[str, np.ndarray] = {}
    for key, (dt, shape, off) in header["arrays"].items():
        dtype = np.dtype(dt)
        count = math.prod(shape)
        start = data_start + off
        if start + count * dtype.itemsize > n - _FOOTER.size:
            raise CorruptIndexError(where, f"array {key!r} runs past the end of the file")
        arrays[key] = np.frombuffer(buf, dtype=dtype, count=count, offset=start).reshape(shape)
    return found, dict(header["meta"]), arrays


def _align(x: int) -> int:
    return (x + _ALIGN - 1) // _ALIGN * _ALIGN
