"""Vectors in segments: written with the segment, merged with it (deleted docs dropped),
deleted with it; exact vs HNSW search; filtered dense search keeps recall; embedding cache."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import heron
from heron.config import IndexSettings, VectorSettings
from heron.embed import register_embedder
from heron.embed.hashing import HashEmbedder
from heron.errors import QueryError
from heron.search.hybrid import HybridParams
from heron.vectors.embedding import CACHE

EMB = HashEmbedder()
register_embedder("test-hash", EMB)


def settings(**kw: Any) -> IndexSettings:
    return IndexSettings(filter_fields=(heron.FilterField("bucket"),),
                         vectors=VectorSettings(model="test-hash", **kw))


def docs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"d{i}", "title": f"t{i}", "text": f"document number {i}.", "metadata": {"bucket": f"b{i % 100}"}}
            for i in range(start, start + n)]


def brute(idx: heron.Index, query: str, k: int, allowed: set[str] | None = None) -> list[str]:
    q = EMB.embed_query(query)
    scored = []
    for d in docs(10**6)[: idx.stats().doc_count]:
        if allowed is not None and d["id"] not in allowed:
            continue
        scored.append((-float(EMB.embed_query(f"{d['title']} {d['text']}") @ q), d["id"]))
    return [i for _, i in sorted(scored)[:k]]


def test_vectors_follow_segments_through_merge_and_delete() -> None:
    idx = heron.Index.in_memory(settings(exact_below=5))
    for part in range(3):
        with idx.writer() as w:
            for d in docs(4, part * 4):
                w.add(d)
    files = idx.directory.list()
    assert sum(f.endswith(".vec") for f in files) == 3
    before = idx.search("t7 document number 7.", 3, mode="dense")
    assert before[0].id == "d7" and before[0].score == pytest.approx(1.0, abs=1e-3)  # its own embedded string
    with idx.writer() as w:
        w.delete("d7")
        w.add({"id": "d1", "title": "t1", "text": "replaced text."})
        w.force_merge(1)
    files = idx.directory.list()
    assert [f for f in files if f.endswith(".vec")] == [f.replace(".seg", ".vec") for f in files if f.endswith(".seg")]
    s = idx.searcher()
    (view,) = s.segments
    vr = view.reader.vectors
    assert vr is not None and vr.n == view.reader.doc_count == 11
    assert vr.has_ann  # 11 passages > exact_below
    ids = {h.id for h in idx.search("t7 document number 7.", 11, mode="dense")}
    assert "d7" not in ids and len(ids) == 11
    # every stored vector still belongs to its own document after renumbering
    for d in range(view.reader.doc_count):
        rec = view.reader.stored(d)
        lo, hi = vr.passages_of(np.array([d]))
        want = EMB.embed_query(f"{rec['title']} {rec['text']}")
        assert float(vr.rows(np.arange(lo[0], hi[0]))[0] @ want) > 0.999


def test_ann_and_filtered_recall_vs_exact() -> None:
    n = 10_000
    idx = heron.Index.in_memory(settings(exact_below=1000, filter_exact_below=0))
    with idx.writer() as w:
        for d in docs(n):
            w.add(d)
    s = idx.searcher()
    assert s.segments[0].reader.vectors is not None and s.segments[0].reader.vectors.has_ann
    queries = [f"query {i}" for i in range(20)]
    all_ids = [d["id"] for d in docs(n)]

    def recall(filters: heron.SearchFilters | None, allowed: set[str] | None, hp: HybridParams | None) -> float:
        got = 0
        for q in queries:
            truth = brute_fast(q, 10, allowed)
            hits = idx.search(q, 10, mode="dense", filters=filters, hybrid=hp, fields=False)
            got += len({h.id for h in hits} & set(truth))
        return got / (10 * len(queries))

    def brute_fast(q: str, k: int, allowed: set[str] | None) -> list[str]:
        qv = EMB.embed_query(q)
        ids = [i for i in all_ids if allowed is None or i in allowed]
        scores = MAT[[int(i[1:]) for i in ids]] @ qv
        return [ids[j] for j in np.argsort(-scores, kind="stable")[:k]]

    MAT = EMB.embed_passages([f"t{i} document number {i}." for i in range(n)])
    assert recall(None, None, None) >= 0.95
    one_pct = heron.SearchFilters(metadata={"bucket": "b7"})  # 100 of 10,000 docs
    allowed = {f"d{i}" for i in range(7, n, 100)}
    # HNSW traversal with a filter bitmap (exact fallback disabled by filter_exact_below=0)
    assert recall(one_pct, allowed, None) >= 0.95
    hits = idx.search("query 3", 10, mode="dense", filters=one_pct)
    assert {h.id for h in hits} <= allowed and len(hits) == 10


def test_small_filtered_sets_are_scored_exactly() -> None:
    idx = heron.Index.in_memory(settings(exact_below=100, filter_exact_below=500))
    with idx.writer() as w:
        for d in docs(2000):
            w.add(d)
    mat = EMB.embed_passages([f"t{i} document number {i}." for i in range(7, 2000, 100)])
    for q in ("a", "b", "c"):
        truth = np.argsort(-(mat @ EMB.embed_query(q)), kind="stable")[:10]
        hits = idx.search(q, 10, mode="dense", filters=heron.SearchFilters(metadata={"bucket": "b7"}))
        assert [h.id for h in hits] == [f"d{7 + 100 * int(j)}" for j in truth]


def test_embedding_cache_by_content_hash(tmp_path: Any) -> None:
    idx = heron.Index.create(tmp_path / "i", settings())
    with idx.writer() as w:
        for d in docs(50):
            w.add(d)
    CACHE._d.clear()
    before = EMB.calls
    with idx.writer() as w:  # re-add unchanged documents + one changed
        for d in docs(50):
            w.add(d)
        w.add({"id": "d0", "title": "t0", "text": "changed."})
    assert EMB.calls - before == 1  # only the changed passage was embedded


def test_modes_need_vectors_and_text_queries() -> None:
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        w.add({"id": "a", "text": "hello world"})
    with pytest.raises(QueryError, match="no vectors"):
        idx.search("hello", mode="dense")
    with pytest.raises(QueryError, match="unknown mode"):
        idx.search("hello", mode="fuzzy")


def test_hybrid_explain_shows_each_retriever_and_settings_roundtrip() -> None:
    idx = heron.Index.in_memory(settings())
    with idx.writer() as w:
        for d in docs(30):
            w.add(d)
    hits = idx.search("document number 3", 5, mode="hybrid", explain=True)
    assert hits and all(h.sources is not None and "fused" in h.sources for h in hits)
    top = hits[0].sources or {}
    assert "lexical" in top or "dense" in top
    for h in hits:
        src = h.sources or {}
        if "lexical" in src:
            assert h.explanation is not None
    for mode in ("dense", "hybrid"):  # the columnar form answers like search() in every mode
        want = [(h.id, h.score) for h in idx.search("document number 3", 5, offset=2, mode=mode)]
        got = idx.search_ids("document number 3", 5, offset=2, mode=mode)
        assert want and list(zip(*got, strict=True)) == want
    w2 = idx.search("document number 3", 5, mode="hybrid", hybrid=HybridParams(fusion="weighted", weights=(1.0, 0.0)))
    lex = idx.search("document number 3", 5)
    assert [h.id for h in w2][:1] == [h.id for h in lex][:1]
    s = settings(chunk_words=50, dtype="int8")
    assert IndexSettings.from_dict(s.to_dict()) == s
    assert "vectors" not in IndexSettings().to_dict()  # existing indexes stay valid
