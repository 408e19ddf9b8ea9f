"""Stored documents: JSON records in zstd-compressed blocks of ``DOCS_PER_BLOCK``.

Layout ``lines`` (written since 0.1.0's durability work): a block is its records joined by ``\n``
(compact JSON never contains a raw newline), so a read decodes one record, not the whole block.
Layout ``array`` (older files): a block is one JSON array; still readable.

Readers keep an LRU of decompressed blocks bounded in bytes (``cache_bytes``), so hot documents
cost a slice and one ``orjson.loads`` instead of a decompression.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import zstandard

from heron.errors import CorruptIndexError
from heron.storage.container import read_container, write_container
from heron.storage.directory import Directory

DOCS_PER_BLOCK = 32
KIND = "docstore"
#: default bound on one reader's cache of decompressed blocks
DEFAULT_CACHE_BYTES = 32 << 20


def _compact(record: bytes) -> bytes:
    """``record`` as one line (compact JSON has no raw newline; re-encode if a caller's has)."""
    return record if b"\n" not in record else orjson.dumps(orjson.loads(record))


def write_store(directory: Directory, name: str, records: Sequence[bytes]) -> int:
    """``records`` are JSON-encoded documents in doc-id order."""
    cctx = zstandard.ZstdCompressor(level=3)
    chunks: list[bytes] = []
    offsets = [0]
    for i in range(0, len(records), DOCS_PER_BLOCK):
        blob = b"\n".join(_compact(r) for r in records[i : i + DOCS_PER_BLOCK])
        c = cctx.compress(blob)
        chunks.append(c)
        offsets.append(offsets[-1] + len(c))
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return write_container(
        directory,
        name,
        KIND,
        {"data": data, "offsets": np.array(offsets, dtype=np.int64)},
        {"docs": len(records), "docs_per_block": DOCS_PER_BLOCK, "layout": "lines"},
    )


class StoreReader:
    """Random access to stored documents, with a byte-bounded cache of decompressed blocks."""

    def __init__(self, directory: Directory, name: str, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self._where = directory.describe(name)
        meta, arrays = read_container(directory, name, KIND)
        self.docs = int(meta["docs"])
        self._per = int(meta["docs_per_block"])
        self._lines = meta.get("layout", "array") == "lines"
        self._data = arrays["data"]
        self._off = arrays["offsets"]
        #: block -> (its records, their size in bytes)
        self._cache: OrderedDict[int, tuple[list[bytes], int]] = OrderedDict()
        self._cached_bytes = 0
        self._cache_bytes = cache_bytes
        self._lock = threading.Lock()

    def _block(self, b: int) -> list[bytes]:
        """The JSON records of block ``b``."""
        with self._lock:
            hit = self._cache.get(b)
            if hit is not None:
                self._cache.move_to_end(b)
                return hit[0]
        raw = self._data[int(self._off[b]) : int(self._off[b + 1])].tobytes()
        try:
            text = zstandard.ZstdDecompressor().decompress(raw)
            blk = text.split(b"\n") if self._lines else [orjson.dumps(r) for r in orjson.loads(text)]
        except (zstandard.ZstdError, orjson.JSONDecodeError) as e:
            raise CorruptIndexError(self._where, f"stored block {b} unreadable ({e})") from None
        with self._lock:
            if b not in self._cache:
                self._cache[b] = (blk, len(text))
                self._cached_bytes += len(text)
                while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
                    self._cached_bytes -= self._cache.popitem(last=False)[1][1]
        return blk

    def get(self, doc: int) -> dict[str, Any]:
        blk = self._block(doc // self._per)
        i = doc % self._per
        if i >= len(blk):
            raise CorruptIndexError(self._where, f"stored block {doc // self._per} lacks document {doc}")
        try:
            rec: dict[str, Any] = orjson.loads(blk[i])
        except orjson.JSONDecodeError as e:
            raise CorruptIndexError(self._where, f"stored document {doc} unreadable ({e})") from None
        return rec

    def raw_records(self) -> list[bytes]:
        """All records, encoded (used by merges)."""
        out: list[bytes] = []
        for b in range(len(self._off) - 1):
            out.extend(self._block(b))
        return out
