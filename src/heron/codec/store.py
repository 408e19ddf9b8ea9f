"""Stored documents: JSON records in zstd-compressed blocks of ``DOCS_PER_BLOCK``."""

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


def write_store(directory: Directory, name: str, records: Sequence[bytes]) -> int:
    """``records`` are orjson-encoded documents in doc-id order."""
    cctx = zstandard.ZstdCompressor(level=3)
    chunks: list[bytes] = []
    offsets = [0]
    for i in range(0, len(records), DOCS_PER_BLOCK):
        blob = b"[" + b",".join(records[i : i + DOCS_PER_BLOCK]) + b"]"
        c = cctx.compress(blob)
        chunks.append(c)
        offsets.append(offsets[-1] + len(c))
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return write_container(
        directory,
        name,
        KIND,
        {"data": data, "offsets": np.array(offsets, dtype=np.int64)},
        {"docs": len(records), "docs_per_block": DOCS_PER_BLOCK},
    )


class StoreReader:
    """Random access to stored documents, with a small cache of decoded blocks."""

    def __init__(self, directory: Directory, name: str) -> None:
        self._where = directory.describe(name)
        meta, arrays = read_container(directory, name, KIND)
        self.docs = int(meta["docs"])
        self._per = int(meta["docs_per_block"])
        self._data = arrays["data"]
        self._off = arrays["offsets"]
        self._dctx = zstandard.ZstdDecompressor()
        self._cache: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def _block(self, b: int) -> list[dict[str, Any]]:
        with self._lock:
            blk = self._cache.get(b)
            if blk is not None:
                self._cache.move_to_end(b)
                return blk
        raw = self._data[int(self._off[b]) : int(self._off[b + 1])].tobytes()
        try:
            blk = list(orjson.loads(zstandard.ZstdDecompressor().decompress(raw)))
        except (zstandard.ZstdError, orjson.JSONDecodeError) as e:
            raise CorruptIndexError(self._where, f"stored block {b} unreadable ({e})") from None
        with self._lock:
            self._cache[b] = blk
            if len(self._cache) > 64:
                self._cache.popitem(last=False)
        return blk

    def get(self, doc: int) -> dict[str, Any]:
        return self._block(doc // self._per)[doc % self._per]

    def raw_records(self) -> list[bytes]:
        """All records re-encoded (used by merges)."""
        out: list[bytes] = []
        for b in range(len(self._off) - 1):
            out.extend(orjson.dumps(r) for r in self._block(b))
        return out
