"""POST /search heron extensions for hybrid retrieval: mode, fusion, weights, per-retriever
top-N, rerank — with the Perplexity fields (filters, budgets) working in every mode."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

import heron
from heron.config import VectorSettings
from heron.embed import register_embedder
from heron.embed.hashing import HashEmbedder

from .support import DOCS, SETTINGS

register_embedder("test-hash-api", HashEmbedder())


def vector_index() -> heron.Index:
    s = heron.IndexSettings(filter_fields=SETTINGS.filter_fields, vectors=VectorSettings(model="test-hash-api"))
    idx = heron.Index.in_memory(s)
    with idx.writer() as w:
        for d in DOCS:
            w.add(d)
    return idx


def post(c: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = c.post("/search", json=body)
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    return out


def test_modes_with_perplexity_fields(make_client: Callable[..., TestClient]) -> None:
    c = make_client(indexes={"t": vector_index()})
    for mode in ("lexical", "dense", "hybrid"):
        body = {"query": "heron bird", "mode": mode, "max_results": 3, "search_language_filter": ["en"],
                "search_domain_filter": ["-cats.example.com"], "max_tokens_per_page": 64}
        res = post(c, body)["results"]
        assert 1 <= len(res) <= 3
        assert {r["doc_id"] for r in res} <= {"a", "b", "d"}  # filters apply in every mode
        for r in res:
            assert r["title"] and r["url"] and isinstance(r["snippet"], str) and isinstance(r["score"], float)
    multi = post(c, {"query": ["heron", "cat"], "mode": "hybrid", "max_results": 2})["results"]
    assert len(multi) == 2 and all(len(x) == 2 for x in multi)


def test_hybrid_knobs_and_explain(make_client: Callable[..., TestClient]) -> None:
    c = make_client(indexes={"t": vector_index()})
    res = post(c, {"query": "heron", "mode": "hybrid", "explain": True, "fusion": "weighted", "weights": [1, 0.5],
                   "lexical_top": 10, "dense_top": 10, "rerank": "learned", "rerank_top": 5})["results"]
    assert res
    top = res[0]["explanation"]["retrievers"]
    assert {"fused", "rerank"} <= set(top) and ("lexical" in top or "dense" in top)
    lexical_only = post(c, {"query": "heron", "mode": "hybrid", "weights": [1, 0], "fusion": "weighted"})["results"]
    assert lexical_only[0]["doc_id"] == post(c, {"query": "heron"})["results"][0]["doc_id"]


def test_bad_hybrid_options_are_400s_naming_the_field(make_client: Callable[..., TestClient]) -> None:
    c = make_client(indexes={"t": vector_index()})
    for body, field in (({"mode": "fuzzy"}, "mode"), ({"fusion": "max"}, "fusion"), ({"weights": [1]}, "weights"),
                        ({"rrf_k": 0}, "rrf_k"), ({"dense_top": 0}, "dense_top")):
        e = post(c, {"query": "heron", **body}, 400)["error"]
        assert e["param"] == field or field in e["message"], e
    e = post(c, {"query": "heron", "mode": "hybrid", "rerank": "nope"}, 400)["error"]
    assert "unknown reranker" in e["message"]


def test_dense_on_an_index_without_vectors_is_a_clear_400(client: TestClient) -> None:
    e = post(client, {"query": "heron", "mode": "dense"}, 400)["error"]
    assert "no vectors" in e["message"]
