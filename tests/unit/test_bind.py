"""The one-segment binding fast path (``QueryBinder._weigh_one_segment``, kernel ``bind_terms``)
against the general binding: the same terms, query tfs, dfs, idfs, weights and ordinals, bit for
bit — and the compiled kernel against its reference. Likewise the search fast path that binds and
ranks in one call (``Searcher._plain_page``, kernel ``plain_top``) against the general search."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import heron
from heron.index.reader import Searcher
from heron.index.segment import encode_terms
from heron.kernels import compiled, reference
from heron.search.executor import ALGORITHMS
from heron.search.filters import compile_filters
from heron.search.weight import BoundQuery, QueryBinder

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo" / "corpus.jsonl.gz"


def _demo_docs(n: int) -> list[dict[str, Any]]:
    out = []
    with gzip.open(DEMO, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append({"id": str(d.get("_id", d.get("id"))), "title": d.get("title", ""), "text": d.get("text", "")})
            if len(out) == n:
                break
    return out


def _demo_index(deleted_every: int = 0) -> heron.Index:
    """The first 400 demo documents in one segment; with ``deleted_every``, every n-th of them
    deleted afterwards (the segment then has a live-docs mask)."""
    docs = _demo_docs(400)
    idx = heron.Index.in_memory(heron.IndexSettings.flat())
    with idx.writer() as w:
        for d in docs:
            w.add(d)
    if deleted_every:
        with idx.writer() as w:
            for d in docs[::deleted_every]:
                w.delete(d["id"])
    assert len(idx.searcher().segments) == 1
    return idx


@pytest.fixture(scope="module")
def one_segment() -> heron.Index:
    return _demo_index()


@pytest.fixture(scope="module")
def vocabulary(one_segment: heron.Index) -> list[str]:
    words = sorted({w for d in _demo_docs(400) for w in (d["title"] + " " + d["text"]).split()})
    return [*words[::7], "the", "and", "of", "zzqxv", "nonexistentword", "Ünïcödé", "鷺", "heron"]


def _general(binder: QueryBinder) -> QueryBinder:
    g = QueryBinder(binder.settings, binder.stats)
    g.one_segment = None  # the Counter + per-term path
    return g


def _same(a: BoundQuery, b: BoundQuery) -> None:
    assert a.terms == b.terms
    assert a.fields.tolist() == b.fields.tolist()
    assert a.qtfs == b.qtfs
    assert a.dfs == b.dfs
    assert a.idfs == b.idfs  # exact: the kernel's log is libm's, like math.log
    assert a.weights.tolist() == b.weights.tolist()
    assert (a.seg_ords is None) == (b.seg_ords is None)
    if a.seg_ords is not None and b.seg_ords is not None:
        assert [o.tolist() for o in a.seg_ords] == [o.tolist() for o in b.seg_ords]


def test_fast_path_only_for_one_field_one_segment(one_segment: heron.Index,
                                                   make_index: Any, tiny_docs: list[dict[str, Any]]) -> None:
    assert one_segment.searcher().binder.one_segment is not None
    fielded = make_index(tiny_docs, heron.IndexSettings.fielded())
    assert fielded.searcher().binder.one_segment is None  # two fields: two analyses
    two = heron.Index.in_memory(heron.IndexSettings.flat())
    for part in (tiny_docs[:2], tiny_docs[2:]):
        with two.writer() as w:
            for d in part:
                w.add(d)
    assert len(two.searcher().segments) == 2
    assert two.searcher().binder.one_segment is None  # statistics summed over segments


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_binding_equals_general_binding(one_segment: heron.Index, vocabulary: list[str],
                                             data: st.DataObject) -> None:
    words = data.draw(st.lists(st.sampled_from(vocabulary), min_size=0, max_size=25))
    if data.draw(st.booleans()) and words:
        words += data.draw(st.lists(st.sampled_from(words), max_size=5))  # repeats: query tf > 1
    query = " ".join(words)
    binder = one_segment.searcher().binder
    _same(binder.bind_text(query), _general(binder).bind_text(query))


def test_fast_binding_on_the_whole_demo_corpus_titles(one_segment: heron.Index) -> None:
    binder = one_segment.searcher().binder
    general = _general(binder)
    n = 0
    for d in _demo_docs(400):
        q = d["title"] or d["text"][:80]
        fast = binder.bind_text(q)
        _same(fast, general.bind_text(q))
        n += bool(fast.terms)
    assert n > 300


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_docs=st.integers(1, 50_000_000), weight=st.sampled_from([1.0, 0.3, 2.5]))
def test_bind_terms_kernel_equals_reference(seed: int, n_docs: int, weight: float) -> None:
    rng = np.random.default_rng(seed)
    n_terms = int(rng.integers(1, 300))
    terms = sorted({f"t{int(x):06d}" for x in rng.integers(0, 10**6, size=n_terms)})
    blob = np.frombuffer("".join(terms).encode(), dtype=np.uint8)
    off = np.concatenate([[0], np.cumsum([len(t) for t in terms])]).astype(np.int64)
    dfs = rng.integers(0, min(n_docs, 10**6) + 1, size=len(terms))  # some lists empty
    list_start = np.concatenate([[0], np.cumsum(dfs)]).astype(np.int64)
    q_terms = [terms[int(i)] for i in rng.integers(0, len(terms), size=int(rng.integers(0, 30)))] + ["t-missing"]
    q = encode_terms(q_terms)
    table = compiled.term_hash_table(blob, off)
    got = compiled.bind_terms(blob, off, table, list_start, q, n_docs, weight)
    want = reference.bind_terms(blob, off, table, list_start, q, n_docs, weight)
    for a, b in zip(got, want, strict=True):
        assert a.tolist() == b.tolist()
    ords, first, qtf, df, _, _ = got
    assert [q_terms[i] for i in first.tolist()] == [terms[o] for o in ords.tolist()]
    assert int(qtf.sum()) == sum(1 for t in q_terms if t in terms and dfs[terms.index(t)] > 0)
    assert df.tolist() == [int(dfs[o]) for o in ords.tolist()]


@pytest.fixture(scope="module")
def one_segment_with_deletes() -> heron.Index:
    idx = _demo_index(deleted_every=9)
    assert idx.searcher().segments[0].live is not None
    return idx


def _general_searcher(s: Searcher) -> Searcher:
    g = Searcher(s.manifest, s.segments)
    g.binder.one_segment = None  # the BoundQuery + run_segment path
    return g


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plain_search_fast_path_equals_general_search(one_segment: heron.Index,
                                                      one_segment_with_deletes: heron.Index, vocabulary: list[str],
                                                      data: st.DataObject) -> None:
    """Bag-of-words queries (repeats, unknown and stop words, empty) on one-segment indexes with
    and without deletes, for every algorithm, k and offset: ``search_ids`` and ``search`` through
    the one-call fast path give the general path's ids and scores bit for bit."""
    idx = data.draw(st.sampled_from([one_segment, one_segment_with_deletes]))
    words = data.draw(st.lists(st.sampled_from(vocabulary), min_size=0, max_size=25))
    if data.draw(st.booleans()) and words:
        words += data.draw(st.lists(st.sampled_from(words), max_size=5))
    query = " ".join(words)
    k = data.draw(st.sampled_from([0, 1, 10, 100, 400]))
    offset = data.draw(st.sampled_from([0, 3]))
    algorithm = data.draw(st.sampled_from(sorted(ALGORITHMS)))
    s = idx.searcher()
    assert s.binder.one_segment is not None
    g = _general_searcher(s)

    def outcome(searcher: Searcher) -> tuple[Any, ...]:
        try:
            r = searcher.search_ids(query, k=k, offset=offset, algorithm=algorithm)
        except heron.QueryError as e:  # an empty query, an unbalanced quote: the same error either way
            return ("error", type(e), str(e))
        return ("ok", r.ids, r.scores)

    fast = outcome(s)
    assert fast == outcome(g)
    if fast[0] == "ok":
        for fields in (False, True):
            hits = s.search(query, k=k, offset=offset, algorithm=algorithm, fields=fields)
            general = g.search(query, k=k, offset=offset, algorithm=algorithm, fields=fields)
            assert ([h.id for h in hits], [h.score for h in hits]) == fast[1:]
            assert [(h.id, h.score, h.fields, h.explanation) for h in hits] == \
                [(h.id, h.score, h.fields, h.explanation) for h in general]


def test_plain_search_fast_path_only_where_it_applies(one_segment: heron.Index) -> None:
    """Filters, operators, syntax and an unknown algorithm take the general path or its error."""
    s = one_segment.searcher()
    cf = heron.SearchFilters(languages=["en"])
    assert s._plain_page("heron", "or", None, 10, 0, "auto") is not None
    assert s._plain_page("+heron", "or", None, 10, 0, "auto") is None  # syntax
    assert s._plain_page("heron", "and", None, 10, 0, "auto") is None
    assert s._plain_page("heron", "or", None, 0, 0, "auto") is None
    assert s._plain_page("heron", "or", compile_filters(cf, s.settings), 10, 0, "auto") is None
    with pytest.raises(heron.QueryError, match="unknown algorithm"):
        s.search_ids("heron", algorithm="bogus")


def test_plain_top_kernel_equals_reference(one_segment_with_deletes: heron.Index) -> None:
    """The compiled ``plain_top`` against its reference (bind_terms + the exhaustive scorer) on a
    real segment with deletes, over the demo titles as queries."""
    s = one_segment_with_deletes.searcher()
    seg, live, b = s.segments[0].reader, s.segments[0].live, s.binder
    sat, lub = s._sat(0), s._lub(0)
    acc, hit = np.zeros(seg.doc_count, dtype=np.float32), np.zeros(seg.doc_count, dtype=np.uint8)
    checked = 0
    for d in _demo_docs(400)[::5]:
        q = encode_terms(b.analyzers[0].terms(d["title"] or d["text"][:80]))
        args = (seg._terms_blob, seg._terms_off, seg.term_table, seg.list_start, q, b.n_docs, b.field_weight_list[0],
                seg.docs, sat, seg.blk_last, seg.imp_off, seg.imp_tf, seg.imp_norm, seg.list_bstart, lub, b.kn, live)
        want = reference.plain_top(*args, 10, 2, acc, hit)
        for mode in ALGORITHMS.values():
            got = compiled.plain_top(*args, 10, mode, acc, hit)
            assert got[0].tolist() == want[0].tolist()
            assert got[1].tolist() == pytest.approx(want[1].tolist(), rel=1e-6)
        assert not acc.any() and not hit.any()
        checked += len(want[0]) > 0
    assert checked > 60
