"""Train heron's learned second-stage reranker on SciFact **train** queries.

    .venv/bin/python scripts/train_reranker.py --index /tmp/heron-hybrid/scifact \\
        [--dataset ../shared/data/beir/scifact]

The index must be SciFact built with vectors (``benchmarks/hybrid_eval.py`` builds one). For
each train query the hybrid (RRF) top ``rerank_top`` candidates are turned into the features of
:func:`heron.search.rerank.features`; qrels > 0 are positives. A standardised L2 logistic
regression (scikit-learn, dev-only) is fitted and written as JSON to
``src/heron/search/data/learned_reranker.json``. Test queries are never used here; evaluate
with ``benchmarks/hybrid_eval.py`` (mode ``hybrid-rrf+learned``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heron import Index
from heron.eval.beir import load_beir
from heron.eval.runner import bag_of_words
from heron.search.hybrid import Candidate, HybridParams
from heron.search.rerank import FEATURES, LEARNED_MODEL, features

REPO = Path(__file__).resolve().parents[1]


class Recorder:
    """A 'reranker' that records the candidates' features and keeps the fused order."""

    def __init__(self) -> None:
        self.rows: list[tuple[list[int], np.ndarray]] = []
        self.ids: list[list[str]] = []

    def rerank(self, searcher: Any, query: str, qvec: np.ndarray, cands: Sequence[Candidate]) -> list[float]:
        x = features(searcher, query, qvec, cands)
        self.rows.append(([c.gdoc for c in cands], x))
        self.ids.append([searcher.segments[c.si].reader.external_id(c.doc) for c in cands])
        return [c.fused for c in cands]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--dataset", type=Path, default=REPO.parent / "shared" / "data" / "beir" / "scifact")
    ap.add_argument("--top", type=int, default=50)
    ap.add_argument("--out", type=Path, default=LEARNED_MODEL)
    a = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    ds = load_beir(a.dataset)
    qrels = ds.qrels("train")
    queries = {q: t for q, t in ds.queries().items() if q in qrels}
    idx = Index.open(a.index)
    s = idx.searcher()
    rec = Recorder()
    for text in queries.values():
        s.search(bag_of_words(text), 10, mode="hybrid", hybrid=HybridParams(rerank=rec, rerank_top=a.top),
                 fields=False)
    xs, ys, groups = [], [], []
    for qi, ((_, x), ids) in enumerate(zip(rec.rows, rec.ids, strict=True)):
        qid = list(queries)[qi]
        y = [1 if qrels[qid].get(i, 0) > 0 else 0 for i in ids]
        if not any(y):
            continue  # no positive among the candidates: nothing to learn from this query
        xs.append(x)
        ys.extend(y)
        groups.append(qid)
    X = np.concatenate(xs)
    Y = np.array(ys)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000).fit((X - mean) / scale, Y)
    out = {
        "features": list(FEATURES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "info": {"trained_on": "SciFact train qrels", "queries": len(groups), "examples": len(Y),
                 "positives": int(Y.sum()), "candidates_per_query": a.top, "model": "logistic regression, C=1"},
    }
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("info",)}), {f: round(c, 3) for f, c in zip(FEATURES, out["coef"], strict=True)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
