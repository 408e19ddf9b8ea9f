"""Hybrid retrieval on SciFact (test split), built from scratch with the bundled embedder.

CI profile to fit the CI budget on 2 shared cores: one passage per document (title + text,
truncated at 128 word pieces, as MiniLM was trained) instead of the full 200-word chunking
at 256 — the full-profile figures are in README "Hybrid retrieval" (``benchmarks/hybrid_eval.py``).
Nothing is cached across runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import heron
from heron.config import VectorSettings
from heron.eval.beir import load_beir
from heron.eval.runner import evaluate, run_queries
from heron.search.hybrid import HybridParams

pytestmark = [pytest.mark.slow, pytest.mark.data]


def test_scifact_hybrid_beats_both_retrievers(shared_data: Path, tmp_path: Path) -> None:
    ds = load_beir(shared_data / "beir" / "scifact")
    idx = heron.Index.create(tmp_path / "scifact",
                             heron.IndexSettings(vectors=VectorSettings(max_length=128, chunk_words=4096,
                                                                        chunk_overlap=0)))
    docs = list(ds.corpus())
    with idx.writer() as w:
        w.add_parallel(docs, processes=2, chunk_docs=len(docs) // 2 + 1)
        w.force_merge(1)
    qrels = ds.qrels("test")
    queries = {q: t for q, t in ds.queries().items() if q in qrels}
    score = {}
    for name, mode, hp in (("lexical", "lexical", None), ("dense", "dense", None),
                           ("hybrid", "hybrid", HybridParams()),
                           ("learned", "hybrid", HybridParams(rerank="learned"))):
        score[name] = evaluate(run_queries(idx, queries, 100, mode=mode, hybrid=hp), qrels).mean["ndcg@10"]
    print("\nSciFact nDCG@10 (CI profile):", {k: round(v, 4) for k, v in score.items()})
    assert score["dense"] >= 0.60
    assert score["hybrid"] >= 0.69
    assert score["hybrid"] >= max(score["lexical"], score["dense"]) - 0.005
    assert score["learned"] >= score["hybrid"] - 0.01
