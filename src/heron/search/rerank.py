"""Second-stage rerankers over the fused top-N of a hybrid search.

A :class:`Reranker` scores candidates (higher = better); the hybrid search reorders its top
``rerank_top`` by that score. Two implementations:

* :class:`LearnedReranker` (``rerank="learned"``) — a logistic model over cheap features of each
  candidate (BM25 score and rank, dense similarity and rank, RRF score, query-term coverage of
  the title and of the text, document length; the RRF score is recomputed from the ranks so
  the model does not depend on the fusion method). Trained on SciFact **train** queries by
  ``scripts/train_reranker.py``; the weights ship as ``search/data/learned_reranker.json``.
* :class:`CrossEncoderReranker` — an ONNX cross-encoder (e.g. ms-marco-MiniLM-L-6-v2 exported
  by the user) loaded from a **local** directory with ``model.onnx`` + ``tokenizer.json``; score =
  ``logits[:, 0]``. Off unless configured: register it with :func:`register_reranker`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from heron.errors import ConfigError

if TYPE_CHECKING:
    from heron.index.reader import Searcher
    from heron.search.hybrid import Candidate

LEARNED_MODEL = Path(__file__).resolve().parent / "data" / "learned_reranker.json"

FEATURES = (
    "lex_score", "lex_norm", "lex_rr", "lex_present",
    "dense_sim", "dense_norm", "dense_rr", "dense_present",
    "rrf", "title_cov", "text_cov", "log_len",
)


@runtime_checkable
class Reranker(Protocol):
    def rerank(self, searcher: Searcher, query: str, qvec: np.ndarray, cands: Sequence[Candidate]) -> list[float]:
        """One score per candidate, higher is better."""
        ...


def features(searcher: Searcher, query: str, qvec: np.ndarray, cands: Sequence[Candidate]) -> np.ndarray:
    """(len(cands), len(FEATURES)) float64 feature matrix (see :data:`FEATURES`)."""
    from heron.search.hybrid import doc_similarity

    sims = doc_similarity(searcher, qvec, [(c.si, c.doc) for c in cands])
    lex = [c.lexical[1] if c.lexical else 0.0 for c in cands]
    lex_hi = max(lex) if lex else 0.0
    lex_lo = min((x for c, x in zip(cands, lex, strict=True) if c.lexical), default=0.0)
    s_hi, s_lo = (max(sims), min(sims)) if sims else (0.0, 0.0)
    analyzer = searcher.analyzers[0]
    qterms = set(analyzer.terms(query))
    nq = max(len(qterms), 1)
    rows = []
    for c, bm, sim in zip(cands, lex, sims, strict=True):
        rec = searcher.segments[c.si].reader.stored(c.doc)
        title = set(analyzer.terms(str(rec.get("title") or "")))
        text_terms = analyzer.terms(str(rec.get("text") or ""))
        text = set(text_terms)
        rows.append([
            bm,
            (bm - lex_lo) / (lex_hi - lex_lo) if c.lexical and lex_hi > lex_lo else float(c.lexical is not None),
            1.0 / c.lexical[0] if c.lexical else 0.0,
            float(c.lexical is not None),
            sim,
            (sim - s_lo) / (s_hi - s_lo) if s_hi > s_lo else 1.0,
            1.0 / c.dense[0] if c.dense else 0.0,
            float(c.dense is not None),
            (1.0 / (60 + c.lexical[0]) if c.lexical else 0.0) + (1.0 / (60 + c.dense[0]) if c.dense else 0.0),
            len(qterms & title) / nq,
            len(qterms & text) / nq,
            math.log1p(len(text_terms)),
        ])
    return np.array(rows, dtype=np.float64).reshape(len(cands), len(FEATURES))


class LearnedReranker:
    """Logistic model over :func:`features`: ``score = coef · (x - mean) / scale + intercept``."""

    def __init__(self, path: str | Path = LEARNED_MODEL) -> None:
        try:
            m = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"cannot load the learned reranker model {str(path)!r}: {e}") from None
        if list(m.get("features", [])) != list(FEATURES):
            raise ConfigError(f"{path}: model features {m.get('features')} do not match heron's {list(FEATURES)}")
        self.mean = np.array(m["mean"], dtype=np.float64)
        self.scale = np.array(m["scale"], dtype=np.float64)
        self.coef = np.array(m["coef"], dtype=np.float64)
        self.intercept = float(m["intercept"])
        self.info: dict[str, Any] = dict(m.get("info", {}))

    def score(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return out

    def rerank(self, searcher: Searcher, query: str, qvec: np.ndarray, cands: Sequence[Candidate]) -> list[float]:
        return [float(x) for x in self.score(features(searcher, query, qvec, cands))]


class CrossEncoderReranker:
    """An ONNX cross-encoder from a local directory (``model.onnx`` + ``tokenizer.json``)."""

    def __init__(self, path: str | Path, threads: int = 1, max_length: int = 256, batch_size: int = 16) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        d = Path(path)
        model = next((p for p in (d / "model.onnx", d / "onnx" / "model.onnx") if p.is_file()), None)
        if model is None or not (d / "tokenizer.json").is_file():
            raise ConfigError(f"cross-encoder directory {str(d)!r} needs model.onnx (or onnx/model.onnx) "
                              "and tokenizer.json")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        self._session = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self._tok.enable_truncation(max_length, strategy="only_second")
        self._tok.enable_padding()
        self.batch_size = batch_size

    def score_pairs(self, query: str, passages: Sequence[str]) -> list[float]:
        out: list[float] = []
        for s in range(0, len(passages), self.batch_size):
            enc = self._tok.encode_batch([(query, p) for p in passages[s : s + self.batch_size]])
            feeds = {"input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                     "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64)}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
            logits = np.asarray(self._session.run(None, feeds)[0])
            out.extend(float(x) for x in logits.reshape(len(enc), -1)[:, 0])
        return out

    def rerank(self, searcher: Searcher, query: str, qvec: np.ndarray, cands: Sequence[Candidate]) -> list[float]:
        texts = []
        for c in cands:
            rec = searcher.segments[c.si].reader.stored(c.doc)
            title, text = str(rec.get("title") or ""), str(rec.get("text") or "")
            texts.append(f"{title} {text}".strip())
        return self.score_pairs(query, texts)


_REGISTRY: dict[str, Reranker] = {}
_LOCK = threading.Lock()


def register_reranker(name: str, reranker: Reranker) -> None:
    """Make ``reranker`` available as ``rerank=name`` (e.g. a configured cross-encoder)."""
    with _LOCK:
        _REGISTRY[name] = reranker


def get_reranker(r: str | Reranker) -> Reranker:
    if not isinstance(r, str):
        return r
    with _LOCK:
        got = _REGISTRY.get(r)
        if got is None and r == "learned":
            got = _REGISTRY["learned"] = LearnedReranker()
    if got is None:
        raise ConfigError(f"unknown reranker {r!r}; available: {sorted({'learned', *_REGISTRY})} "
                          "(a cross-encoder must be configured with a local model path first)")
    return got
