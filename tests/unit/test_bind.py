"""The one-segment binding fast path (``QueryBinder._weigh_one_segment``, kernel ``bind_terms``)
against the general binding: the same terms, query tfs, dfs, idfs, weights and ordinals, bit for
bit — and the compiled kernel against its reference."""

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
from heron.index.segment import encode_terms
from heron.kernels import compiled, reference
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


@pytest.fixture(scope="module")
def one_segment() -> heron.Index:
    idx = heron.Index.in_memory(heron.IndexSettings.flat())
    with idx.writer() as w:
        for d in _demo_docs(400):
            w.add(d)
    assert len(idx.searcher().segments) == 1
    return idx


@pytest.fixture(scope="module")
def vocabulary(one_segment: heron.Index) -> list[str]:
    words = sorted({w for d in _demo_docs(400) for w in (d["title"] + " " + d["text"]).split()})
    return [*words[::7], "the", "and", "of", "zzqxv", "nonexistentword", "Ünïcödé", "鷺", "heron"]


def _general(binder: QueryBinder) -> QueryBinder:
    g = QueryBinder(binder.settings, binder.stats)
    g._one_segment = None  # the Counter + per-term path
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
    assert one_segment.searcher().binder._one_segment is not None
    fielded = make_index(tiny_docs, heron.IndexSettings.fielded())
    assert fielded.searcher().binder._one_segment is None  # two fields: two analyses
    two = heron.Index.in_memory(heron.IndexSettings.flat())
    for part in (tiny_docs[:2], tiny_docs[2:]):
        with two.writer() as w:
            for d in part:
                w.add(d)
    assert len(two.searcher().segments) == 2
    assert two.searcher().binder._one_segment is None  # statistics summed over segments


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
