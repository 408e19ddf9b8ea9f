"""``HashEmbedder``: deterministic pseudo-random unit vectors per string, no model.

Not semantic: for tests and for exercising the vector pipeline (storage, merges, ANN,
filters, fusion) at scale without paying for a transformer. Register it with
``heron.embed.register_embedder("hash-32", HashEmbedder(32))``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


class HashEmbedder:
    def __init__(self, dim: int = 32) -> None:
        self._dim = dim
        #: passages embedded so far (lets tests observe the embedding cache)
        self.calls = 0

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def model_id(self) -> str:
        return f"hash-{self._dim}"

    def _one(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self._dim).astype(np.float32)
        out: np.ndarray = v / np.linalg.norm(v)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        return np.stack([self._one(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._one(text)
