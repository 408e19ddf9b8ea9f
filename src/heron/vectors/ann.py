"""Approximate nearest neighbours per segment: faiss HNSW over inner product.

Chosen by measurement on 107k enwiki passage vectors (see README "Hybrid retrieval"): faiss
(Meta, actively maintained) reaches the recall target at the highest QPS among faiss / usearch /
hnswlib here, serialises to bytes (stored inside the ``.vec`` container) and supports filtered
traversal with an ``IDSelectorBitmap``. Small segments and small filtered sets are scored exactly
(numpy), which is both exact and faster there.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_FAISS_LOCK = threading.Lock()


_CONFIGURED = False


def _faiss() -> Any:
    global _CONFIGURED
    import faiss

    if not _CONFIGURED:
        # one query at a time per thread: OpenMP fan-out only adds overhead (and steals cores
        # from the other workers); bulk graph building is single-threaded per segment too
        faiss.omp_set_num_threads(1)
        _CONFIGURED = True
    return faiss


def build_hnsw(vectors: np.ndarray, m: int, ef_construction: int) -> np.ndarray:
    """A serialised HNSW index (float16 storage) over L2-normalised float32 ``vectors``."""
    faiss = _faiss()
    index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    index.train(x)
    index.add(x)
    out: np.ndarray = faiss.serialize_index(index)
    return out


def load_hnsw(buf: np.ndarray) -> Any:
    faiss = _faiss()
    return faiss.deserialize_index(np.ascontiguousarray(buf, dtype=np.uint8))


def search_hnsw(index: Any, q: np.ndarray, k: int, ef: int, allowed: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the top ``k`` passages; ``allowed`` is a bool mask over rows."""
    faiss = _faiss()
    params = faiss.SearchParametersHNSW()
    params.efSearch = max(ef, k)
    if allowed is not None:
        bits = np.packbits(allowed.astype(np.uint8), bitorder="little")
        sel = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        params.sel = sel
    d, i = index.search(q.reshape(1, -1).astype(np.float32), k, params=params)
    keep = i[0] >= 0
    return i[0][keep].astype(np.int64), d[0][keep].astype(np.float32)


def search_exact(vectors: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, scores) of the top ``k`` rows of ``vectors`` by dot product with ``q``."""
    if len(vectors) == 0 or k <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    s = vectors @ q.astype(np.float32)
    k = min(k, len(s))
    top = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    order = np.lexsort((top, -s[top]))
    top = top[order]
    return top.astype(np.int64), s[top].astype(np.float32)
