"""numba versions of the kernels in :mod:`heron.kernels.reference` (same signatures, same
results bit for bit). See that module for the conventions.

Which kernels release the GIL: the bulk ones (index building, packing, saturation tables,
which run for milliseconds on background threads) do (``nogil=True``); the query kernels
(top-k, cursors, constraint masks: tens of microseconds each, several per query) keep it.
Releasing the GIL for a few microseconds buys nothing, and under a write load in the same
process (writer or client threads waiting for the GIL) every release lets another thread in,
which the query then waits out. With 8 threads writing through a process writer beside a
searching thread on the SciFact index, query p50 went from 0.56 to 0.39 ms and p99 from 2.13
to 1.36 ms when the query kernels stopped releasing it (``benchmarks/durability_bench.py``
measures that scenario)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from heron.kernels.reference import TERM_END

BLOCK = 128
#: documents per chunk of the exhaustive kernel's selection scan (128 rather than 64: half the
#: chunk maxima to take and scan, for a few more documents looked into; kernel medians, k=10 / 100:
#: 1M corpus 824 -> 763 / 1,080 -> 1,030 us, blog-300k 362 -> 343 / 539 -> 491, IMDb 173 -> 165 /
#: 257 -> 260; one-range segments under k * 128 documents halve it, as before)
SELECT_CHUNK = 128
#: documents per range of the exhaustive kernel's dense path (64k float32 sums: 256 KiB, within
#: a core's L2 cache); segments under twice this are done in one range
ACC_RANGE = 65536
#: the exhaustive kernel accumulates densely (no touched-list bookkeeping; selection by a scan
#: of the accumulator) queries with at least one posting per DENSE_RATIO documents
DENSE_RATIO = 10
#: the dense path on segments of several ranges defers the lists whose bounds sum to at most
#: DEFER times the entry floor (``topk_exhaustive_scratch``), and adds them densely after all
#: in a range where more than 1/DEFER_DENSE of the chunks could still enter
DEFER = 0.25
DEFER_DENSE = 4
#: before any floor is known (a segment's first range, no entry threshold, no filter, k at most
#: DEFER_FIRST_MAX_K, at least DEFER_FIRST_MIN_DOCS documents in the range), the lists whose
#: bounds sum to at most DEFER_FIRST times the other lists' are deferred, and the floor is taken
#: from the k-th chunk maximum of the others' partial sums. Measured on IMDb-100k (kernel per
#: query, 1,000 queries): k=10 212 -> 154 us; at k=100 (and factors 0.02-0.05) and on SciFact's 5k
#: documents it lost (too many chunks stay open; the deferred lists are then added densely)
DEFER_FIRST = 0.05
DEFER_FIRST_MAX_K = 32
DEFER_FIRST_MIN_DOCS = 16384
_NEG_INF = -np.inf
_NO_BOUNDS = np.empty(0, dtype=np.float64)


# -- top-k heap: min-heap on (score, -doc); the root is the worst kept hit -----------------


@njit(cache=True, inline="always")
def _worse(s1: float, d1: int, s2: float, d2: int) -> bool:
    return s1 < s2 or (s1 == s2 and d1 > d2)


@njit(cache=True)
def _heap_push(hs: np.ndarray, hd: np.ndarray, size: int, s: float, d: int) -> int:
    """Insert into a heap of capacity len(hs); returns the new size. Caller checks admission."""
    k = len(hs)
    if size < k:
        i = size
        size += 1
    else:
        i = 0
        # replace root, sift down
        hs[0] = s
        hd[0] = d
        while True:
            left = 2 * i + 1
            if left >= size:
                break
            c = left
            r = left + 1
            if r < size and _worse(hs[r], hd[r], hs[left], hd[left]):
                c = r
            if _worse(hs[c], hd[c], hs[i], hd[i]):
                hs[i], hs[c] = hs[c], hs[i]
                hd[i], hd[c] = hd[c], hd[i]
                i = c
            else:
                break
        return size
    hs[i] = s
    hd[i] = d
    while i > 0:
        parent = (i - 1) // 2
        if _worse(hs[i], hd[i], hs[parent], hd[parent]):
            hs[i], hs[parent] = hs[parent], hs[i]
            hd[i], hd[parent] = hd[parent], hd[i]
            i = parent
        else:
            break
    return size


@njit(cache=True)
def _heap_sorted(hs: np.ndarray, hd: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(docs, scores) of the heap's first ``size`` entries, best first (score desc, then doc
    asc), sorted in place by heapsort: the root (the worst kept hit) goes to the end, the
    rest is sifted down. (Two stable argsorts did the same in 5.8 us at k=100, 2.7 at k=10.)"""
    for end in range(size - 1, 0, -1):
        hs[0], hs[end] = hs[end], hs[0]
        hd[0], hd[end] = hd[end], hd[0]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= end:
                break
            if c + 1 < end and _worse(hs[c + 1], hd[c + 1], hs[c], hd[c]):
                c += 1
            if not _worse(hs[c], hd[c], hs[i], hd[i]):
                break
            hs[i], hs[c] = hs[c], hs[i]
            hd[i], hd[c] = hd[c], hd[i]
            i = c
    return hd[:size], hs[:size]


# -- exhaustive: term-at-a-time accumulation in cursor order ------------------------------


@njit(cache=True)
def topk_exhaustive(docs, sat, start, end, weight, ndocs, allowed, k, theta0):  # type: ignore[no-untyped-def]
    acc = np.zeros(ndocs, dtype=np.float32)
    hit = np.zeros(ndocs, dtype=np.uint8)
    return topk_exhaustive_scratch(docs, sat, start, end, weight, allowed, k, theta0, acc, hit, _NO_BOUNDS, 0.0)


@njit(cache=True)
def _chunk_maxima(acc, ch, cm):  # type: ignore[no-untyped-def]
    """``cm[c]`` = max of ``acc`` (float32 sums) over chunk ``c`` of ``ch`` documents (at least 0).

    The accumulator holds finite sums >= 0, and non-negative floats order exactly like their
    bit patterns read as integers, so the max is taken over those integers: LLVM vectorises an
    integer max reduction, while a float max (NaN rules) stays a scalar chain of dependent
    ``maxss``/``maxsd`` (measured over 100k float64 documents: 18 vs 92 us). Loops run over
    slices from index 0, which spares every access numba's negative-index wraparound."""
    n = len(acc)
    ai = acc.view(np.int32)
    ci = cm.view(np.int32)
    for c in range(len(cm)):
        c0 = c * ch
        c1 = c0 + ch if c0 + ch < n else n
        a = ai[c0:c1]
        m = np.int32(0)
        for j in range(len(a)):
            v = a[j]
            m = v if v > m else m
        ci[c] = m


@njit(cache=True)
def _kth_largest(v, k):  # type: ignore[no-untyped-def]
    """The ``k``-th largest value of ``v`` (``1 <= k <= len(v)``) by a min-heap of the ``k``
    best: one compare per value once the heap is full (numba's ``np.partition`` took 19 us
    over 1,563 chunk maxima, this ~2 us). A heap of values only, not the (score, doc) top-k
    heap: through ``_heap_push`` the same job took 37 instead of 8.5 us at k=100."""
    h = np.empty(k, dtype=np.float64)
    for i in range(k):  # heapify the first k values (sift up)
        x = v[i]
        j = i
        while j > 0:
            p = (j - 1) >> 1
            if h[p] <= x:
                break
            h[j] = h[p]
            j = p
        h[j] = x
    for i in range(k, len(v)):
        x = v[i]
        if x <= h[0]:
            continue
        j = 0  # replace the root, sift down
        while True:
            c = 2 * j + 1
            if c >= k:
                break
            if c + 1 < k and h[c + 1] < h[c]:
                c += 1
            if h[c] >= x:
                break
            h[j] = h[c]
            j = c
        h[j] = x
    return h[0]


@njit(cache=True, inline="always")
def _accumulate(docs, sat, weight, pos, end, lo, hi, base, lim, ndocs, acc):  # type: ignore[no-untyped-def]
    """Add cursors ``hi - 1`` down to ``lo`` (canonical order) from ``pos`` up to document
    ``lim`` into ``acc`` (document ``d`` at ``acc[d - base]``); ``pos`` moves to each list's first
    posting at or after ``lim``."""
    for i in range(hi - 1, lo - 1, -1):
        q = pos[i]
        e = end[i]
        if lim < ndocs:  # the list's first posting at or after lim
            e = _seek(docs, q, q, e, lim)
        pos[i] = e
        w = np.float32(weight[i])
        ds = docs[q:e]  # slices from 0: no negative-index wraparound per posting
        ss = sat[q:e]
        ubase = np.uint64(base)
        for j in range(len(ds)):  # float32, like the reference; unsigned index: no wraparound check
            acc[np.uint64(ds[j]) - ubase] += w * ss[j]


@njit(cache=True, inline="always")
def _gallop(docs, q, e, d):  # type: ignore[no-untyped-def]
    """First index in ``[q, e)`` with ``docs[index] >= d``, searched outward from ``q`` (steps
    of 1, 2, 4, ... then a binary search): cheap when the answer is near."""
    if q >= e or docs[q] >= d:
        return q
    lo = q
    step = 1
    hi = q + 1
    while hi < e and docs[hi] < d:
        lo = hi
        step <<= 1
        hi = lo + step
    return _seek(docs, lo + 1, lo + 1, hi if hi < e else e, d)


@njit(cache=True)
def topk_exhaustive_scratch(  # type: ignore[no-untyped-def]
    docs, sat, start, end, weight, allowed, k, theta0, acc, hit, ub, defer
):
    """``topk_exhaustive`` with caller-owned, all-zero ``acc``/``hit`` buffers (one per
    segment and thread), returned all-zero again: no per-query O(ndocs) allocation.

    Dense queries (postings >= ndocs / DENSE_RATIO) accumulate without bookkeeping and select by a scan
    over the accumulator (range by range on large segments); sparse ones remember the touched
    documents instead.

    ``ub``: each cursor's upper bound (inflated for float safety, as ``prepare_cursors`` gives
    it), or empty; with ``defer`` > 0 the dense path defers, range by range, the cursors
    ``[0, m)`` whose bounds sum to at most ``defer`` times the entry floor (MaxScore's
    non-essential lists, term-at-a-time): the other lists are added first, and a chunk of
    documents gets the deferred lists' postings only if its best partial score plus their bounds
    can beat the floor; the rest of the chunk cannot enter. Every document that can enter still
    gets every contribution in the canonical order, so results are bit-identical. In a range
    with no floor yet (see DEFER_FIRST) the floor comes from the other lists' partial sums:
    each is a prefix of its document's final sum in the canonical order, and adding a
    non-negative float32 never lowers a sum, so k chunks whose partial maximum reaches a value
    hold k documents that end at least that high."""
    ndocs = len(acc)
    total = 0
    for i in range(len(start)):
        total += end[i] - start[i]
    has_allowed = len(allowed) > 0
    hs = np.empty(max(k, 1), dtype=np.float64)
    hd = np.empty(max(k, 1), dtype=np.int64)
    size = 0
    if k <= 0:
        return _heap_sorted(hs, hd, 0)
    if DENSE_RATIO * total >= ndocs:
        # Dense: accumulate without bookkeeping, then select by chunks. A chunk whose best
        # score cannot enter (once the heap is full, only a score above its root can:
        # documents come in ascending order, so a tie loses) is skipped after one branch-free
        # max. Every contribution is > 0, so acc[d] > 0 exactly for the matched documents.
        # Without a filter, the k-th best chunk maximum is a lower bound of the k-th best
        # score (k chunks each hold a document that good), so the scan starts from it instead
        # of from zero: few chunks are looked into, even at large k.
        # Large segments are done in ranges of ACC_RANGE documents: every list adds its
        # postings of the range, then the range is selected and cleared while its part of the
        # accumulator is still in the core's cache (blog-300k, 12-word queries: 0.68 instead
        # of 0.92 ms). Per document the contributions are still added in the canonical order.
        # Every range uses the same first ACC_RANGE floats of ``acc`` (document d of the range
        # at acc[d - base]): 256 KB that stay in the core's L2 from range to range and query to
        # query, where ranges at their own offsets streamed the whole 4 MB accumulator of the 1M
        # corpus through L3 on every query (kernel median over its queries: 1,025 -> 854 us at
        # k=10).
        # chunks: smaller on small segments, down to at least k of them (SciFact, k=100: 162
        # chunks of 32 — the k-th of 648 chunk maxima of 8 took 5.7 us, of these 1.7)
        ch = SELECT_CHUNK
        while ch > 8 and ndocs < k * ch:
            ch >>= 1
        rng = ndocs if ndocs < 2 * ACC_RANGE else ACC_RANGE  # a multiple of ch
        cm = np.empty((rng + ch - 1) // ch, dtype=np.float32)
        floor = theta0 if theta0 > 0.0 else 0.0
        n = len(start)
        pos = start.copy()
        # deferring: sums of the smallest bounds, and the factor (as MaxScore's) that covers
        # the float32 rounding of a sum of n contributions
        can_defer = defer > 0.0 and len(ub) == n
        prefix = np.zeros(n, dtype=np.float64)
        if can_defer:
            t = 0.0
            for i in range(n):
                t += ub[i]
                prefix[i] = t
        safe = 1.0 + (n + 2) * 2.0**-23
        for base in range(0, ndocs, rng):
            lim = base + rng if base + rng < ndocs else ndocs
            nb = lim - base
            nc = (nb + ch - 1) // ch
            m = 0  # cursors [0, m) deferred in this range
            if can_defer and floor > 0.0:
                while m < n and prefix[m] * safe <= defer * floor:
                    m += 1
            elif can_defer and not has_allowed and k <= DEFER_FIRST_MAX_K and nb >= DEFER_FIRST_MIN_DOCS:
                # no floor yet: defer the lists whose bounds sum to at most DEFER_FIRST times
                # the others' and take the floor from the k-th chunk maximum of the rest
                while m < n - 1 and prefix[m] <= DEFER_FIRST * (prefix[n - 1] - prefix[m]):
                    m += 1
            _accumulate(docs, sat, weight, pos, end, m, n, base, lim, ndocs, acc)
            a = acc[:nb]
            cmr = cm[:nc]
            _chunk_maxima(a, ch, cmr)
            if m > 0:
                if floor <= 0.0:  # the floor from the partial sums (see above)
                    floor = _kth_largest(cmr, k) * (1.0 - 1e-12)
                rest = prefix[m - 1]
                cand = 0
                for c in range(nc):
                    cand += (np.float64(cmr[c]) + rest) * safe > floor
                if cand * DEFER_DENSE > nc:  # many chunks can still enter: add the lists densely
                    _accumulate(docs, sat, weight, pos, end, 0, m, base, lim, ndocs, acc)
                    _chunk_maxima(a, ch, cmr)
                else:
                    for c in range(nc):
                        if (np.float64(cmr[c]) + rest) * safe <= floor:
                            cmr[c] = 0.0  # no document here can enter: the selection skips it
                            continue
                        c0 = base + c * ch
                        c1 = c0 + ch if c0 + ch < lim else lim
                        for i in range(m - 1, -1, -1):  # canonical order, after the others
                            q = _gallop(docs, pos[i], end[i], c0)
                            e = end[i]
                            w = np.float32(weight[i])
                            while q < e:
                                d = docs[q]
                                if d >= c1:
                                    break
                                acc[np.uint64(d - base)] += w * sat[q]  # d >= base: unsigned, no wraparound check
                                q += 1
                            pos[i] = q
                        _chunk_maxima(acc[c0 - base : c1 - base], ch, cmr[c : c + 1])
                    if lim < ndocs:
                        for i in range(m):
                            pos[i] = _seek(docs, pos[i], pos[i], end[i], lim)
            if not has_allowed and k <= nc:
                # the k-th chunk maximum can raise the floor only if k chunk maxima are above
                # it: after the first range of a large segment they seldom are, and counting
                # is cheaper than the selection (1M corpus, k=10 and 100: it runs in 15-16 % of the ranges)
                above = 0
                for c in range(nc):
                    above += cmr[c] > floor
                if above >= k:
                    kth = _kth_largest(cmr, k)
                    if kth * (1.0 - 1e-12) > floor:  # strict floor just under it: a score equal to it enters
                        floor = kth * (1.0 - 1e-12)
            for c in range(nc):
                if cmr[c] > floor:
                    c0 = c * ch
                    c1 = c0 + ch if c0 + ch < nb else nb
                    for j in range(c0, c1):
                        s = np.float64(a[j])
                        if s <= floor:
                            continue
                        d = base + j
                        if has_allowed and allowed[d] == 0:
                            continue
                        if size < k or _worse(hs[0], hd[0], s, d):
                            size = _heap_push(hs, hd, size, s, d)
                            if size == k and hs[0] > floor:
                                floor = hs[0]
            a[:] = 0.0
        return _heap_sorted(hs, hd, size)
    nt = 0
    touched = np.empty(total + 1, dtype=np.int64)  # +1: branch-free writes one past
    for i in range(len(start) - 1, -1, -1):  # canonical order: descending cursor index
        w = np.float32(weight[i])
        ds = docs[start[i] : end[i]]
        ss = sat[start[i] : end[i]]
        for j in range(len(ds)):
            d = ds[j]
            if has_allowed and allowed[d] == 0:
                continue
            acc[d] += w * ss[j]
            touched[nt] = d
            nt += 1 - hit[d]
            hit[d] = 1
    # the heap orders by (score, doc) itself, so candidates need no sorting
    for j in range(nt):
        d = touched[j]
        s = np.float64(acc[d])
        acc[d] = 0.0
        hit[d] = 0
        if s <= theta0:
            continue
        if size < k or _worse(hs[0], hd[0], s, d):
            size = _heap_push(hs, hd, size, s, d)
    return _heap_sorted(hs, hd, size)


# -- MaxScore with block-max bounds (document-at-a-time) ----------------------------------


@njit(cache=True, inline="always")
def _block_bound(b, imp_off, imp_tf, imp_norm, w, kn, f):  # type: ignore[no-untyped-def]
    """Exact max of the cursor's contribution over block ``b`` (max over its impact pairs)."""
    best = 0.0
    for j in range(imp_off[b], imp_off[b + 1]):
        tf = float(imp_tf[j])
        v = w * np.float64(np.float32(tf / (tf + kn[f, imp_norm[j]])))
        if v > best:
            best = v
    return best * (1.0 + 1e-6) + 1e-12


@njit(cache=True)
def cursor_upper_bounds(imp_off, imp_tf, imp_norm, bstart, bend, weight, field, kn):  # type: ignore[no-untyped-def]
    n = len(bstart)
    out = np.zeros(n, dtype=np.float64)
    for i in range(n):
        best = 0.0
        for b in range(bstart[i], bend[i]):
            v = _block_bound(b, imp_off, imp_tf, imp_norm, weight[i], kn, field[i])
            if v > best:
                best = v
        out[i] = best
    return out


@njit(cache=True, inline="always")
def _seek(docs, q, lo_block_start, e, d):  # type: ignore[no-untyped-def]
    """First posting index in [max(q, lo_block_start), e) with doc >= d (binary search)."""
    lo = q if q > lo_block_start else lo_block_start
    hi = e
    while lo < hi:
        mid = (lo + hi) >> 1
        if docs[mid] < d:
            lo = mid + 1
        else:
            hi = mid
    return lo


WINDOW = 4096
#: de Bruijn sequence for the index of a 64-bit word's lowest set bit
_DEBRUIJN_MUL = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _DEBRUIJN[((1 << _i) * 0x03F79D71B4CB0A89 & 0xFFFFFFFFFFFFFFFF) >> 58] = _i
#: ``topk_terms`` mode 0 scores term-at-a-time queries with this few postings, every query on
#: segments under AUTO_LARGE_SEGMENT documents, every query for more than AUTO_MAXSCORE_MAX_K
#: hits, and on larger segments queries with at least one posting per AUTO_TAAT_RATIO
#: documents. Measured per query, kernel only: on enwiki-107k and blog-300k term-at-a-time beat
#: MaxScore at every postings/documents ratio
#: (``benchmarks/reports/2026-11-26-dense-path-and-auto-rule.md``; blog, k=10: 285 vs 413 us
#: at 0.1-0.2). On the 1M corpus, re-measured after the range-wise dense path
#: (``benchmarks/reports/2026-11-27-auto-rule-1m.md``, medians per ratio bucket): at k=10
#: MaxScore wins below 0.1 (0.08-0.10: 369 vs 752 us) and loses above (0.10-0.13: 666 vs 655,
#: 0.20-0.25: 1,538 vs 877); at k=30 the same crossover; at k=100 term-at-a-time wins or ties
#: at every ratio (0.02-0.04: 418 vs 458 us, 0.25-0.33: 1,850 vs 3,262).
AUTO_TAAT_POSTINGS = 16384
AUTO_LARGE_SEGMENT = 1 << 19
AUTO_TAAT_RATIO = 10
AUTO_MAXSCORE_MAX_K = 32


@njit(cache=True)
def topk_maxscore(  # type: ignore[no-untyped-def]
    docs, sat, blk_last, imp_off, imp_tf, imp_norm, start, end, bstart, ub, weight, field, kn, allowed, k,
    theta0,
):
    """Block-max MaxScore, scored in windows of ``WINDOW`` documents (Lucene's
    MaxScoreBulkScorer design). Cursors must be ordered by ascending upper bound ``ub`` (the
    largest block bound, already inflated for float safety: ``prepare_cursors`` takes it from
    the snapshot's ``list_bounds``, ``cursor_upper_bounds`` visits the blocks). Scores use the per-posting
    saturation ``sat`` (exact lengths); block bounds use the per-norm-byte ``kn`` (quantised
    lengths round down, so the bound is never below a score).

    Cursors ``[0, p)`` are *non-essential*: their bounds sum to <= theta, so a document only
    they contain cannot enter. Per window, the essential cursors (``[p, n)``, highest bound
    first) are accumulated term-at-a-time into a small buffer; then each touched document, in
    doc order, probes the non-essential cursors (highest bound first; block bound, then a
    binary search in the block) while its running score plus the remaining bounds can still
    beat theta. A block of an essential cursor whose bound plus every other bound cannot beat
    theta is skipped whole. Contributions are always added in descending cursor order — the
    canonical order shared with the exhaustive kernel and ``explain`` — so scores are
    bit-identical across algorithms.

    Scores are float32 sums (like the exhaustive kernel's), whose every addition may round up
    by a relative 2**-24; a test "cannot beat theta" therefore scales its sum of bounds by
    ``safe`` = 1 + (n + 2) * 2**-23 (more than n such roundings) before comparing.
    """
    n = len(start)
    safe = 1.0 + (n + 2) * 2.0**-23
    hs = np.empty(max(k, 1), dtype=np.float64)
    hd = np.empty(max(k, 1), dtype=np.int64)
    size = 0
    if n == 0 or k == 0:
        return _heap_sorted(hs, hd, 0)
    SENT = np.int64(2**40)
    bend = np.empty(n, dtype=np.int64)
    prefix = np.empty(n, dtype=np.float64)
    total_ub = 0.0
    for i in range(n):
        bend[i] = bstart[i] + (end[i] - start[i] + BLOCK - 1) // BLOCK
        total_ub += ub[i]
        prefix[i] = total_ub
    pos = start.copy()
    bpos = bstart.copy()
    cb = np.full(n, -1, dtype=np.int64)  # block whose bound is cached in cbb
    cbb = np.zeros(n, dtype=np.float64)
    acc = np.zeros(WINDOW, dtype=np.float32)
    bits = np.zeros(WINDOW // 64, dtype=np.uint64)
    has_allowed = len(allowed) > 0
    theta = theta0
    p = 0
    while p < n and prefix[p] * safe <= theta:
        p += 1
    while p < n:
        # next window starts at the smallest essential doc
        w0 = SENT
        for i in range(p, n):
            if pos[i] < end[i]:
                di = np.int64(docs[pos[i]])
                if di < w0:
                    w0 = di
        if w0 == SENT:
            break
        w1 = w0 + WINDOW
        for i in range(n - 1, p - 1, -1):
            f = field[i]
            w = weight[i]
            w32 = np.float32(w)
            q = pos[i]
            e = end[i]
            others = prefix[n - 1] - ub[i]
            while q < e:
                d = np.int64(docs[q])
                if d >= w1:
                    break
                # entering a block: skip it whole if it cannot beat theta
                b = bpos[i]
                while blk_last[b] < d:
                    b += 1
                bpos[i] = b
                if cb[i] != b:
                    cb[i] = b
                    cbb[i] = _block_bound(b, imp_off, imp_tf, imp_norm, w, kn, f)
                if (cbb[i] + others) * safe <= theta:
                    nq = start[i] + (b - bstart[i] + 1) * BLOCK
                    q = nq if nq < e else e
                    continue
                bl = np.int64(blk_last[b])
                stop = bl if bl < w1 - 1 else w1 - 1
                while q < e:
                    d = np.int64(docs[q])
                    if d > stop:
                        break
                    j = d - w0
                    acc[j] += w32 * sat[q]
                    bits[j >> 6] |= np.uint64(1) << np.uint64(j & 63)  # branch-free "touched"
                    q += 1
            pos[i] = q
        pw = p  # the partition used for this window's accumulation
        # candidates in doc order: walk the set bits of the touched bitmap, lowest first
        for wi in range(WINDOW // 64):
            word = bits[wi]
            bits[wi] = np.uint64(0)
            while word != np.uint64(0):
                low = word & (~word + np.uint64(1))
                word ^= low
                j = wi * 64 + _DEBRUIJN[np.int64((low * _DEBRUIJN_MUL) >> np.uint64(58))]
                s = acc[j]  # float32
                acc[j] = 0.0
                d = w0 + j
                if has_allowed and allowed[d] == 0:
                    continue
                pruned = False
                for i in range(pw - 1, -1, -1):
                    if (s + prefix[i]) * safe <= theta:
                        pruned = True
                        break
                    b = bpos[i]
                    be = bend[i]
                    while b < be and blk_last[b] < d:
                        b += 1
                    bpos[i] = b
                    if b == be:
                        pos[i] = end[i]
                        continue
                    if cb[i] != b:
                        cb[i] = b
                        cbb[i] = _block_bound(b, imp_off, imp_tf, imp_norm, weight[i], kn, field[i])
                    rest = prefix[i - 1] if i > 0 else 0.0
                    if (s + cbb[i] + rest) * safe <= theta:
                        pruned = True
                        break
                    bs = start[i] + (b - bstart[i]) * BLOCK
                    be_p = bs + BLOCK
                    if be_p > end[i]:
                        be_p = end[i]
                    q = _seek(docs, pos[i], bs, be_p, d)
                    pos[i] = q
                    if q < end[i] and np.int64(docs[q]) == d:
                        s += np.float32(weight[i]) * sat[q]
                if pruned or s <= theta:
                    continue
                if size < k or _worse(hs[0], hd[0], s, d):
                    size = _heap_push(hs, hd, size, s, d)
                if size == k and hs[0] > theta:
                    theta = hs[0]
        while p < n and prefix[p] * safe <= theta:
            p += 1
    return _heap_sorted(hs, hd, size)


@njit(cache=True, inline="always")
def _cmp_bytes(a, s, e, b, bs, be):  # type: ignore[no-untyped-def]
    """Sign of ``a[s:e]`` against ``b[bs:be]`` in byte order (shorter prefix first)."""
    n1 = e - s
    n2 = be - bs
    n = n1 if n1 < n2 else n2
    for i in range(n):
        x = a[s + i]
        y = b[bs + i]
        if x != y:
            return -1 if x < y else 1
    if n1 == n2:
        return 0
    return -1 if n1 < n2 else 1


_FNV0 = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, inline="always")
def _term_hash(buf, s, e):  # type: ignore[no-untyped-def]
    """64-bit FNV-1a of ``buf[s:e]``."""
    h = _FNV0
    for i in range(s, e):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def term_hash_table(terms_blob, terms_off):  # type: ignore[no-untyped-def]
    """Open-addressing hash table (linear probing, a power of two >= 2x the terms, -1 = empty)
    of a segment's term dictionary: slot ``FNV-1a(term) & (size - 1)`` or the next free one
    holds the term's ordinal."""
    n = len(terms_off) - 1
    size = 1
    while size < 2 * n:
        size <<= 1
    table = np.full(size, -1, dtype=np.int32)
    mask = np.uint64(size - 1)
    for t in range(n):
        slot = _term_hash(terms_blob, terms_off[t], terms_off[t + 1]) & mask
        while table[slot] != -1:
            slot = (slot + np.uint64(1)) & mask
        table[slot] = t
    return table


@njit(cache=True)
def lookup_terms_hashed(terms_blob, terms_off, table, q):  # type: ignore[no-untyped-def]
    """Ordinal of each query term (``q``: UTF-8 bytes, each followed by ``TERM_END``) in a
    segment's dictionary, or -1 — the reference ``lookup_terms``'s answer — through the
    dictionary's ``term_hash_table``: a probe or two per term instead of a binary search (which
    misses the CPU caches at every level on a large dictionary)."""
    m = 0
    for i in range(len(q)):
        if q[i] == TERM_END:
            m += 1
    out = np.full(m, -1, dtype=np.int64)
    mask = np.uint64(len(table) - 1)
    qs = 0
    for i in range(m):
        qe = qs
        while q[qe] != TERM_END:
            qe += 1
        slot = _term_hash(q, qs, qe) & mask
        while True:
            t = table[slot]
            if t < 0:
                break
            if _cmp_bytes(terms_blob, terms_off[t], terms_off[t + 1], q, qs, qe) == 0:
                out[i] = t
                break
            slot = (slot + np.uint64(1)) & mask
        qs = qe + 1
    return out


@njit(cache=True)
def term_doc_freqs(terms_blob, terms_off, table, list_start, n_fields, q, q_fields):  # type: ignore[no-untyped-def]
    ords = lookup_terms_hashed(terms_blob, terms_off, table, q)
    dfs = np.zeros(len(ords), dtype=np.int64)
    for i in range(len(ords)):
        o = ords[i]
        if o >= 0:
            j = o * n_fields + q_fields[i]
            dfs[i] = list_start[j + 1] - list_start[j]
    return ords, dfs


@njit(cache=True, inline="always")
def _lower(b, fold):  # type: ignore[no-untyped-def]
    """ASCII byte ``b``, lower-cased when ``fold``."""
    if fold and 65 <= b <= 90:
        return b + 32
    return b


#: byte classes of ``scan_chunks`` (``cls`` argument): ASCII punctuation and symbols, ASCII
#: whitespace, ASCII letters and digits, the apostrophe, a lead byte of non-ASCII whitespace,
#: any other non-ASCII byte
PUNCT, SPACE, ALNUM, APOSTROPHE, SPACE_LEAD, OTHER = 0, 1, 2, 3, 4, 5
@njit(cache=True, inline="always")
def _space_width(buf, i, cls, ws):  # type: ignore[no-untyped-def]
    """Bytes of the whitespace character at ``buf[i]`` (``str.isspace``), 0 if it is not one."""
    c = cls[buf[i]]
    if c == 1:
        return 1
    if c != 4:
        return 0
    b = buf[i]
    if b < 0xE0:
        cp = ((np.int64(b) & 0x1F) << 6) | (np.int64(buf[i + 1]) & 0x3F)
        n = 2
    elif b < 0xF0:
        cp = ((np.int64(b) & 0x0F) << 12) | ((np.int64(buf[i + 1]) & 0x3F) << 6) | (np.int64(buf[i + 2]) & 0x3F)
        n = 3
    else:
        cp = (((np.int64(b) & 0x07) << 18) | ((np.int64(buf[i + 1]) & 0x3F) << 12)
              | ((np.int64(buf[i + 2]) & 0x3F) << 6) | (np.int64(buf[i + 3]) & 0x3F))
        n = 4
    for x in ws:
        if x == cp:
            return n
    return 0


@njit(cache=True, inline="always")
def _find_key(buf, s, e, h, fold, slots, hashes, key_off, arena):  # type: ignore[no-untyped-def]
    """Id of the key ``buf[s:e]`` (ASCII-lower-cased when ``fold``; ``h`` its FNV-1a hash) in
    the key table, or ``-1 - slot`` with the free slot where it goes when it is new.

    Only the lookup is inlined into the scanner; the rare insertion is :func:`_insert_key`, a
    call. Measured apart over blog-300k's 25M keys: 3.0-3.8 s with the insertion inlined,
    1.3 s without (0.24 s for the probing alone)."""
    mask = np.uint64(len(slots) - 1)
    slot = h & mask
    n = e - s
    while True:
        c = slots[slot]
        if c == -1:
            return -1 - np.int64(slot)
        if hashes[c] == h:
            ks = key_off[c]
            if key_off[c + 1] - 1 - ks == n:
                same = True
                for i in range(n):
                    if arena[ks + i] != _lower(buf[s + i], fold):
                        same = False
                        break
                if same:
                    return np.int64(c)
        slot = (slot + np.uint64(1)) & mask


@njit(cache=True)
def _insert_key(buf, s, e, h, fold, slot, slots, hashes, key_off, arena, n_keys, arena_len):  # type: ignore[no-untyped-def]
    """Insert the new key ``buf[s:e]`` (hash ``h``) at the free ``slot`` that
    :func:`_find_key` returned: its bytes, then a space, appended to the arena. Returns (id,
    n_keys, arena_len); id -1 when it does not fit (the table holds at most ``len(hashes)``
    keys, at most half of ``len(slots)``, and the arena is full)."""
    n = e - s
    c = n_keys
    if c >= len(hashes) or 2 * c >= len(slots) or arena_len + n + 1 > len(arena):
        return -1, n_keys, arena_len
    slots[slot] = c
    hashes[c] = h
    for i in range(n):
        arena[arena_len + i] = _lower(buf[s + i], fold)
    arena[arena_len + n] = 32
    arena_len += n + 1
    key_off[c + 1] = arena_len
    return c, n_keys + 1, arena_len


@njit(cache=True)
def scan_chunks(buf, doc_off, d0, cls, ws, fold, slots, hashes, key_off, arena, n_keys, arena_len,  # type: ignore[no-untyped-def]
                out_keys, n_out, doc_keys, w_start, w_end, w_hash):
    """Split each document ``buf[doc_off[d]:doc_off[d + 1]]`` (UTF-8) into chunks at whitespace,
    exactly like ``str.split()``, and each chunk into *keys*: an all-ASCII chunk into its words
    (runs of ASCII letters and digits joined by single apostrophes, which is what the ``unicode``
    tokenizer finds in ASCII text; lower-cased when ``fold``), any other chunk is one key. Writes
    each key's id in the key table to ``out_keys`` and each document's key count to
    ``doc_keys``; new keys are inserted.

    One pass over the bytes, classified by ``cls`` (``PUNCT`` ... ``OTHER``): each word is read
    by a tight loop of its own (its FNV-1a hash as the bytes go by), and the words are looked up
    when their chunk ends ASCII; a chunk that turns out to hold a non-ASCII byte is looked up
    whole instead. ASCII whitespace is ``\\t\\n\\v\\f\\r``, 0x1c-0x1f and space; a code point in
    ``ws`` (the non-ASCII whitespace) is recognised by its lead byte (``SPACE_LEAD``), then
    decoded. (A word loop instead of one state machine for every byte: the byte loop alone, in
    a probe over blog-300k's 134 MB, 0.8 instead of 1.7 s.)

    ``w_start``, ``w_end``, ``w_hash`` are scratch for the words of one chunk.

    Starts at document ``d0`` with ``n_out`` keys already written. Returns (n_keys, arena_len,
    next document, n_out): the next document is ``len(doc_off) - 1`` when all are done, or the
    first one whose new keys did not fit in the table (its keys are not written; the caller
    grows the table and calls again from there), or ``-1 - d`` when a chunk of document ``d``
    has more words than the scratch holds (the caller doubles it and calls again from ``d``)."""
    n_docs = len(doc_off) - 1
    for d in range(d0, n_docs):
        i = doc_off[d]
        e = doc_off[d + 1]
        before = n_out
        while i < e:
            c = cls[buf[i]]
            if c == 1:  # ASCII whitespace, tested before the call (with it inlined here: 2.1 vs 1.0 s)
                i += 1
                continue
            if c == 4:
                w = _space_width(buf, i, cls, ws)
                if w:
                    i += w
                    continue
            s = i  # a chunk starts: its words until whitespace, unless a non-ASCII byte comes
            ascii = True
            nw = 0
            while i < e:
                b = buf[i]
                c = cls[b]
                if c == 2:  # a word: letters and digits, single apostrophes between them
                    if nw == len(w_start):  # the caller's word scratch is full
                        return n_keys, arena_len, -1 - d, before
                    w_start[nw] = i
                    h = _FNV0
                    while True:
                        h = (h ^ np.uint64(_lower(b, fold))) * _FNV_PRIME
                        i += 1
                        if i >= e:
                            break
                        b = buf[i]
                        if cls[b] != 2:
                            if cls[b] == 3 and i + 1 < e and cls[buf[i + 1]] == 2:
                                h = (h ^ np.uint64(39)) * _FNV_PRIME
                                i += 1
                                b = buf[i]
                                continue
                            break
                    w_end[nw] = i
                    w_hash[nw] = h
                    nw += 1
                elif c == 1:
                    break
                elif c == 0 or c == 3:  # punctuation, a lone apostrophe
                    i += 1
                elif c == 4 and _space_width(buf, i, cls, ws):
                    break
                else:  # a non-ASCII byte: the whole chunk is one key
                    ascii = False
                    i += 1
                    while i < e and not _space_width(buf, i, cls, ws):
                        i += 1
                    break
            if not ascii:
                h = _term_hash(buf, s, i)
                k = _find_key(buf, s, i, h, False, slots, hashes, key_off, arena)
                if k < 0:
                    k, n_keys, arena_len = _insert_key(buf, s, i, h, False, -1 - k, slots, hashes, key_off, arena,
                                                       n_keys, arena_len)
                    if k < 0:
                        return n_keys, arena_len, d, before
                out_keys[n_out] = k
                n_out += 1
                continue
            for q in range(nw):
                ws_, we_, h = w_start[q], w_end[q], w_hash[q]
                k = _find_key(buf, ws_, we_, h, fold, slots, hashes, key_off, arena)
                if k < 0:
                    k, n_keys, arena_len = _insert_key(buf, ws_, we_, h, fold, -1 - k, slots, hashes, key_off, arena,
                                                       n_keys, arena_len)
                    if k < 0:
                        return n_keys, arena_len, d, before
                out_keys[n_out] = k
                n_out += 1
        doc_keys[d] = n_out - before
    return n_keys, arena_len, n_docs, n_out


@njit(cache=True)
def rehash_chunks(hashes, n_chunks, size):  # type: ignore[no-untyped-def]
    """A chunk table's slots (``size`` a power of two) rebuilt from its chunks' hashes."""
    slots = np.full(size, -1, dtype=np.int32)
    mask = np.uint64(size - 1)
    for c in range(n_chunks):
        slot = hashes[c] & mask
        while slots[slot] != -1:
            slot = (slot + np.uint64(1)) & mask
        slots[slot] = c
    return slots


@njit(cache=True)
def expand_chunks(chunks, doc_chunks, term_off, term_ids):  # type: ignore[no-untyped-def]
    """Term ids of each document, its chunks' term ids in order (``term_ids[term_off[c]:
    term_off[c + 1]]`` for chunk ``c``): returns (the ids of every document concatenated,
    each document's count)."""
    n_docs = len(doc_chunks)
    lens = np.empty(n_docs, dtype=np.uint32)
    total = 0
    j = 0
    for d in range(n_docs):
        m = 0
        for _ in range(doc_chunks[d]):
            c = chunks[j]
            j += 1
            m += term_off[c + 1] - term_off[c]
        lens[d] = m
        total += m
    out = np.empty(total, dtype=np.uint32)
    j = 0
    o = 0
    for d in range(n_docs):
        for _ in range(doc_chunks[d]):
            c = chunks[j]
            j += 1
            for t in range(term_off[c], term_off[c + 1]):
                out[o] = term_ids[t]
                o += 1
    return out, lens


@njit(cache=True)
def count_postings(tid, lens, keep, newdoc, list_of, last, df):  # type: ignore[no-untyped-def]
    """Inversion, pass 1: ``df[l] += 1`` for each kept slot ``s`` (document ``newdoc[s]``) that
    has a term ``t`` of list ``l = list_of[t]`` among its ``lens[s]`` term ids in ``tid``.
    ``last[l]`` (-1 at first) is the last document counted for list ``l``."""
    p = 0
    for s in range(len(lens)):
        n = lens[s]
        if keep[s]:
            d = newdoc[s]
            for j in range(p, p + n):
                lst = list_of[tid[j]]
                if last[lst] != d:
                    last[lst] = d
                    df[lst] += 1
        p += n


@njit(cache=True)
def fill_postings(tid, lens, keep, newdoc, list_of, last, pos, docs, tfs):  # type: ignore[no-untyped-def]
    """Inversion, pass 2 (same walk as ``count_postings``, ``last`` reset to -1): a document's
    first occurrence of a list's term writes posting ``pos[l]`` (doc, tf 1) and advances it;
    later occurrences add 1 to that posting's tf. Slots come in document order, so each list
    ends up sorted by document."""
    p = 0
    for s in range(len(lens)):
        n = lens[s]
        if keep[s]:
            d = newdoc[s]
            for j in range(p, p + n):
                lst = list_of[tid[j]]
                if last[lst] != d:
                    last[lst] = d
                    docs[pos[lst]] = d
                    tfs[pos[lst]] = 1
                    pos[lst] += 1
                else:
                    tfs[pos[lst] - 1] += 1
        p += n


@njit(cache=True)
def count_live_postings(docs, list_start, keep, list_map, df):  # type: ignore[no-untyped-def]
    """Merge, pass 1: ``df[list_map[i]]`` += the postings of list ``i`` whose document is kept."""
    for i in range(len(list_start) - 1):
        n = 0
        for p in range(list_start[i], list_start[i + 1]):
            if keep[docs[p]]:
                n += 1
        df[list_map[i]] += n


@njit(cache=True)
def copy_live_postings(docs, tfs, list_start, keep, newdoc, list_map, pos, out_docs, out_tfs):  # type: ignore[no-untyped-def]
    """Merge, pass 2: the kept postings of list ``i``, documents renumbered by ``newdoc``,
    appended to merged list ``list_map[i]`` at ``pos[list_map[i]]`` (which advances)."""
    for i in range(len(list_start) - 1):
        o = pos[list_map[i]]
        for p in range(list_start[i], list_start[i + 1]):
            d = docs[p]
            if keep[d]:
                out_docs[o] = newdoc[d]
                out_tfs[o] = tfs[p]
                o += 1
        pos[list_map[i]] = o


@njit(cache=True, nogil=True)
def merge_sorted_terms(blob, off, runs):  # type: ignore[no-untyped-def]
    """k-way merge of sorted term runs: at each step the smallest head (byte order) becomes the
    next merged term and every run whose head equals it advances (k is a merge's segment count:
    a linear scan of the heads). Releases the GIL: a merge's other threads (a live writer's
    acknowledgements) keep running."""
    k = len(runs) - 1
    total = len(off) - 1
    cur = runs[:-1].copy()
    rep = np.empty(total, dtype=np.int64)  # input index of each merged term
    remap = np.empty(total, dtype=np.int64)
    m = 0
    size = 0
    while True:
        best = -1
        for r in range(k):
            if cur[r] < runs[r + 1]:
                if best < 0:
                    best = r
                else:
                    t = cur[r]
                    b = cur[best]
                    if _cmp_bytes(blob, off[t], off[t + 1], blob, off[b], off[b + 1]) < 0:
                        best = r
        if best < 0:
            break
        t0 = cur[best]
        rep[m] = t0
        size += off[t0 + 1] - off[t0]
        for r in range(k):
            t = cur[r]
            if t < runs[r + 1] and _cmp_bytes(blob, off[t], off[t + 1], blob, off[t0], off[t0 + 1]) == 0:
                remap[t] = m
                cur[r] = t + 1
        m += 1
    out = np.empty(size, dtype=np.uint8)
    out_off = np.zeros(m + 1, dtype=np.int64)
    at = 0
    for i in range(m):
        t = rep[i]
        for j in range(off[t], off[t + 1]):
            out[at] = blob[j]
            at += 1
        out_off[i + 1] = at
    return out, out_off, remap


@njit(cache=True, nogil=True)
def list_bounds(imp_off, imp_tf, imp_norm, list_bstart, n_fields, kn):  # type: ignore[no-untyped-def]
    """Per (term, field) list ``j``, the max over its blocks' impacts of the float32 saturation
    with ``kn[j % n_fields, norm]`` (once per snapshot: ``kn`` follows the statistics)."""
    n = len(list_bstart) - 1
    out = np.zeros(n, dtype=np.float64)
    for j in range(n):
        f = j % n_fields
        best = 0.0
        for b in range(list_bstart[j], list_bstart[j + 1]):
            for i in range(imp_off[b], imp_off[b + 1]):
                tf = float(imp_tf[i])
                v = np.float64(np.float32(tf / (tf + kn[f, imp_norm[i]])))
                if v > best:
                    best = v
        out[j] = best
    return out


@njit(cache=True)
def bind_terms(terms_blob, terms_off, table, list_start, q, n_docs, field_weight):  # type: ignore[no-untyped-def]
    """Bind a bag of analysed query terms to a one-field, one-segment snapshot in one call:
    look the terms up, drop those without postings, merge repeats (query tf), and weigh each
    distinct term ``idf * field_weight * qtf``. Returns (ordinals, index of each one's first
    occurrence in ``q``, qtfs, dfs, idfs, weights), distinct terms in order of first occurrence."""
    ords = lookup_terms_hashed(terms_blob, terms_off, table, q)
    m = len(ords)
    u_ord = np.empty(m, dtype=np.int64)
    first = np.empty(m, dtype=np.int64)
    qtf = np.zeros(m, dtype=np.int64)
    dfs = np.empty(m, dtype=np.int64)
    u = 0
    for i in range(m):
        o = ords[i]
        if o < 0:
            continue
        d = list_start[o + 1] - list_start[o]
        if d <= 0:
            continue
        seen = -1
        for j in range(u):
            if u_ord[j] == o:
                seen = j
                break
        if seen >= 0:
            qtf[seen] += 1
        else:
            u_ord[u] = o
            first[u] = i
            qtf[u] = 1
            dfs[u] = d
            u += 1
    idf = np.empty(u, dtype=np.float64)
    w = np.empty(u, dtype=np.float64)
    for j in range(u):
        x = math.log(1.0 + (n_docs - dfs[j] + 0.5) / (dfs[j] + 0.5))
        idf[j] = x
        w[j] = x * field_weight * qtf[j]
    return u_ord[:u].copy(), first[:u].copy(), qtf[:u].copy(), dfs[:u].copy(), idf, w


@njit(cache=True)
def prepare_cursors(list_start, list_bstart, n_fields, ords, fields, weights, list_ub):  # type: ignore[no-untyped-def]
    """Resolve (term ordinal, field) pairs of one segment into cursors sorted by ascending
    upper bound (ties by input index). Pairs with ord < 0 or no postings are dropped.
    Returns (index, start, end, bstart, ub, weight, field)."""
    n = len(ords)
    idx = np.empty(n, dtype=np.int64)
    st = np.empty(n, dtype=np.int64)
    en = np.empty(n, dtype=np.int64)
    bs = np.empty(n, dtype=np.int64)
    ub = np.empty(n, dtype=np.float64)
    m = 0
    for i in range(n):
        o = ords[i]
        if o < 0:
            continue
        j = o * n_fields + fields[i]
        s = list_start[j]
        e = list_start[j + 1]
        if e <= s:
            continue
        b0 = list_bstart[j]
        best = (weights[i] * list_ub[j]) * (1.0 + 1e-6) + 1e-12
        # insertion sort by (ub, i)
        q = m
        while q > 0 and ub[q - 1] > best:
            idx[q] = idx[q - 1]
            st[q] = st[q - 1]
            en[q] = en[q - 1]
            bs[q] = bs[q - 1]
            ub[q] = ub[q - 1]
            q -= 1
        idx[q] = i
        st[q] = s
        en[q] = e
        bs[q] = b0
        ub[q] = best
        m += 1
    w = np.empty(m, dtype=np.float64)
    f = np.empty(m, dtype=np.int64)
    for q in range(m):
        w[q] = weights[idx[q]]
        f[q] = fields[idx[q]]
    return idx[:m].copy(), st[:m].copy(), en[:m].copy(), bs[:m].copy(), ub[:m].copy(), w, f


@njit(cache=True)
def topk_terms(  # type: ignore[no-untyped-def]
    docs, sat, blk_last, imp_off, imp_tf, imp_norm, list_start, list_bstart, list_ub, n_fields, ords, fields,
    weights, kn, allowed, k, theta0, mode, acc, hit,
):
    """One call per segment: resolve (term ordinal, field) pairs into cursors (``prepare_cursors``)
    and run block-max MaxScore (``mode`` 1), the exhaustive scorer (``mode`` 2), or choose
    (``mode`` 0): term-at-a-time on segments under AUTO_LARGE_SEGMENT documents, for queries
    with few postings or more than AUTO_MAXSCORE_MAX_K hits, and on larger segments for queries
    with at least one posting per AUTO_TAAT_RATIO documents; windowed MaxScore otherwise (see AUTO_LARGE_SEGMENT for the
    measurements behind the rule)."""
    _, st, en, bs, ub, w, f = prepare_cursors(list_start, list_bstart, n_fields, ords, fields, weights, list_ub)
    exhaustive = mode == 2
    if mode == 0:
        total = 0
        for i in range(len(st)):
            total += en[i] - st[i]
        ndocs = len(acc)
        exhaustive = (
            total <= AUTO_TAAT_POSTINGS
            or ndocs < AUTO_LARGE_SEGMENT
            or k > AUTO_MAXSCORE_MAX_K
            or AUTO_TAAT_RATIO * total >= ndocs
        )
    if exhaustive:
        return topk_exhaustive_scratch(docs, sat, st, en, w, allowed, k, theta0, acc, hit, ub, DEFER)
    return topk_maxscore(docs, sat, blk_last, imp_off, imp_tf, imp_norm, st, en, bs, ub, w, f, kn, allowed, k, theta0)


@njit(cache=True)
def plain_top(  # type: ignore[no-untyped-def]
    terms_blob, terms_off, table, list_start, q, n_docs, field_weight, docs, sat, blk_last, imp_off, imp_tf,
    imp_norm, list_bstart, list_ub, kn, allowed, k, mode, acc, hit,
):
    """``bind_terms`` then ``topk_terms`` in one call: a plain bag-of-words query on a one-field,
    one-segment snapshot, top ``k`` (docs, scores) with no entry threshold. One dispatch and two
    returned arrays instead of two dispatches, eight arrays and the Python between them
    (SciFact, ``search_ids``, whole query: 40.2 instead of 55.9 us at k=10)."""
    ords, _first, _qtf, _dfs, _idf, weights = bind_terms(terms_blob, terms_off, table, list_start, q, n_docs,
                                                         field_weight)
    fields = np.zeros(len(ords), dtype=np.int64)
    return topk_terms(docs, sat, blk_last, imp_off, imp_tf, imp_norm, list_start, list_bstart, list_ub, 1, ords,
                      fields, weights, kn, allowed, k, _NEG_INF, mode, acc, hit)


# -- index building helpers ---------------------------------------------------------------


@njit(cache=True, nogil=True)
def block_metadata(docs, tfs, list_start, norms_per_posting):  # type: ignore[no-untyped-def]
    """Blocks of BLOCK postings per list: last doc and the block's *impacts* — the Pareto
    frontier of (tf, norm) pairs (no other posting has both a higher tf and a lower norm),
    which gives the exact block-max score for any BM25 parameters (Lucene's impacts)."""
    nlists = len(list_start) - 1
    nblocks = 0
    for j in range(nlists):
        nblocks += (list_start[j + 1] - list_start[j] + BLOCK - 1) // BLOCK
    last = np.empty(nblocks, dtype=np.uint32)
    imp_off = np.empty(nblocks + 1, dtype=np.int64)
    imp_tf = np.empty(len(docs), dtype=np.uint16)
    imp_norm = np.empty(len(docs), dtype=np.uint8)
    lb = np.empty(nlists + 1, dtype=np.int64)
    best = np.zeros(256, dtype=np.int64)
    b = 0
    ni = 0
    for j in range(nlists):
        lb[j] = b
        s = list_start[j]
        e = list_start[j + 1]
        for q in range(s, e, BLOCK):
            qe = min(q + BLOCK, e)
            lo = 255
            hi = 0
            for r in range(q, qe):
                nr = norms_per_posting[r]
                if tfs[r] > best[nr]:
                    best[nr] = tfs[r]
                if nr < lo:
                    lo = nr
                if nr > hi:
                    hi = nr
            imp_off[b] = ni
            running = 0
            for nr in range(lo, hi + 1):
                t = best[nr]
                if t > running:
                    running = t
                    imp_tf[ni] = t
                    imp_norm[ni] = nr
                    ni += 1
                best[nr] = 0
            last[b] = docs[qe - 1]
            b += 1
    imp_off[nblocks] = ni
    lb[nlists] = b
    return last, imp_off, imp_tf[:ni].copy(), imp_norm[:ni].copy(), lb


# -- postings compression: per block of BLOCK postings, doc gaps and tf-1 bit-packed ----------


@njit(cache=True, nogil=True, inline="always")
def _bits(v):  # type: ignore[no-untyped-def]
    n = 0
    while v > 0:
        n += 1
        v >>= 1
    return n


@njit(cache=True, nogil=True)
def pack_postings(docs, tfs, list_start):  # type: ignore[no-untyped-def]
    """Bit-pack list-major postings. Per block (BLOCK postings of one list): ``dbits`` and
    ``tbits`` widths, then ``count`` values ``doc - prev - 1`` (prev = previous doc of the list,
    -1 at its start) and ``count`` values ``tf - 1``, little-endian bit order in uint32 words.
    Returns (words, dbits, tbits)."""
    nlists = len(list_start) - 1
    nblocks = 0
    for j in range(nlists):
        nblocks += (list_start[j + 1] - list_start[j] + BLOCK - 1) // BLOCK
    dbits = np.empty(nblocks, dtype=np.uint8)
    tbits = np.empty(nblocks, dtype=np.uint8)
    words = np.zeros(2 * len(docs) + 2, dtype=np.uint32)
    w = 0
    acc = np.uint64(0)
    nacc = 0
    b = 0
    for j in range(nlists):
        s = list_start[j]
        e = list_start[j + 1]
        prev = np.int64(-1)
        for q in range(s, e, BLOCK):
            qe = min(q + BLOCK, e)
            md = np.int64(0)
            mt = np.int64(0)
            pv = prev
            for r in range(q, qe):
                g = np.int64(docs[r]) - pv - 1
                pv = np.int64(docs[r])
                if g > md:
                    md = g
                t = np.int64(tfs[r]) - 1
                if t > mt:
                    mt = t
            bd = _bits(md)
            bt = _bits(mt)
            dbits[b] = bd
            tbits[b] = bt
            b += 1
            for phase in range(2):
                width = bd if phase == 0 else bt
                if width == 0:
                    continue
                pv = prev
                for r in range(q, qe):
                    if phase == 0:
                        v = np.uint64(np.int64(docs[r]) - pv - 1)
                        pv = np.int64(docs[r])
                    else:
                        v = np.uint64(np.int64(tfs[r]) - 1)
                    acc |= v << np.uint64(nacc)
                    nacc += width
                    while nacc >= 32:
                        words[w] = np.uint32(acc & np.uint64(0xFFFFFFFF))
                        w += 1
                        acc >>= np.uint64(32)
                        nacc -= 32
            prev = np.int64(docs[qe - 1])
    if nacc > 0:
        words[w] = np.uint32(acc & np.uint64(0xFFFFFFFF))
        w += 1
    return words[:w].copy(), dbits, tbits


@njit(cache=True, nogil=True)
def unpack_postings(words, dbits, tbits, list_start):  # type: ignore[no-untyped-def]
    """Inverse of ``pack_postings``: (docs uint32, tfs uint16)."""
    nlists = len(list_start) - 1
    n = list_start[nlists]
    docs = np.empty(n, dtype=np.uint32)
    tfs = np.empty(n, dtype=np.uint16)
    w = 0
    acc = np.uint64(0)
    nacc = 0
    b = 0
    for j in range(nlists):
        s = list_start[j]
        e = list_start[j + 1]
        prev = np.int64(-1)
        for q in range(s, e, BLOCK):
            qe = min(q + BLOCK, e)
            for phase in range(2):
                width = np.int64(dbits[b]) if phase == 0 else np.int64(tbits[b])
                mask = (np.uint64(1) << np.uint64(width)) - np.uint64(1)
                for r in range(q, qe):
                    v = np.uint64(0)
                    if width > 0:
                        while nacc < width:
                            acc |= np.uint64(words[w]) << np.uint64(nacc)
                            w += 1
                            nacc += 32
                        v = acc & mask
                        acc >>= np.uint64(width)
                        nacc -= width
                    if phase == 0:
                        prev = prev + np.int64(v) + 1
                        docs[r] = prev
                    else:
                        tfs[r] = np.int64(v) + 1
            b += 1
    return docs, tfs


@njit(cache=True)
def gather_ids(ids_blob, ids_off, docs):  # type: ignore[no-untyped-def]
    """The UTF-8 bytes of the external ids of ``docs``, in order, separated by one NUL byte,
    and whether any of those ids holds a NUL itself (then the caller cannot split on it)."""
    n = len(docs)
    total = 0
    for i in range(n):
        total += ids_off[docs[i] + 1] - ids_off[docs[i]] + 1
    out = np.empty(max(total - 1, 0), dtype=np.uint8)
    nul = False
    pos = 0
    for i in range(n):
        if i > 0:
            out[pos] = 0
            pos += 1
        for j in range(ids_off[docs[i]], ids_off[docs[i] + 1]):
            c = ids_blob[j]
            nul |= c == 0
            out[pos] = c
            pos += 1
    return out, nul


@njit(cache=True)
def constraint_mask(docs, start, end, kind, n_required, base):  # type: ignore[no-untyped-def]
    n = len(base)
    out = base.copy()
    if n_required > 0:
        count = np.zeros(n, dtype=np.int32)
        for i in range(len(start)):
            kd = kind[i]
            if kd % 2 == 1:
                g = (kd - 1) // 2
                for p in range(start[i], end[i]):
                    d = docs[p]
                    if count[d] == g:
                        count[d] = g + 1
        for d in range(n):
            if count[d] != n_required:
                out[d] = 0
    for i in range(len(start)):
        if kind[i] == 2:
            for p in range(start[i], end[i]):
                out[docs[p]] = 0
    return out


@njit(cache=True, nogil=True)
def posting_saturation(docs, tfs, list_start, n_fields, knd):  # type: ignore[no-untyped-def]
    """Per posting, BM25's saturation ``tf / (tf + k1 * (1 - b + b * dl / avgdl))`` as float32
    (the per-document denominator part comes from ``knd[field, doc]``)."""
    out = np.empty(len(docs), dtype=np.float32)
    for j in range(len(list_start) - 1):
        f = j % n_fields
        for p in range(list_start[j], list_start[j + 1]):
            tf = np.float64(tfs[p])
            out[p] = np.float32(tf / (tf + knd[f, docs[p]]))
    return out


def warmup() -> None:
    """Compile every kernel on a tiny input (loads from the on-disk cache when present)."""
    docs = np.array([0, 2, 1, 2], dtype=np.uint32)
    tfs = np.array([1, 2, 1, 1], dtype=np.uint16)
    start = np.array([0, 2], dtype=np.int64)
    end = np.array([2, 4], dtype=np.int64)
    ls = np.array([0, 2, 4], dtype=np.int64)
    npp = np.zeros(4, dtype=np.uint8)
    last, imp_off, imp_tf, imp_norm, lb = block_metadata(docs, tfs, ls, npp)
    weight = np.array([1.0, 2.0])
    field = np.zeros(2, dtype=np.int64)
    kn = np.ones((1, 256), dtype=np.float64)
    knd = np.ones((1, 3), dtype=np.float64)
    sat = posting_saturation(docs, tfs, ls, 1, knd)
    allowed = np.empty(0, dtype=np.uint8)
    topk_exhaustive(docs, sat, start, end, weight, 3, allowed, 2, -np.inf)
    ub = cursor_upper_bounds(imp_off, imp_tf, imp_norm, lb[:2], lb[1:], weight, field, kn)
    topk_maxscore(docs, sat, last, imp_off, imp_tf, imp_norm, start, end, lb[:2], ub, weight, field, kn, allowed, 2,
                  -np.inf)
    constraint_mask(docs, start, end, np.array([1, 2], dtype=np.int64), 1, np.ones(3, dtype=np.uint8))
    lub = list_bounds(imp_off, imp_tf, imp_norm, lb, 1, kn)
    prepare_cursors(ls, lb, 1, np.array([0, 1, -1]), np.zeros(3, dtype=np.int64), np.ones(3), lub)
    # numba compiles one specialisation per array *mutability* too: segments opened from disk hand
    # the kernels read-only (memory-mapped) block metadata and packed postings, in-memory ones
    # writable arrays; compile both so no first query pays for a compile
    def ro(a):  # type: ignore[no-untyped-def]
        a = a.copy()
        a.flags.writeable = False
        return a

    for meta in ((last, imp_tf, imp_norm), (ro(last), ro(imp_tf), ro(imp_norm))):
        list_bounds(imp_off, meta[1], meta[2], lb, 1, kn)
        for mode in (0, 1, 2):
            topk_terms(docs, sat, meta[0], imp_off, meta[1], meta[2], ls, lb, lub, 1, np.array([0, 1, -1]),
                       np.zeros(3, dtype=np.int64), np.ones(3), kn, allowed, 2, -np.inf, mode,
                       np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.uint8))
    blob = np.frombuffer(b"ab", dtype=np.uint8)
    off = np.array([0, 1, 2], dtype=np.int64)
    q = np.frombuffer(b"b\xff", dtype=np.uint8)
    for b in (blob.copy(), blob):  # a segment's dictionary is read-only (memory-mapped) or in memory
        table = term_hash_table(b, off)
        lookup_terms_hashed(b, off, table, q)  # query terms: read-only bytes
        term_doc_freqs(b, off, table, ls, 1, q, np.zeros(1, dtype=np.int64))
        bind_terms(b, off, table, ls, q, 3, 1.0)
        for meta in ((last, imp_tf, imp_norm), (ro(last), ro(imp_tf), ro(imp_norm))):
            plain_top(b, off, table, ls, q, 3, 1.0, docs, sat, meta[0], imp_off, meta[1], meta[2], lb, lub, kn,
                      allowed, 2, 0, np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.uint8))
    for b in (blob.copy(), blob):  # the id blob is memory-mapped (read-only) or in memory
        gather_ids(b, off, np.array([1, 0], dtype=np.int64))
    words, dbits, tbits = pack_postings(docs, tfs, ls)
    unpack_postings(words, dbits, tbits, ls)
    tid = np.array([0, 1, 0], dtype=np.uint32)
    lens = np.array([2, 1], dtype=np.uint32)
    keep = np.ones(2, dtype=np.bool_)
    newdoc = np.arange(2, dtype=np.int64)
    list_of = np.arange(2, dtype=np.int64)
    df = np.zeros(2, dtype=np.int64)
    count_postings(tid, lens, keep, newdoc, list_of, np.full(2, -1, dtype=np.int64), df)
    for d, t in ((docs, tfs), (ro(docs), ro(tfs))):  # a merge reads memory-mapped or in-memory segments
        count_live_postings(d, ls, keep, list_of, np.zeros(2, dtype=np.int64))
        copy_live_postings(d, t, ls, keep, np.arange(3, dtype=np.int64), list_of, np.array([0, 2]),
                           np.zeros(4, dtype=np.uint32), np.zeros(4, dtype=np.uint32))
    merge_sorted_terms(np.frombuffer(b"abb", dtype=np.uint8).copy(), np.arange(4, dtype=np.int64),
                       np.array([0, 2, 3], dtype=np.int64))  # a merge's concatenated dictionaries
    fill_postings(tid, lens, keep, newdoc, list_of, np.full(2, -1, dtype=np.int64), np.array([0, 2]),
                  np.zeros(3, dtype=np.uint32), np.zeros(3, dtype=np.uint32))
    text = np.frombuffer("a b\u3000a".encode(), dtype=np.uint8)
    ws = np.array([0x3000], dtype=np.int64)
    lead = np.zeros(256, dtype=np.uint8)
    lead[0xE3] = 4
    hashes = np.zeros(4, dtype=np.uint64)
    key_off = np.zeros(5, dtype=np.int64)
    chunks = np.zeros(4, dtype=np.int32)
    doc_chunks = np.zeros(1, dtype=np.int64)
    for buf in (text, text.copy()):  # the writer's batches are writable buffers
        n, _, _, _ = scan_chunks(buf, np.array([0, len(buf)], dtype=np.int64), 0, lead, ws, True,
                                 np.full(8, -1, dtype=np.int32), hashes, key_off, np.zeros(16, dtype=np.uint8), 0,
                                 0, chunks, 0, doc_chunks, np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.int64),
                                 np.zeros(4, dtype=np.uint64))
    rehash_chunks(hashes, n, 8)
    expand_chunks(chunks, doc_chunks, np.arange(n + 1, dtype=np.int64), np.zeros(n, dtype=np.uint32))
    unpack_postings(ro(words), ro(dbits), ro(tbits), ls)
