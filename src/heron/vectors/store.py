"""The ``<name>.vec`` sidecar of a segment (a :mod:`heron.storage.container` file, CRC-checked).

Arrays (one row per passage, passages in document order):

* ``vec`` — float16 ``(n, dim)``, or int8 with ``scale`` (float32 per row: ``v ≈ vec * scale``)
* ``doc`` — uint32 document (segment-local) of each passage
* ``start`` / ``end`` — uint32 char span of the passage in the document's ``text``
* ``hash`` — uint64 content hash (model + embedded string) for the embedding cache
* ``ann`` — uint8, a serialised faiss HNSW index (only for segments above ``exact_below``)

The file is written with the segment (flush or merge), never modified, and deleted with it.
Vectors are memory-mapped; the HNSW graph is loaded on first dense search.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from heron.config import VectorSettings
from heron.errors import CorruptIndexError
from heron.storage.container import read_container, write_container
from heron.storage.directory import Directory

VEC_KIND = "vectors"
log = logging.getLogger("heron.vectors")


@dataclass(slots=True)
class PendingVectors:
    """What a flush still has to embed: per kept document its title and text."""

    settings: VectorSettings
    titles: list[str]
    texts: list[str]


@dataclass(slots=True)
class VectorData:
    """Embedded passages of one segment (float32, L2-normalised)."""

    vectors: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    hashes: np.ndarray
    model_id: str
    params: dict[str, Any]


def content_hash(model_id: str, text: str) -> int:
    h = hashlib.blake2b(f"{model_id}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little")


def encode(vectors: np.ndarray, dtype: str) -> dict[str, np.ndarray]:
    if dtype == "int8":
        scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0 if len(vectors) else np.zeros(0)
        q = np.clip(np.rint(vectors / scale[:, None]), -127, 127).astype(np.int8) if len(vectors) else \
            np.zeros(vectors.shape, np.int8)
        return {"vec": q, "scale": np.asarray(scale, dtype=np.float32)}
    return {"vec": vectors.astype(np.float16)}


def write_vectors(directory: Directory, name: str, data: PendingVectors | VectorData) -> int:
    """Write ``<name>.vec`` (embedding pending passages first); returns its size in bytes."""
    if isinstance(data, PendingVectors):
        from heron.vectors.embedding import embed_documents

        data = embed_documents(data, directory)
    from heron.vectors.ann import build_hnsw

    p = data.params
    arrays = encode(data.vectors, p["dtype"])
    arrays.update(doc=data.doc.astype(np.uint32), start=data.start.astype(np.uint32),
                  end=data.end.astype(np.uint32), hash=data.hashes.astype(np.uint64))
    if len(data.vectors) > int(p["exact_below"]):
        arrays["ann"] = build_hnsw(data.vectors, int(p["hnsw_m"]), int(p["ef_construction"]))
    meta = {"passages": len(data.vectors), "dim": int(data.vectors.shape[1]), "model_id": data.model_id,
            "params": p}
    return write_container(directory, f"{name}.vec", VEC_KIND, arrays, meta)


def params_of(s: VectorSettings) -> dict[str, Any]:
    return {"dtype": s.dtype, "hnsw_m": s.hnsw_m, "ef_construction": s.ef_construction,
            "exact_below": s.exact_below}


class VectorReader:
    """Read-only view of one segment's passage vectors."""

    def __init__(self, directory: Directory, name: str) -> None:
        meta, a = read_container(directory, f"{name}.vec", VEC_KIND)
        self.where = directory.describe(f"{name}.vec")
        self.n = int(meta["passages"])
        self.dim = int(meta["dim"])
        self.model_id = str(meta["model_id"])
        self.params: dict[str, Any] = dict(meta["params"])
        self._vec = a["vec"]
        self._scale = a.get("scale")
        self.doc = a["doc"]
        self.start = a["start"]
        self.end = a["end"]
        self.hashes = a["hash"]
        self._ann_bytes = a.get("ann")
        self._ann: Any = None
        self._dense: np.ndarray | None = None
        self._lock = threading.Lock()
        if self._vec.shape != (self.n, self.dim) or len(self.doc) != self.n:
            raise CorruptIndexError(self.where, "vector array shapes disagree with the header")
        # first passage row of each document (passages are in document order)
        self._doc_list: np.ndarray = np.asarray(self.doc, dtype=np.int64)

    @property
    def has_ann(self) -> bool:
        return self._ann_bytes is not None

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """float32 vectors of the given passage rows."""
        v = np.asarray(self._vec[rows], dtype=np.float32)
        if self._scale is not None:
            v *= self._scale[rows][:, None]
        return v

    def all(self) -> np.ndarray:
        """Every vector as float32 (cached for segments scored exactly)."""
        d = self._dense
        if d is None:
            d = self.rows(np.arange(self.n))
            if not self.has_ann:
                self._dense = d
        return d

    def ann(self) -> Any:
        a = self._ann
        if a is None:
            with self._lock:
                if self._ann is None:
                    from heron.vectors.ann import load_hnsw

                    assert self._ann_bytes is not None
                    self._ann = load_hnsw(self._ann_bytes)
                a = self._ann
        return a

    def passages_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first row, end row) of each document's passages."""
        lo = np.searchsorted(self._doc_list, docs, side="left")
        hi = np.searchsorted(self._doc_list, docs, side="right")
        return lo, hi

    def data(self, keep: np.ndarray | None, newdoc: np.ndarray) -> VectorData:
        """This segment's passages of kept documents, renumbered with ``newdoc`` (merges)."""
        rows = np.arange(self.n) if keep is None else np.flatnonzero(keep[self._doc_list])
        return VectorData(self.rows(rows), newdoc[self._doc_list[rows]], np.asarray(self.start[rows]),
                          np.asarray(self.end[rows]), np.asarray(self.hashes[rows]), self.model_id,
                          dict(self.params))


def open_vectors(directory: Directory, name: str) -> VectorReader | None:
    """The segment's vectors, or ``None`` when it has no ``.vec`` file."""
    if not directory.exists(f"{name}.vec"):
        return None
    return VectorReader(directory, name)


def merge_vector_data(parts: list[VectorData]) -> VectorData | None:
    if not parts:
        return None
    dim = max(p.vectors.shape[1] for p in parts)
    return VectorData(
        np.concatenate([p.vectors.reshape(-1, dim) for p in parts]),
        np.concatenate([p.doc for p in parts]),
        np.concatenate([p.start for p in parts]),
        np.concatenate([p.end for p in parts]),
        np.concatenate([p.hashes for p in parts]),
        parts[0].model_id,
        parts[0].params,
    )
