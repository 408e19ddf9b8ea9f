"""Readable reference versions of every kernel (the executable specification).

Conventions shared with the compiled kernels:

* A *cursor* ``i`` is one (term, field) posting list: postings ``docs[start[i]:end[i]]``
  with term frequencies ``tfs[...]``, blocks ``bstart[i]:bend[i]`` of ``BLOCK`` postings.
* Its contribution to document ``d`` is ``bm25(weight[i], tf, kn[field[i], norms[field[i], d]])``
  with ``bm25(w, tf, kn) = w * tf / (tf + kn)`` (Lucene's BM25 without the constant
  ``k1 + 1`` factor; ``kn`` is the per-norm-byte cache ``k1 * (1 - b + b * dl / avgdl)``).
* A document's score is the sum of its contributions **in cursor order** (ascending
  ``i``), so every algorithm produces bit-identical scores.
* ``allowed`` is a uint8 mask over documents (empty = all allowed).
* Results are ordered by score descending, then doc ascending; a document enters only if
  its score is strictly greater than ``theta0`` (the k-th score of earlier segments).
"""

from __future__ import annotations

import numpy as np

BLOCK = 128


def bm25(w: float, tf: float, kn: float) -> float:
    return w * tf / (tf + kn)


def topk_exhaustive(
    docs: np.ndarray,
    tfs: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    weight: np.ndarray,
    field: np.ndarray,
    kn: np.ndarray,
    norms: np.ndarray,
    allowed: np.ndarray,
    k: int,
    theta0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Score every posting of every cursor; keep the top ``k``."""
    scores: dict[int, float] = {}
    for i in range(len(start)):
        f = int(field[i])
        for p in range(int(start[i]), int(end[i])):
            d = int(docs[p])
            if len(allowed) and not allowed[d]:
                continue
            c = bm25(float(weight[i]), float(tfs[p]), float(kn[f, norms[f, d]]))
            scores[d] = scores.get(d, 0.0) + c
    ranked = sorted(((s, d) for d, s in scores.items() if s > theta0), key=lambda x: (-x[0], x[1]))[:k]
    return (
        np.array([d for _, d in ranked], dtype=np.int64),
        np.array([s for s, _ in ranked], dtype=np.float64),
    )


def topk_maxscore(
    docs: np.ndarray,
    tfs: np.ndarray,
    blk_last: np.ndarray,
    blk_maxtf: np.ndarray,
    blk_minnorm: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    bstart: np.ndarray,
    ub: np.ndarray,
    weight: np.ndarray,
    field: np.ndarray,
    kn: np.ndarray,
    norms: np.ndarray,
    allowed: np.ndarray,
    k: int,
    theta0: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference backend: pruning gives the same answer as exhaustive scoring by definition."""
    return topk_exhaustive(docs, tfs, start, end, weight, field, kn, norms, allowed, k, theta0)


def block_metadata(
    docs: np.ndarray, tfs: np.ndarray, list_start: np.ndarray, norms_per_posting: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per posting list, cut postings into blocks of ``BLOCK``; per block return the last doc,
    the max tf and the min norm byte (the ingredients of the block-max score bound).

    ``list_start`` has one entry per list plus the end. Returns (blk_last, blk_maxtf,
    blk_minnorm, list_bstart) where ``list_bstart`` (len = lists + 1) indexes the blocks.
    """
    last: list[int] = []
    maxtf: list[int] = []
    minnorm: list[int] = []
    bstart = [0]
    for j in range(len(list_start) - 1):
        s, e = int(list_start[j]), int(list_start[j + 1])
        for b in range(s, e, BLOCK):
            be = min(b + BLOCK, e)
            last.append(int(docs[be - 1]))
            maxtf.append(int(tfs[b:be].max()))
            minnorm.append(int(norms_per_posting[b:be].min()))
        bstart.append(len(last))
    return (
        np.array(last, dtype=np.uint32),
        np.array(maxtf, dtype=np.uint32),
        np.array(minnorm, dtype=np.uint8),
        np.array(bstart, dtype=np.int64),
    )


def cursor_upper_bounds(
    blk_maxtf: np.ndarray,
    blk_minnorm: np.ndarray,
    bstart: np.ndarray,
    bend: np.ndarray,
    weight: np.ndarray,
    field: np.ndarray,
    kn: np.ndarray,
) -> np.ndarray:
    """Max over a cursor's blocks of the block bound ``bm25(w, maxtf, kn[minnorm])``."""
    out = np.zeros(len(bstart), dtype=np.float64)
    for i in range(len(bstart)):
        f = int(field[i])
        best = 0.0
        for b in range(int(bstart[i]), int(bend[i])):
            best = max(best, bm25(float(weight[i]), float(blk_maxtf[b]), float(kn[f, blk_minnorm[b]])))
        out[i] = best
    return out


def constraint_mask(
    docs: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    kind: np.ndarray,
    n_required: int,
    base: np.ndarray,
) -> np.ndarray:
    """Allowed-docs mask from required (kind 1, grouped: a doc needs every group), excluded
    (kind 2) posting lists, and an initial ``base`` mask (uint8, len = ndocs).

    ``kind`` codes: ``1 + 2*g`` is "required group g" (several lists may form one group,
    e.g. a term present in any of several fields), ``2`` is excluded.
    """
    n = len(base)
    count = np.zeros(n, dtype=np.int64)
    for i in range(len(start)):
        kd = int(kind[i])
        if kd % 2 == 1:
            g = (kd - 1) // 2
            for p in range(int(start[i]), int(end[i])):
                d = int(docs[p])
                if count[d] == g:
                    count[d] = g + 1
    out = base.copy()
    if n_required:
        out &= (count == n_required).astype(np.uint8)
    for i in range(len(start)):
        if int(kind[i]) == 2:
            for p in range(int(start[i]), int(end[i])):
                out[int(docs[p])] = 0
    return out
