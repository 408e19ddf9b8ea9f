"""Index-time embedding: chunk documents into passages, embed what is not cached, in batches.

The cache is keyed by a content hash of (model, embedded string): before embedding, the
hashes stored in the index directory's existing ``.vec`` files are looked up, so re-indexing
unchanged text (a replaced document, a rebuilt segment) reuses the stored vectors; an
in-process LRU covers repeats within a session. Parallelism comes from the segment builders:
``IndexWriter.add_parallel`` builds segments in worker processes, each embedding its own chunk
with its own ONNX session (one per process). A tqdm progress bar shows on a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from heron.config import VectorSettings
from heron.embed.chunking import chunk_text
from heron.embed.onnx import Embedder, get_embedder
from heron.storage.container import read_container
from heron.storage.directory import Directory
from heron.vectors.store import VEC_KIND, PendingVectors, VectorData, content_hash, params_of

log = logging.getLogger("heron.vectors")
_LRU_MAX = 50_000


class EmbeddingCache:
    """Bounded in-process map content hash → float32 vector."""

    def __init__(self, capacity: int = _LRU_MAX) -> None:
        self.capacity = capacity
        self._d: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, h: int) -> np.ndarray | None:
        with self._lock:
            v = self._d.get(h)
            if v is not None:
                self._d.move_to_end(h)
            return v

    def put(self, h: int, v: np.ndarray) -> None:
        with self._lock:
            self._d[h] = v
            self._d.move_to_end(h)
            while len(self._d) > self.capacity:
                self._d.popitem(last=False)


CACHE = EmbeddingCache()


def embedder_for(s: VectorSettings, threads: int = 1, runtime: str | None = None) -> Embedder:
    """The process's embedder for these settings; ``runtime`` None = ``HERON_EMBED_RUNTIME`` (else
    onnxruntime), so worker processes of a parallel build inherit the choice. Passages are embedded
    with it; queries always with ONNX Runtime (``search.hybrid.query_vector``)."""
    return get_embedder(s.model, pooling=s.pooling, query_prefix=s.query_prefix, passage_prefix=s.passage_prefix,
                        max_length=s.max_length, threads=threads, runtime=runtime)


def _stored_vectors(directory: Directory, model_id: str, wanted: set[int]) -> dict[int, np.ndarray]:
    """Vectors with the wanted hashes from the directory's ``.vec`` files (same model only)."""
    found: dict[int, np.ndarray] = {}
    for name in directory.list():
        if not name.endswith(".vec") or not wanted:
            continue
        try:
            meta, a = read_container(directory, name, VEC_KIND, verify=False)
        except Exception:  # a file being written or removed concurrently: just no cache hit
            continue
        if meta.get("model_id") != model_id:
            continue
        hashes = np.asarray(a["hash"])
        hit = np.flatnonzero(np.isin(hashes, np.fromiter(wanted, dtype=np.uint64, count=len(wanted))))
        if not len(hit):
            continue
        v = np.asarray(a["vec"][hit], dtype=np.float32)
        if "scale" in a:
            v *= a["scale"][hit][:, None]
        for r, vec in zip(hit.tolist(), v, strict=True):
            h = int(hashes[r])
            found[h] = vec
            wanted.discard(h)
    return found


def embed_documents(p: PendingVectors, directory: Directory | None = None) -> VectorData:
    """Chunk, look up the cache, embed the rest; passages in document order."""
    s = p.settings
    emb = embedder_for(s)
    docs: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    strings: list[str] = []
    for d, (title, text) in enumerate(zip(p.titles, p.texts, strict=True)):
        passages = chunk_text(text, s.chunk_words, s.chunk_overlap) if text.strip() else []
        if not passages:  # title-only (or empty) document: one passage for the title
            strings.append(title)
            docs.append(d)
            starts.append(0)
            ends.append(0)
            continue
        for ps in passages:
            strings.append(f"{title} {ps.text}" if title else ps.text)
            docs.append(d)
            starts.append(ps.start)
            ends.append(ps.end)
    mid = emb.model_id
    hashes = np.array([content_hash(mid, x) for x in strings], dtype=np.uint64)
    out = np.zeros((len(strings), emb.dim), dtype=np.float32)
    todo: list[int] = []
    for i, h in enumerate(hashes.tolist()):
        v = CACHE.get(h)
        if v is None:
            todo.append(i)
        else:
            out[i] = v
    if todo and directory is not None:
        stored = _stored_vectors(directory, mid, {int(hashes[i]) for i in todo})
        if stored:
            rest = []
            for i in todo:
                v = stored.get(int(hashes[i]))
                if v is None:
                    rest.append(i)
                else:
                    out[i] = v
            todo = rest
    CACHE.hits += len(strings) - len(todo)
    CACHE.misses += len(todo)
    if todo:
        _embed_into(emb, [strings[i] for i in todo], todo, out)
        for i in todo:
            CACHE.put(int(hashes[i]), out[i])
    return VectorData(out, np.array(docs, dtype=np.int64), np.array(starts, dtype=np.int64),
                      np.array(ends, dtype=np.int64), hashes, mid, params_of(s))


def _embed_into(emb: Embedder, strings: list[str], rows: list[int], out: np.ndarray) -> None:
    step = 1024
    bar: Any = None
    if len(strings) > step and sys.stderr.isatty() and not os.environ.get("HERON_NO_PROGRESS"):
        from tqdm import tqdm

        bar = tqdm(total=len(strings), unit="passage", desc="embedding", leave=False)
    for s in range(0, len(strings), step):
        out[rows[s : s + step]] = emb.embed_passages(strings[s : s + step])
        if bar is not None:
            bar.update(min(step, len(strings) - s))
    if bar is not None:
        bar.close()
