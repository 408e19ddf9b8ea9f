"""BM25 as Lucene computes it — the readable reference formula shared by weights, kernels
(``heron.kernels``) and ``explain``.

* ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``
* ``score(tf, dl) = weight * sat``, ``sat = tf / (tf + k1 * (1 - b + b * dl / avgdl))`` rounded to
  float32 (precomputed per posting when a searcher opens), ``weight = idf * boost``

Document lengths are quantised to one byte (``heron.codec.norms``), so the denominator's
length part is a 256-entry table per field. Scores are finite, >= 0, non-decreasing in tf,
non-increasing in dl and in df, and bounded by ``weight`` (the tf → ∞ limit).
"""

from __future__ import annotations

import math

import numpy as np

from heron.codec.norms import LENGTH_TABLE, norm_cache


def idf(doc_count: int, df: int) -> float:
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


def tf_norm_table(k1: float, b: float, avgdl: float) -> np.ndarray:
    """Per norm byte: ``k1 * (1 - b + b * dl / avgdl)``."""
    return norm_cache(k1, b, avgdl)


def saturation(tf: float, kn: float) -> float:
    """``tf / (tf + kn)`` rounded to float32, as precomputed per posting for the kernels."""
    return float(np.float32(tf / (tf + kn)))


def score(weight: float, tf: float, kn: float) -> float:
    """One (term, field) contribution; identical arithmetic to the kernels."""
    return weight * saturation(tf, kn)


def decoded_length(norm_byte: int) -> int:
    return int(LENGTH_TABLE[norm_byte])
