"""BM25 as Lucene computes it — the readable reference formula shared by weights, kernels
(``heron.kernels``) and ``explain``.

* ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``
* ``score(tf, dl) = weight * sat``, ``sat = tf / (tf + k1 * (1 - b + b * dl / avgdl))`` rounded to
  float32 (precomputed per posting when a searcher opens), ``weight = idf * boost``

``avgdl`` is the collection's average field length on a fine logarithmic grid
(:func:`scoring_avgdl`); ``dl`` is the exact field length. Block upper bounds use lengths
quantised to one byte (``heron.codec.norms``): a 256-entry table per field. Scores are finite,
>= 0, non-decreasing in tf, non-increasing in dl and in df, and bounded by ``weight`` (the
tf → ∞ limit).
"""

from __future__ import annotations

import math

import numpy as np

from heron.codec.norms import LENGTH_TABLE, norm_cache


def idf(doc_count: int, df: int) -> float:
    return math.log(1.0 + (doc_count - df + 0.5) / (df + 0.5))


#: steps per doubling of the grid that BM25's average field length is rounded to
AVGDL_STEPS_PER_OCTAVE = 256


def scoring_avgdl(total_length: float, doc_count: int) -> float:
    """The average field length BM25 scores with: ``total_length / doc_count`` rounded to a
    logarithmic grid of 256 steps per doubling (a relative step of 0.27 %, so at most 0.14 % off;
    a score moves by less than that).

    Near-real-time refreshes change the exact average with every few documents. Each segment's
    saturation table (one float per posting, what the kernels multiply by a term's weight)
    depends on it, so with the exact value every refresh recomputed the tables of the whole
    index (~100 ms of CPU per refresh for 300k passages). On the grid the value stays
    put for most refreshes of a large index and the tables are reused. Every path — one index,
    shards under global statistics, pruned and exhaustive top-k, ``explain`` — scores with this
    same value."""
    if doc_count <= 0:
        return 1.0
    exact = total_length / doc_count
    if exact <= 0:
        return exact
    step = round(math.log2(exact) * AVGDL_STEPS_PER_OCTAVE)
    return float(2.0 ** (step / AVGDL_STEPS_PER_OCTAVE))


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
