"""RRF and weighted fusion: invariants over random ranked lists."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.errors import ConfigError
from heron.search.fusion import minmax, rrf, weighted

ranked = st.lists(st.tuples(st.integers(0, 40), st.floats(-100, 100, allow_nan=False)), max_size=30).map(
    lambda xs: sorted({k: s for k, s in xs}.items(), key=lambda x: -x[1])
)


@given(st.lists(ranked, min_size=1, max_size=4))
def test_rrf_matches_definition_and_covers_every_key(lists: list[list[tuple[int, float]]]) -> None:
    out = rrf(lists, k=60)
    keys = {k for lst in lists for k, _ in lst}
    assert {f.key for f in out} == keys
    for f in out:
        expect = sum(1.0 / (60 + rank) for lst in lists for rank, (k, _) in enumerate(lst, 1) if k == f.key)
        assert f.score == pytest.approx(expect)
        for lst, src in zip(lists, f.sources, strict=True):
            ranks = [r for r, (k, _) in enumerate(lst, 1) if k == f.key]
            assert (src[0] if src else None) == (ranks[0] if ranks else None)
    scores = [f.score for f in out]
    assert scores == sorted(scores, reverse=True)


@given(st.lists(ranked, min_size=1, max_size=3))
def test_fusion_is_deterministic_and_ties_break_by_best_rank_then_key(lists: list[list[tuple[int, float]]]) -> None:
    for fuse in (rrf, weighted):
        a, b = fuse(lists), fuse([list(x) for x in lists])
        assert [(f.key, f.score) for f in a] == [(f.key, f.score) for f in b]
        for x, y in itertools.pairwise(a):
            if x.score == y.score:
                bx = min(s[0] for s in x.sources if s)
                by = min(s[0] for s in y.sources if s)
                assert (bx, x.key) < (by, y.key)


@given(ranked)
def test_single_list_rrf_keeps_its_order(lst: list[tuple[int, float]]) -> None:
    assert [f.key for f in rrf([lst])] == [k for k, _ in lst]


@given(ranked, ranked)
def test_a_key_in_both_lists_beats_one_only_in_one_at_the_same_rank(a: list[tuple[int, float]],
                                                                    b: list[tuple[int, float]]) -> None:
    out = {f.key: f for f in rrf([a, b])}
    for f in out.values():
        for g in out.values():
            if all(s is not None for s in f.sources) and sum(1 for s in g.sources if s) == 1:
                gs = next(s for s in g.sources if s)
                if all(s[0] <= gs[0] for s in f.sources if s):
                    assert f.score > g.score


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=20))
def test_minmax_range(xs: list[float]) -> None:
    n = minmax(xs)
    assert len(n) == len(xs)
    assert all(0.0 <= v <= 1.0 for v in n)
    if xs and max(xs) > min(xs):
        assert n[xs.index(max(xs))] == 1.0 and n[xs.index(min(xs))] == 0.0


def test_weighted_fusion_by_hand() -> None:
    lex = [(1, 10.0), (2, 5.0), (3, 0.0)]
    dense = [(3, 0.9), (1, 0.5)]
    out = weighted([lex, dense], [1.0, 2.0])
    got = {f.key: f.score for f in out}
    assert got == pytest.approx({1: 1.0 + 0.0, 2: 0.5, 3: 0.0 + 2.0})
    assert [f.key for f in out] == [3, 1, 2]


def test_zero_weight_ignores_a_list_and_bad_parameters_raise() -> None:
    assert [f.key for f in rrf([[(1, 1.0)], [(2, 1.0)]], weights=[1.0, 0.0])][:1] == [1]
    with pytest.raises(ConfigError, match="weights"):
        rrf([[(1, 1.0)]], weights=[1.0, 1.0])
    with pytest.raises(ConfigError, match="k must be > 0"):
        rrf([[(1, 1.0)]], k=0)
    with pytest.raises(ConfigError, match=">= 0"):
        weighted([[(1, 1.0)]], weights=[-1.0])
