"""Stored documents: JSON records in zstd-compressed blocks of up to ``DOCS_PER_BLOCK``.

Layout ``lines`` (written since 0.1.0's durability work): a block is its records joined by ``\n``
(compact JSON never contains a raw newline), so a read decodes one record, not the whole block.
Layout ``array`` (older files): a block is one JSON array; still readable.

Blocks hold ``DOCS_PER_BLOCK`` documents each (the last fewer), unless the file has a ``first``
array (the first document of every block, then the document count): a merge copies every block
whose documents all survive as it is, compressed — no decompression, no compression (Lucene's
stored-fields bulk merge) — so blocks of a merged store may be shorter at the seams of its
sources.

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


class StoreBuilder:
    """The blocks of a store being assembled, in document order: records to compress
    (:meth:`add_records`, ``DOCS_PER_BLOCK`` to a block) and compressed blocks of another store
    taken as they are (:meth:`add_block`)."""

    def __init__(self) -> None:
        self._cctx = zstandard.ZstdCompressor(level=3)
        self._chunks: list[bytes] = []
        self._first = [0]  # first document of each block, then the document count
        self._pending: list[bytes] = []
        #: blocks taken compressed from another store (:meth:`add_block`)
        self.copied_blocks = 0

    @property
    def docs(self) -> int:
        return self._first[-1] + len(self._pending)

    def add_records(self, records: Sequence[bytes]) -> None:
        """JSON-encoded documents, next in document order."""
        for r in records:
            self._pending.append(r)
            if len(self._pending) == DOCS_PER_BLOCK:
                self._compress_pending()

    def add_block(self, compressed: bytes, n_docs: int) -> None:
        """A block of the ``lines`` layout holding the next ``n_docs`` documents, compressed."""
        if n_docs <= 0:
            raise ValueError(f"a stored block holds at least one document, got {n_docs}")
        self._compress_pending()
        self._chunks.append(compressed)
        self._first.append(self._first[-1] + n_docs)
        self.copied_blocks += 1

    def _compress_pending(self) -> None:
        if self._pending:
            self._chunks.append(self._cctx.compress(b"\n".join(_compact(r) for r in self._pending)))
            self._first.append(self._first[-1] + len(self._pending))
            self._pending = []

    def write(self, directory: Directory, name: str) -> int:
        self._compress_pending()
        offsets = np.zeros(len(self._chunks) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in self._chunks], out=offsets[1:])
        arrays: dict[str, np.ndarray] = {"data": np.frombuffer(b"".join(self._chunks), dtype=np.uint8),
                                         "offsets": offsets}
        first = np.array(self._first, dtype=np.int64)
        if np.any(np.diff(first)[:-1] != DOCS_PER_BLOCK):  # not the fixed layout: say where blocks start
            arrays["first"] = first
        return write_container(
            directory, name, KIND, arrays,
            {"docs": self.docs, "docs_per_block": DOCS_PER_BLOCK, "layout": "lines"},
        )


def write_store(directory: Directory, name: str, records: Sequence[bytes] | StoreBuilder) -> int:
    """``records``: JSON-encoded documents in doc-id order, or a builder holding them."""
    if isinstance(records, StoreBuilder):
        return records.write(directory, name)
    b = StoreBuilder()
    b.add_records(records)
    return b.write(directory, name)


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
        n_blocks = len(self._off) - 1
        first = arrays.get("first")
        if first is None:
            first = np.minimum(np.arange(n_blocks + 1, dtype=np.int64) * self._per, self.docs)
            self._variable = False
        else:
            d = np.diff(first)
            if len(first) != n_blocks + 1 or first[0] != 0 or first[-1] != self.docs or (len(d) and d.min() <= 0):
                raise CorruptIndexError(self._where, "stored block table does not match the document count")
            self._variable = True
        #: first document of each block, then the document count
        self._first = first
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
        blk, size = self._decode(b)
        with self._lock:
            if b not in self._cache:
                self._cache[b] = (blk, size)
                self._cached_bytes += size
                while self._cached_bytes > self._cache_bytes and len(self._cache) > 1:
                    self._cached_bytes -= self._cache.popitem(last=False)[1][1]
        return blk

    def _raw(self, b: int) -> bytes:
        return self._data[int(self._off[b]) : int(self._off[b + 1])].tobytes()  # type: ignore[no-any-return]

    def _decode(self, b: int) -> tuple[list[bytes], int]:
        """Block ``b``'s records (not cached) and its decompressed size."""
        try:
            text = zstandard.ZstdDecompressor().decompress(self._raw(b))
            blk = text.split(b"\n") if self._lines else [orjson.dumps(r) for r in orjson.loads(text)]
        except (zstandard.ZstdError, orjson.JSONDecodeError) as e:
            raise CorruptIndexError(self._where, f"stored block {b} unreadable ({e})") from None
        if len(blk) != int(self._first[b + 1] - self._first[b]):
            raise CorruptIndexError(self._where, f"stored block {b} holds {len(blk)} documents, "
                                                 f"not {int(self._first[b + 1] - self._first[b])}")
        return blk, len(text)

    def get(self, doc: int) -> dict[str, Any]:
        if not 0 <= doc < self.docs:  # the segment has the document, its store does not
            raise CorruptIndexError(self._where, f"no stored document {doc} (the store holds {self.docs})")
        if self._variable:
            b = int(np.searchsorted(self._first, doc, side="right")) - 1
            i = doc - int(self._first[b])
        else:
            b, i = divmod(doc, self._per)
        blk = self._block(b)
        try:
            rec: dict[str, Any] = orjson.loads(blk[i])
        except orjson.JSONDecodeError as e:
            raise CorruptIndexError(self._where, f"stored document {doc} unreadable ({e})") from None
        return rec

    def raw_records(self) -> list[bytes]:
        """All records, encoded (not cached)."""
        out: list[bytes] = []
        for b in range(len(self._off) - 1):
            out.extend(self._decode(b)[0])
        return out

    def copy_live(self, out: StoreBuilder, keep: np.ndarray) -> None:
        """Append the records whose ``keep`` (bool per document) is set to ``out``, in order: a
        block whose documents are all kept goes over compressed, as it is; the kept records of
        the others are decoded (not through the cache) and blocked anew."""
        if len(keep) != self.docs:
            raise ValueError(f"keep has {len(keep)} entries for a store of {self.docs} documents")
        first = self._first.tolist()
        for b in range(len(first) - 1):
            k = keep[first[b] : first[b + 1]]
            if self._lines and k.all():
                out.add_block(self._raw(b), len(k))
            elif k.any():
                recs = self._decode(b)[0]
                out.add_records([recs[i] for i in np.flatnonzero(k).tolist()])
