"""Differential tests: block-max MaxScore == exhaustive == pure-Python reference, over random
postings and norms (hypothesis), exactly (same docs, same order, bit-identical scores)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron.codec.norms import norm_cache
from heron.kernels import compiled, reference


@st.composite
def postings_problem(draw: st.DrawFn) -> dict[str, object]:
    n_docs = draw(st.integers(1, 700))
    n_fields = draw(st.integers(1, 2))
    n_cursors = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    docs_parts, tf_parts = [], []
    starts, ends = [], []
    pos = 0
    for _ in range(n_cursors):
        density = draw(st.sampled_from([0.001, 0.02, 0.2, 0.7, 1.0]))
        d = np.flatnonzero(rng.random(n_docs) < density).astype(np.uint32)
        if len(d) == 0:
            d = np.array([rng.integers(n_docs)], dtype=np.uint32)
        tf = rng.integers(1, draw(st.sampled_from([2, 5, 300])), size=len(d)).astype(np.uint16)
        docs_parts.append(d)
        tf_parts.append(tf)
        starts.append(pos)
        pos += len(d)
        ends.append(pos)
    docs = np.concatenate(docs_parts)
    tfs = np.concatenate(tf_parts)
    field = rng.integers(0, n_fields, size=n_cursors).astype(np.int64)
    lengths = rng.integers(0, draw(st.sampled_from([5, 50, 2000])), size=(n_fields, n_docs))
    from heron.codec.norms import encode_lengths

    norms = encode_lengths(lengths).reshape(n_fields, n_docs)
    k1 = draw(st.sampled_from([0.0, 0.9, 1.2, 2.0]))
    b = draw(st.sampled_from([0.0, 0.4, 0.75, 1.0]))
    avg = [float(lengths[f].mean()) or 1.0 for f in range(n_fields)]
    kn = np.stack([norm_cache(k1, b, avg[f]) for f in range(n_fields)])
    knd = np.stack([k1 * ((1 - b) + b * lengths[f] / avg[f]) for f in range(n_fields)])
    weight = rng.uniform(0.01, 5.0, size=n_cursors)
    if draw(st.booleans()):
        weight[:] = weight[0]  # many exact ties
    allowed = np.empty(0, dtype=np.uint8)
    if draw(st.booleans()):
        allowed = (rng.random(n_docs) < draw(st.sampled_from([0.05, 0.5, 0.95]))).astype(np.uint8)
    return {
        "docs": docs, "tfs": tfs, "start": np.array(starts, dtype=np.int64), "end": np.array(ends, dtype=np.int64),
        "field": field, "weight": weight, "kn": kn, "knd": knd, "norms": norms, "allowed": allowed,
        "k": draw(st.sampled_from([1, 3, 10, 100, 1000])),
        "theta0": draw(st.sampled_from([-np.inf, -np.inf, 0.5, 2.0])),
    }


def _saturation(docs: np.ndarray, tfs: np.ndarray, start: np.ndarray, end: np.ndarray, field: np.ndarray,
                knd: np.ndarray) -> np.ndarray:
    """Per posting float32 saturation; each cursor's list belongs to its own field. Checks the
    compiled kernel against the reference on single-field lists."""
    out = np.empty(len(docs), dtype=np.float32)
    for s, e, f in zip(start, end, field, strict=True):
        ls = np.array([0, e - s], dtype=np.int64)
        got = compiled.posting_saturation(docs[s:e], tfs[s:e], ls, 1, knd[f : f + 1])
        assert np.array_equal(got, reference.posting_saturation(docs[s:e], tfs[s:e], ls, 1, knd[f : f + 1]))
        out[s:e] = got
    return out


def _run_all(p: dict[str, object]) -> list[tuple[np.ndarray, np.ndarray]]:
    docs, tfs, start, end = p["docs"], p["tfs"], p["start"], p["end"]
    field, weight, kn, norms, allowed = p["field"], p["weight"], p["kn"], p["norms"], p["allowed"]
    knd = p["knd"]
    sat = _saturation(docs, tfs, start, end, field, knd)
    k, theta0 = p["k"], p["theta0"]
    list_start = np.concatenate([start, end[-1:]])  # type: ignore[index]
    npp = np.concatenate([norms[f, docs[s:e]] for f, s, e in zip(field, start, end, strict=True)])  # type: ignore[index,call-overload]
    meta = compiled.block_metadata(docs, tfs, list_start, npp)
    for got, want in zip(meta, reference.block_metadata(docs, tfs, list_start, npp), strict=True):
        assert np.array_equal(got, want)
    last, imp_off, imp_tf, imp_norm, lb = meta
    bstart = lb[:-1]
    bend = lb[1:]
    ub = compiled.cursor_upper_bounds(imp_off, imp_tf, imp_norm, bstart, bend, weight, field, kn)
    assert np.allclose(ub, reference.cursor_upper_bounds(imp_off, imp_tf, imp_norm, bstart, bend, weight, field, kn))
    order = np.lexsort((np.arange(len(ub)), ub))
    args = [a[order] for a in (start, end, bstart, ub, weight, field)]  # type: ignore[index]
    s_, e_, bs_, ub_, w_, f_ = args
    ndocs = knd.shape[1]
    ms = compiled.topk_maxscore(
        docs, sat, last, imp_off, imp_tf, imp_norm, s_, e_, bs_, ub_, w_, f_, kn, allowed, k, theta0
    )
    ex = compiled.topk_exhaustive(docs, sat, s_, e_, w_, ndocs, allowed, k, theta0)
    ref = reference.topk_exhaustive(docs, sat, s_, e_, w_, ndocs, allowed, k, theta0)
    return [ms, ex, ref]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(postings_problem())
def test_maxscore_equals_exhaustive_equals_reference(p: dict[str, object]) -> None:
    ms, ex, ref = _run_all(p)
    for docs, scores in (ms, ex):
        assert docs.tolist() == ref[0].tolist()
        # bit-identical: contributions are summed in the same (cursor) order everywhere
        assert scores.tolist() == ref[1].tolist()
    # order: score desc, then doc asc
    d, s = ref
    for i in range(1, len(d)):
        assert s[i - 1] > s[i] or (s[i - 1] == s[i] and d[i - 1] < d[i])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(postings_problem())
def test_list_bounds_give_exactly_the_largest_block_bound(p: dict[str, object]) -> None:
    """A cursor's upper bound from its list's precomputed bound (``list_bounds``, once per
    snapshot) is bit for bit the largest of its block bounds (what cursors were sorted by
    before): same cursor order, so the same summation order and scores."""
    docs, tfs, start, end = p["docs"], p["tfs"], p["start"], p["end"]
    field, weight, kn, norms = p["field"], p["weight"], p["kn"], p["norms"]
    list_start = np.concatenate([start, end[-1:]])  # type: ignore[index]
    npp = np.concatenate([norms[f, docs[s:e]] for f, s, e in zip(field, start, end, strict=True)])  # type: ignore[index,call-overload]
    _, imp_off, imp_tf, imp_norm, lb = compiled.block_metadata(docs, tfs, list_start, npp)
    ub = compiled.cursor_upper_bounds(imp_off, imp_tf, imp_norm, lb[:-1], lb[1:], weight, field, kn)
    for i, f in enumerate(field.tolist()):  # type: ignore[attr-defined]
        got = compiled.list_bounds(imp_off, imp_tf, imp_norm, lb[i : i + 2], 1, kn[f : f + 1])  # type: ignore[index]
        assert got.tolist() == reference.list_bounds(imp_off, imp_tf, imp_norm, lb[i : i + 2], 1, kn[f : f + 1]).tolist()  # type: ignore[index]
        assert weight[i] * got[0] * (1.0 + 1e-6) + 1e-12 == ub[i]  # type: ignore[index]
    # prepare_cursors over a one-field dictionary of these lists (ordinals 0..n-1, one unknown)
    n = len(weight)  # type: ignore[arg-type]
    lub = compiled.list_bounds(imp_off, imp_tf, imp_norm, lb, 1, kn[:1])  # type: ignore[index]
    ords = np.concatenate([np.arange(n), [-1]]).astype(np.int64)
    w = np.concatenate([weight, [1.0]])  # type: ignore[list-item]
    zeros = np.zeros(n + 1, dtype=np.int64)
    got_c = compiled.prepare_cursors(list_start, lb, 1, ords, zeros, w, lub)
    want_c = reference.prepare_cursors(list_start, lb, 1, ords, zeros, w, lub)
    for a, b in zip(got_c, want_c, strict=True):
        assert a.tolist() == b.tolist()
    by_blocks = compiled.cursor_upper_bounds(imp_off, imp_tf, imp_norm, lb[:-1], lb[1:], weight, zeros[:n], kn)
    assert got_c[4].tolist() == [by_blocks[i] for i in got_c[0].tolist()]
    assert got_c[0].tolist() == sorted(range(n), key=lambda i: (by_blocks[i], i))


def test_block_boundaries_and_long_lists() -> None:
    rng = np.random.default_rng(7)
    n = 20_000
    a = np.flatnonzero(rng.random(n) < 0.6).astype(np.uint32)
    b = np.flatnonzero(rng.random(n) < 0.05).astype(np.uint32)
    c = np.flatnonzero(rng.random(n) < 0.001).astype(np.uint32)
    docs = np.concatenate([a, b, c])
    tfs = rng.integers(1, 20, size=len(docs)).astype(np.uint16)
    ends = np.cumsum([len(a), len(b), len(c)])
    lengths = rng.integers(1, 400, size=n)
    from heron.codec.norms import encode_lengths

    p = {
        "docs": docs, "tfs": tfs, "start": np.array([0, ends[0], ends[1]], dtype=np.int64),
        "end": ends.astype(np.int64), "field": np.zeros(3, dtype=np.int64), "weight": np.array([0.3, 2.0, 6.0]),
        "kn": norm_cache(1.2, 0.75, 100.0)[None, :], "knd": (1.2 * (0.25 + 0.75 * lengths / 100.0))[None, :],
        "norms": encode_lengths(lengths)[None, :], "allowed": np.empty(0, dtype=np.uint8),
        "k": 10, "theta0": -np.inf,
    }
    ms, ex, ref = _run_all(p)
    assert ms[0].tolist() == ref[0].tolist() == ex[0].tolist()
    assert ms[1].tolist() == ref[1].tolist()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 10, 100, 500]), st.sampled_from([-np.inf, 1.0]),
       st.booleans())
def test_dense_selection_with_chunk_floor(seed: int, k: int, theta0: float, ties: bool) -> None:
    """The exhaustive kernel's dense path starts its selection from the k-th best chunk maximum:
    large segments (chunks of 8 to 128 documents), many exact ties (one tf and one length for every
    posting) and k from 1 to 500 give the reference's documents and scores exactly."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2_000, 9_000))
    parts = [np.flatnonzero(rng.random(n) < dens).astype(np.uint32) for dens in (0.7, 0.3, 0.02)]
    docs = np.concatenate(parts)
    ends = np.cumsum([len(x) for x in parts]).astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    tfs = (np.ones(len(docs)) if ties else rng.integers(1, 9, size=len(docs))).astype(np.uint16)
    lengths = np.full(n, 40) if ties else rng.integers(1, 300, size=n)
    knd = (1.2 * (0.25 + 0.75 * lengths / max(1.0, float(lengths.mean()))))[None, :]
    sat = np.concatenate([
        compiled.posting_saturation(docs[s:e], tfs[s:e], np.array([0, e - s], dtype=np.int64), 1, knd)
        for s, e in zip(starts, ends, strict=True)
    ])
    weight = np.array([0.4, 0.4, 3.0]) if ties else rng.uniform(0.1, 4.0, size=3)
    none = np.empty(0, dtype=np.uint8)
    got = compiled.topk_exhaustive(docs, sat, starts, ends, weight, n, none, k, theta0)
    want = reference.topk_exhaustive(docs, sat, starts, ends, weight, n, none, k, theta0)
    assert got[0].tolist() == want[0].tolist()
    assert got[1].tolist() == want[1].tolist()


def _ranged_case(seed: int, n: int, limit: str, ties: bool, by_bound: bool) -> tuple[np.ndarray, ...]:
    """Four lists over ``n`` documents (from long to short), float32 saturations, and the filter
    / threshold ``limit`` asks for; ``by_bound``: weights ascending, as cursors come in use (the
    long lists then have the smallest bounds)."""
    rng = np.random.default_rng(seed)
    parts = [np.flatnonzero(rng.random(n) < dens).astype(np.uint32) for dens in (0.7, 0.3, 0.02, 0.0005)]
    docs = np.concatenate(parts)
    ends = np.cumsum([len(x) for x in parts]).astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    sat = (np.full(len(docs), 0.5) if ties else rng.uniform(0.05, 0.95, size=len(docs))).astype(np.float32)
    weight = np.array([0.4, 0.4, 3.0, 5.0]) if ties else rng.uniform(0.1, 4.0, size=4)
    if by_bound:
        weight = np.sort(weight)
    allowed = (rng.random(n) < 0.3).astype(np.uint8) if limit == "allowed" else np.empty(0, dtype=np.uint8)
    theta0 = np.array(1.0 if limit == "theta" else -np.inf)
    return docs, starts, ends, sat, weight, allowed, theta0


def _plain_top(docs: np.ndarray, starts: np.ndarray, ends: np.ndarray, sat: np.ndarray, weight: np.ndarray,
               allowed: np.ndarray, theta0: float, n: int, k: int) -> tuple[list[int], list[float]]:
    """The definition: every list's float32 contributions added in float32 in descending cursor
    order, documents above the threshold (and allowed) ranked by score, then doc id."""
    scores = np.zeros(n, dtype=np.float32)
    for i in range(len(starts) - 1, -1, -1):  # each list adds once per document, in cursor order
        d = docs[starts[i] : ends[i]]
        scores[d] += np.float32(weight[i]) * sat[starts[i] : ends[i]]  # float32 products and sums
    ok = scores > max(theta0, 0.0)
    if len(allowed):
        ok &= allowed == 1
    cand = np.flatnonzero(ok)
    order = np.lexsort((cand, -scores[cand]))[:k]
    return cand[order].tolist(), scores[cand[order]].astype(np.float64).tolist()


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.sampled_from([131_072, 200_003, 300_000]), st.sampled_from([1, 10, 100, 1000]),
       st.sampled_from(["none", "theta", "allowed"]), st.booleans())
def test_dense_path_in_document_ranges(seed: int, n: int, k: int, limit: str, ties: bool) -> None:
    """Segments of at least 2 * ACC_RANGE documents are accumulated, selected and cleared one
    range of documents at a time: documents and scores equal the plain definition, with a
    filter, with an entry threshold, with exact ties across range boundaries, and the caller's
    scratch comes back all-zero."""
    assert n >= 2 * compiled.ACC_RANGE
    docs, starts, ends, sat, weight, allowed, theta0 = _ranged_case(seed, n, limit, ties, False)
    acc, hit = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.uint8)
    got = compiled.topk_exhaustive_scratch(docs, sat, starts, ends, weight, allowed, k, float(theta0), acc, hit,
                                           np.empty(0), 0.0)
    assert (got[0].tolist(), got[1].tolist()) == _plain_top(docs, starts, ends, sat, weight, allowed, float(theta0),
                                                            n, k)
    assert not acc.any() and not hit.any()


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.sampled_from([200_003, 300_000]), st.sampled_from([1, 10, 100, 1000]),
       st.sampled_from(["none", "theta", "allowed"]), st.sampled_from([0.25, 0.5, 1.0, 8.0]), st.booleans())
def test_dense_path_deferring_low_bound_lists(seed: int, n: int, k: int, limit: str, defer: float,
                                              ties: bool) -> None:
    """On segments of several ranges the dense path defers the lists of smallest bound (the two
    long, low-weight lists) once a floor exists, and adds them only to chunks that can still
    beat it — or densely, where too many can: documents and scores equal the plain definition
    for every deferral factor, with a filter, an entry threshold and exact ties, and the scratch
    comes back all-zero."""
    docs, starts, ends, sat, weight, allowed, theta0 = _ranged_case(seed, n, limit, ties, True)
    ub = np.array([weight[i] * float(sat[starts[i] : ends[i]].max()) * (1 + 1e-6) + 1e-12 for i in range(4)])
    acc, hit = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.uint8)
    got = compiled.topk_exhaustive_scratch(docs, sat, starts, ends, weight, allowed, k, float(theta0), acc, hit,
                                           ub, defer)
    assert (got[0].tolist(), got[1].tolist()) == _plain_top(docs, starts, ends, sat, weight, allowed, float(theta0),
                                                            n, k)
    assert not acc.any() and not hit.any()


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.sampled_from([compiled.DEFER_FIRST_MIN_DOCS, 40_000, 100_000, 200_003]),
       st.sampled_from([1, 10, compiled.DEFER_FIRST_MAX_K]), st.sampled_from([0.01, 0.04, 0.2]), st.booleans())
def test_dense_path_deferring_before_any_floor(seed: int, n: int, k: int, low: float, ties: bool) -> None:
    """With no floor yet (no threshold, no filter: one-range segments, and a large segment's
    first range) the dense path defers the lists of smallest bound when they sum to at most
    DEFER_FIRST times the others', takes the floor from the k-th chunk maximum of the others'
    partial sums and adds the deferred lists only where a chunk can still beat it — or densely.
    ``low`` scales the two long lists' weights (some cases defer both, some one, some none):
    documents and scores equal the plain definition, ties included, and the scratch comes back
    all-zero."""
    docs, starts, ends, sat, weight, allowed, _ = _ranged_case(seed, n, "none", ties, True)
    rng = np.random.default_rng(seed + 1)
    weight = weight * np.array([low * rng.uniform(0.5, 1.0), low, 1.0, 1.0])
    ub = np.array([weight[i] * float(sat[starts[i] : ends[i]].max()) * (1 + 1e-6) + 1e-12 for i in range(4)])
    acc, hit = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.uint8)
    got = compiled.topk_exhaustive_scratch(docs, sat, starts, ends, weight, allowed, k, -np.inf, acc, hit,
                                           ub, compiled.DEFER)
    assert (got[0].tolist(), got[1].tolist()) == _plain_top(docs, starts, ends, sat, weight, allowed, -np.inf, n, k)
    assert not acc.any() and not hit.any()


def test_k_zero_returns_nothing_and_leaves_scratch_clean() -> None:
    docs = np.array([0, 1, 2, 1, 2], dtype=np.uint32)
    sat = np.full(5, 0.5, dtype=np.float32)
    start, end = np.array([0, 3], dtype=np.int64), np.array([3, 5], dtype=np.int64)
    acc, hit = np.zeros(3, dtype=np.float32), np.zeros(3, dtype=np.uint8)
    got = compiled.topk_exhaustive_scratch(docs, sat, start, end, np.array([1.0, 2.0]), np.empty(0, dtype=np.uint8),
                                           0, -np.inf, acc, hit, np.array([0.6, 1.2]), compiled.DEFER)
    assert len(got[0]) == 0 and len(got[1]) == 0
    assert not acc.any() and not hit.any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 50.0, allow_nan=False, width=32), min_size=1, max_size=300), st.data())
def test_kth_largest_is_the_kth_value_of_the_sorted_list(values: list[float], data: st.DataObject) -> None:
    """The dense selection's floor: the k-th largest chunk maximum, ties and zeros included."""
    k = data.draw(st.integers(1, len(values)))
    v = np.array(values, dtype=np.float64)
    assert compiled._kth_largest(v, k) == sorted(values, reverse=True)[k - 1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=0, max_size=60), st.data())
def test_gallop_finds_the_first_posting_at_or_after_a_document(values: list[int], data: st.DataObject) -> None:
    """The dense path's deferred lists skip to a chunk by galloping from where they are: the
    index found is the binary search's, from any start within the list."""
    docs = np.array(sorted(set(values)), dtype=np.uint32)
    q = data.draw(st.integers(0, len(docs)))
    d = data.draw(st.integers(0, 520))
    want = q + int(np.searchsorted(docs[q:], d, side="left"))
    assert compiled._gallop(docs, q, len(docs), d) == want
