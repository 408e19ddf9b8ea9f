"""BM25 invariants (Lucene's BaseSimilarityTestCase style), including the pruning bound."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.codec.norms import byte4_to_int, encode_lengths, int_to_byte4, norm_cache
from heron.kernels import reference
from heron.search.similarity import AVGDL_STEPS_PER_OCTAVE, idf, score, scoring_avgdl

N = st.integers(1, 2**40)
K1 = st.floats(0.0, 5.0)
B = st.floats(0.0, 1.0)
TF = st.integers(1, 65535)
DL = st.integers(0, 2**31 - 1)
AVG = st.floats(0.5, 1e6)


def kn(k1: float, b: float, dl: int, avgdl: float) -> float:
    return k1 * ((1.0 - b) + b * dl / avgdl)


@settings(max_examples=500)
@given(N, st.data(), K1, B, TF, DL, AVG, st.floats(0.1, 10))
def test_score_invariants(n: int, data: st.DataObject, k1: float, b: float, tf: int, dl: int, avgdl: float,
                          boost: float) -> None:
    df = data.draw(st.integers(1, n))
    w = idf(n, df) * boost
    s = score(w, tf, kn(k1, b, dl, avgdl))
    assert np.isfinite(s) and s >= 0
    assert s <= w * (1 + 1e-12)  # tf -> infinity limit
    # non-decreasing in tf, non-increasing in length: exact maths, float rounding within 2 ulps
    ulp2 = 2 * np.spacing(s)
    assert score(w, tf + 1, kn(k1, b, dl, avgdl)) >= s - ulp2
    assert score(w, tf, kn(k1, b, dl + 1, avgdl)) <= s + ulp2
    if df < n:
        assert idf(n, df + 1) <= idf(n, df)  # rarer terms weigh more
    assert idf(n, df) > 0


@settings(max_examples=500)
@given(K1, B, TF, DL, AVG, st.floats(0.01, 50))
def test_block_bound_never_underestimates(k1: float, b: float, tf: int, dl: int, avgdl: float, w: float) -> None:
    """The pruning bound uses the one-byte norm (length rounded down): it must cover the exact score."""
    table = norm_cache(k1, b, avgdl)[None, :]
    norm = int_to_byte4(dl)
    assert byte4_to_int(norm) <= dl
    bound = reference.block_bound(0, np.array([0, 1]), np.array([tf]), np.array([norm]), w, table, 0)
    exact = score(w, tf, k1 * ((1.0 - b) + b * dl / avgdl))
    assert bound >= exact


@given(st.lists(DL, min_size=1, max_size=200))
def test_norm_encoding_vectorised_equals_scalar(lengths: list[int]) -> None:
    assert encode_lengths(np.array(lengths)).tolist() == [int_to_byte4(x) for x in lengths]


def test_norm_encoding_is_monotone_and_exact_for_small_lengths() -> None:
    assert [byte4_to_int(int_to_byte4(i)) for i in range(24)] == list(range(24))
    decoded = [byte4_to_int(b) for b in range(256)]
    assert decoded == sorted(decoded)


@settings(max_examples=500)
@given(st.floats(1e-3, 1e9), st.integers(1, 2**40), st.floats(1.0, 1.5))
def test_scoring_avgdl_is_close_monotone_and_on_its_grid(exact: float, n: int, factor: float) -> None:
    a = scoring_avgdl(exact * n, n)
    assert abs(a / exact - 1.0) <= 2.0 ** (0.5 / AVGDL_STEPS_PER_OCTAVE) - 1.0 + 1e-12  # <= half a step off
    assert scoring_avgdl(a * n, n) == a  # a grid value stays put
    assert scoring_avgdl(exact * factor * n, n) >= a  # longer documents never lower it
    assert scoring_avgdl(0.0, n) == 0.0 and scoring_avgdl(5.0, 0) == 1.0
