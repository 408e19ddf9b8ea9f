"""Duplicate detection: exact (content hash) and near (MinHash over word shingles + LSH).

* ``content_hash``: BLAKE2b of the casefolded, whitespace-collapsed text — equal text
  means an exact duplicate, dropped.
* ``minhash``: ``NUM_PERM`` 32-bit minimums of word ``SHINGLE``-grams under seeded 64-bit
  mixers (numpy, vectorised); the fraction of equal positions estimates Jaccard similarity.
* LSH with ``BANDS`` bands of ``NUM_PERM // BANDS`` rows finds candidates; a candidate is a
  near-duplicate when its estimated Jaccard is ≥ ``threshold`` (default
  :data:`DEFAULT_THRESHOLD`, measured in ``tests/ingest/test_dedup.py`` on pages and lightly
  modified copies of them). The first document of a group is its canonical; later ones
  point at it (``near_dup_of``).
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import dataclass

import numpy as np

NUM_PERM = 64
BANDS = 32
SHINGLE = 5
DEFAULT_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_SEEDS = np.random.default_rng(0x4E52_4F4E).integers(1, 2**63 - 1, size=NUM_PERM, dtype=np.int64).astype(np.uint64)


def content_hash(text: str) -> str:
    """Hex BLAKE2b-128 of the normalised text (casefold, collapsed whitespace)."""
    norm = " ".join(text.casefold().split())
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=16).hexdigest()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        out: np.ndarray = x ^ (x >> np.uint64(31))
        return out


def shingle_hashes(text: str, k: int = SHINGLE) -> np.ndarray:
    """Distinct 64-bit hashes of the word k-grams of ``text`` (casefolded)."""
    words = _WORD.findall(text.casefold())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    h = np.fromiter(map(zlib.crc32, map(str.encode, words)), dtype=np.uint64, count=len(words))  # UTF-8
    if len(words) < k:
        k = len(words)
    acc = np.zeros(len(words) - k + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = _mix(acc ^ h[j : len(h) - k + 1 + j])
    return np.unique(acc)


def minhash(text: str) -> np.ndarray:
    """``NUM_PERM`` uint32 MinHash signature of ``text`` (all ``0xFFFFFFFF`` for empty text)."""
    sh = shingle_hashes(text)
    if sh.size == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    out = np.empty(NUM_PERM, dtype=np.uint32)
    for i in range(0, sh.size, 4096):  # bound the (shingles x perms) temporary
        block = _mix(sh[i : i + 4096, None] ^ _SEEDS[None, :]) >> np.uint64(32)
        m = block.min(axis=0).astype(np.uint32)
        out = m if i == 0 else np.minimum(out, m)
    return out


def encode_signature(sig: np.ndarray) -> str:
    return base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def decode_signature(s: str) -> np.ndarray | None:
    try:
        raw = base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        return None
    if len(raw) != 4 * NUM_PERM:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # "unique" | "exact" | "near"
    of: str | None = None  # the canonical (exact: the kept document) id
    similarity: float = 1.0


class Deduper:
    """Streaming duplicate detector: ``check`` each document once, in ingest order."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, bands: int = BANDS) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.bands = bands
        self.rows = NUM_PERM // bands
        self._hashes: dict[str, str] = {}
        self._sigs: dict[str, np.ndarray] = {}
        self._canon: dict[str, str] = {}
        self._buckets: list[dict[bytes, list[str]]] = [{} for _ in range(bands)]

    def __len__(self) -> int:
        return len(self._sigs)

    def _keys(self, sig: np.ndarray) -> list[bytes]:
        return [sig[b * self.rows : (b + 1) * self.rows].tobytes() for b in range(self.bands)]

    def add(self, doc_id: str, chash: str, sig: np.ndarray, canonical: str | None = None) -> None:
        """Register a document (e.g. one already in the index) without checking it."""
        self._hashes.setdefault(chash, doc_id)
        if doc_id in self._sigs:
            return
        self._sigs[doc_id] = sig
        self._canon[doc_id] = canonical or doc_id
        for b, key in enumerate(self._keys(sig)):
            self._buckets[b].setdefault(key, []).append(doc_id)

    def check(self, doc_id: str, chash: str, sig: np.ndarray) -> Verdict:
        """Classify a new document and register it unless it is an exact duplicate."""
        prev = self._hashes.get(chash)
        if prev is not None and prev != doc_id:
            return Verdict("exact", prev, 1.0)
        best: tuple[float, str] | None = None
        seen: set[str] = set()
        for b, key in enumerate(self._keys(sig)):
            for other in self._buckets[b].get(key, ()):
                if other == doc_id or other in seen or self._canon[other] == doc_id:
                    continue
                seen.add(other)
                s = similarity(sig, self._sigs[other])
                if s >= self.threshold and (best is None or s > best[0]):
                    best = (s, other)
        if best is None:
            self.add(doc_id, chash, sig)
            return Verdict("unique")
        canon = self._canon[best[1]]
        self.add(doc_id, chash, sig, canonical=canon)
        return Verdict("near", canon, best[0])
