"""Rerank stage: the ONNX cross-encoder code path (tiny random-weight model built here) and the
shipped learned second stage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import heron
from heron.config import IndexSettings, VectorSettings
from heron.embed import register_embedder
from heron.embed.hashing import HashEmbedder
from heron.errors import ConfigError
from heron.search.hybrid import HybridParams
from heron.search.rerank import (
    FEATURES,
    CrossEncoderReranker,
    LearnedReranker,
    get_reranker,
    register_reranker,
)

register_embedder("test-hash-rerank", HashEmbedder())


def docs(n: int) -> list[dict[str, Any]]:
    return [{"id": f"d{i}", "title": f"t{i}", "text": f"document number {i}."} for i in range(n)]



@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight cross-encoder-shaped ONNX model: token (+ segment) embeddings,
    masked mean pooling, a linear head to one logit — built here with ``onnx.helper``."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from heron.embed.onnx import _TOKENIZER

    rng = np.random.default_rng(0)
    h = 16
    inits = [
        numpy_helper.from_array(rng.standard_normal((30522, h)).astype(np.float32), "tok_emb"),
        numpy_helper.from_array(rng.standard_normal((2, h)).astype(np.float32), "seg_emb"),
        numpy_helper.from_array(rng.standard_normal((h, 1)).astype(np.float32), "head"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("Gather", ["tok_emb", "input_ids"], ["te"]),
        helper.make_node("Gather", ["seg_emb", "token_type_ids"], ["se"]),
        helper.make_node("Add", ["te", "se"], ["emb"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "head"], ["logits"]),
    ]
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["b", "s"])
           for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 1])]
    graph = helper.make_graph(nodes, "tiny-ce", ins, out, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    d = tmp_path_factory.mktemp("ce")
    onnx.save(model, str(d / "model.onnx"))
    shutil.copy(_TOKENIZER, d / "tokenizer.json")
    return d


def vector_index() -> heron.Index:
    idx = heron.Index.in_memory(IndexSettings(vectors=VectorSettings(model="test-hash-rerank")))
    with idx.writer() as w:
        for d in docs(40):
            w.add(d)
    return idx


def test_cross_encoder_scores_pairs_and_reorders_the_fused_top(tiny_cross_encoder: Path) -> None:
    ce = CrossEncoderReranker(tiny_cross_encoder)
    s1 = ce.score_pairs("heron bird", ["a wading bird", "a cat", "x " * 600])
    s2 = ce.score_pairs("heron bird", ["a wading bird", "a cat", "x " * 600])
    assert len(s1) == 3 and s1 == s2 and all(np.isfinite(s1))  # long pairs are truncated, not rejected
    register_reranker("tiny-ce", ce)
    idx = vector_index()
    fused = idx.search("document number 5", 20, mode="hybrid", hybrid=HybridParams(rerank_top=20))
    reranked = idx.search("document number 5", 20, mode="hybrid", explain=True,
                          hybrid=HybridParams(rerank="tiny-ce", rerank_top=20))
    assert sorted(h.id for h in reranked) == sorted(h.id for h in fused)
    scores = [h.score for h in reranked]
    assert scores == sorted(scores, reverse=True)  # ordered by the cross-encoder's score
    texts = [f"{h.title} {h.text}".strip() for h in reranked]
    assert ce.score_pairs("document number 5", texts) == pytest.approx(scores)
    assert all("rerank" in (h.sources or {}) for h in reranked)


def test_cross_encoder_needs_a_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.onnx"):
        CrossEncoderReranker(tmp_path)
    with pytest.raises(ConfigError, match="unknown reranker"):
        get_reranker("nope")


def test_learned_reranker_ships_and_reorders_by_its_score() -> None:
    lr = get_reranker("learned")
    assert isinstance(lr, LearnedReranker)
    assert lr.coef.shape == (len(FEATURES),) and "SciFact train" in lr.info["trained_on"]
    idx = vector_index()
    hits = idx.search("document number 5", 10, mode="hybrid", hybrid=HybridParams(rerank="learned"))
    assert len(hits) == 10
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_learned_model_file_is_validated(tmp_path: Path) -> None:
    p = tmp_path / "m.json"
    p.write_text('{"features": ["x"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0}')
    with pytest.raises(ConfigError, match="do not match"):
        LearnedReranker(p)
    with pytest.raises(ConfigError, match="cannot load"):
        LearnedReranker(tmp_path / "missing.json")


def test_service_config_registers_a_cross_encoder(tiny_cross_encoder: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from heron.service.app import create_app
    from heron.service.config import ServiceConfig

    bad = create_app(ServiceConfig(warmup=False, cross_encoder=str(tmp_path)), {"v": vector_index()})
    with pytest.raises(ConfigError, match=r"model\.onnx"), TestClient(bad):  # fails at start, not at a query
        pass
    app = create_app(ServiceConfig(warmup=False, cross_encoder=str(tiny_cross_encoder)), {"v": vector_index()})
    with TestClient(app) as c:
        body = {"query": "document number 5", "mode": "hybrid", "max_results": 5, "explain": True}
        r = c.post("/search", json={**body, "rerank": "cross-encoder"})
        assert r.status_code == 200, r.text
        res = r.json()["results"]
        assert len(res) == 5
        ce = CrossEncoderReranker(tiny_cross_encoder)
        stored = {d["id"]: f"{d['title']} {d['text']}" for d in docs(40)}
        expected = ce.score_pairs("document number 5", [stored[x["doc_id"]] for x in res])
        assert [x["score"] for x in res] == pytest.approx(expected, rel=1e-4)  # ranked by the cross-encoder
        assert expected == sorted(expected, reverse=True)
