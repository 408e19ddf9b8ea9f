"""Dense and hybrid retrieval over a searcher snapshot.

* **dense** — the query is embedded with the index's model (process-shared ONNX session, one
  intra-op thread); per segment the passages are searched with HNSW, or exactly when the segment
  is small or when a filter leaves fewer than ``filter_exact_below`` passages (filters never
  collapse recall: exact scoring over the filtered set, HNSW with a filter bitmap above it).
  A document's dense score is the **max** over its passages (its best passage).
* **hybrid** — the lexical (BM25) top ``lexical_top`` and the dense top ``dense_top`` documents
  are fused with RRF (default, ``k`` = 60) or weighted min-max fusion
  (:mod:`heron.search.fusion`); an optional :mod:`rerank <heron.search.rerank>` stage reorders
  the fused top ``rerank_top``.

Filters apply to both retrievers as document masks before ranking; deleted documents never
appear. Query syntax (``+term``, ``"phrase"``, ``site:``) constrains only the lexical retriever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from heron.errors import ConfigError, CorruptIndexError, QueryError
from heron.search import fusion as _fusion
from heron.search.filters import CompiledFilters, SearchFilters, compile_filters
from heron.search.results import Hit
from heron.vectors.ann import search_exact, search_hnsw

if TYPE_CHECKING:
    from heron.index.reader import Searcher
    from heron.search.query import Query
    from heron.search.rerank import Reranker

MODES = ("lexical", "dense", "hybrid")
FUSIONS = ("rrf", "weighted")


@dataclass(frozen=True, slots=True)
class HybridParams:
    """Search-time knobs of the dense and hybrid modes (defaults chosen on SciFact *train*)."""

    fusion: str = "weighted"
    rrf_k: float = _fusion.DEFAULT_RRF_K
    #: (lexical, dense) weights of both fusion methods
    weights: tuple[float, float] = (1.0, 1.0)
    lexical_top: int = 100
    dense_top: int = 100
    rerank: str | Reranker | None = None
    rerank_top: int = 50
    ef_search: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ConfigError(f"fusion must be one of {list(FUSIONS)}, got {self.fusion!r}")
        for name in ("lexical_top", "dense_top", "rerank_top"):
            v = getattr(self, name)
            if not 1 <= v <= 1000:
                raise ConfigError(f"{name} must be between 1 and 1000, got {v}")
        if len(self.weights) != 2 or any(not (w >= 0) for w in self.weights):
            raise ConfigError(f"weights must be two numbers >= 0 (lexical, dense), got {self.weights}")
        if not self.rrf_k > 0:
            raise ConfigError(f"rrf_k must be > 0, got {self.rrf_k}")


# -- dense ---------------------------------------------------------------------------------------
def query_vector(searcher: Searcher, text: str) -> np.ndarray:
    vs = searcher.settings.vectors
    if vs is None:
        raise QueryError("this index has no vectors (create it with IndexSettings(vectors=VectorSettings())); "
                         "use mode='lexical'")
    from heron.vectors.embedding import embedder_for

    # queries go through ONNX Runtime whatever runtime embeds passages (HERON_EMBED_RUNTIME): one
    # query at a time it takes 2-3 ms there, ~5 ms on OpenVINO; the two agree to cosine ~0.994
    return embedder_for(vs, runtime="onnxruntime").embed_query(text)


def _doc_max(docs: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct doc its max score (docs need not be sorted)."""
    if len(docs) == 0:
        return docs, scores
    order = np.lexsort((-scores, docs))
    d, s = docs[order], scores[order]
    first = np.ones(len(d), dtype=bool)
    first[1:] = d[1:] != d[:-1]
    return d[first], s[first]


def dense_segment(searcher: Searcher, si: int, q: np.ndarray, k: int, mask: np.ndarray | None,
                  ef: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (docs, scores) of one segment; ``mask`` is the uint8 allowed-docs mask or None."""
    v = searcher.segments[si]
    vr = v.reader.vectors
    if vr is None:
        if v.meta.doc_count and searcher.settings.vectors is not None:
            raise CorruptIndexError(f"segment {v.meta.name}", "vector file (.vec) is missing")
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    vs = searcher.settings.vectors
    limit = vs.filter_exact_below if vs is not None else 20_000
    allowed = None if mask is None else mask.astype(bool)[vr.doc]
    n_allowed = vr.n if allowed is None else int(allowed.sum())
    if n_allowed == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    if not vr.has_ann or (allowed is not None and n_allowed <= limit):
        if allowed is None:
            rows = np.arange(vr.n)
            mat = vr.all()
        else:
            rows = np.flatnonzero(allowed)
            mat = vr.rows(rows)
        scores = mat @ q
        docs, best = _doc_max(np.asarray(vr.doc, dtype=np.int64)[rows], scores.astype(np.float32))
        pos, top = search_exact(best[:, None], np.ones(1, np.float32), k)
        return docs[pos], top
    # HNSW: over-fetch passages until k distinct documents (or everything allowed) are found
    selectivity = n_allowed / max(vr.n, 1)
    kp = min(n_allowed, max(2 * k, k + 16))
    while True:
        ef_q = int(max(ef, kp) / max(selectivity, 1 / 16)) if allowed is not None else max(ef, kp)
        rows, scores = search_hnsw(vr.ann(), q, kp, ef_q, None if allowed is None or n_allowed == vr.n
                                   else allowed)
        docs, best = _doc_max(np.asarray(vr.doc, dtype=np.int64)[rows], scores)
        if len(docs) >= k or kp >= n_allowed:
            break
        kp = min(n_allowed, kp * 4)
    pos, top = search_exact(best[:, None], np.ones(1, np.float32), k)
    return docs[pos], top


def dense_collect(searcher: Searcher, q: np.ndarray, k: int, cf: CompiledFilters | None,
                  ef: int | None = None) -> list[tuple[float, int, int, int]]:
    """(score, global doc, segment, doc) of the top ``k`` documents by dense similarity."""
    vs = searcher.settings.vectors
    ef_s = ef or (vs.ef_search if vs is not None else 128)
    found: list[tuple[float, int, int, int]] = []
    bases = np.cumsum([0] + [v.meta.doc_count for v in searcher.segments]).tolist()
    for si, v in enumerate(searcher.segments):
        mask = v.live
        if cf is not None:
            fm = cf.mask(v.reader)
            mask = fm if mask is None else mask & fm
        docs, scores = dense_segment(searcher, si, q, k, mask, ef_s)
        found.extend((float(s), bases[si] + int(d), si, int(d)) for d, s in zip(docs.tolist(), scores.tolist(),
                                                                               strict=True))
    found.sort(key=lambda x: (-x[0], x[1]))
    return found[:k]


def doc_similarity(searcher: Searcher, q: np.ndarray, addrs: list[tuple[int, int]]) -> list[float]:
    """Exact dense score (max over passages) of the given documents; 0 when a doc has none."""
    out = []
    for si, d in addrs:
        vr = searcher.segments[si].reader.vectors
        if vr is None:
            out.append(0.0)
            continue
        lo, hi = vr.passages_of(np.array([d]))
        if hi[0] <= lo[0]:
            out.append(0.0)
            continue
        out.append(float((vr.rows(np.arange(lo[0], hi[0])) @ q).max()))
    return out


# -- hybrid --------------------------------------------------------------------------------------
def _plain_text(q: Query) -> str | None:
    """The words of a bag-of-words query (a ``BoolQuery`` of ``should`` terms), else None."""
    from heron.search.query import BoolQuery, TermQuery

    if isinstance(q, TermQuery):
        return q.text
    if isinstance(q, BoolQuery) and not q.must and all(isinstance(c, TermQuery) for c in q.should):
        return " ".join(c.text for c in q.should if isinstance(c, TermQuery))
    return None


@dataclass(slots=True)
class Candidate:
    """A fused candidate with what rerankers may use as features."""

    gdoc: int
    si: int
    doc: int
    fused: float
    lexical: tuple[int, float] | None
    dense: tuple[int, float] | None
    features: dict[str, float] = field(default_factory=dict)


def search(
    searcher: Searcher,
    query: str | Query,
    k: int,
    offset: int,
    filters: SearchFilters | None,
    operator: str,
    explain: bool,
    fields: bool,
    mode: str,
    params: HybridParams | None,
) -> list[Hit]:
    p = params or HybridParams()
    if mode not in MODES:
        raise QueryError(f"unknown mode {mode!r}; choose one of {list(MODES)}")
    text = query if isinstance(query, str) else _plain_text(query)
    if text is None:
        raise QueryError(f"mode={mode!r} needs the query as text (the dense retriever embeds it)")
    want = k + offset
    if want == 0:
        return []
    cf = compile_filters(filters, searcher.settings)
    qv = query_vector(searcher, text)
    bases = np.cumsum([0] + [v.meta.doc_count for v in searcher.segments]).tolist()
    if mode == "dense":
        found = dense_collect(searcher, qv, want, cf, p.ef_search)
        cands = [Candidate(g, si, d, s, None, (r, s)) for r, (s, g, si, d) in enumerate(found, 1)]
    else:
        lex_hits = searcher.search(query, max(p.lexical_top, want), filters=filters, operator=operator,
                                   fields=False, mode="lexical")
        dense = dense_collect(searcher, qv, max(p.dense_top, want), cf, p.ef_search)
        lex_list = [(bases[h.address[0]] + h.address[1], float(h.score)) for h in lex_hits]
        dense_list = [(g, s) for s, g, _si, _d in dense]
        fused = (_fusion.rrf([lex_list, dense_list], p.rrf_k, p.weights) if p.fusion == "rrf"
                 else _fusion.weighted([lex_list, dense_list], p.weights))
        addr = {bases[h.address[0]] + h.address[1]: h.address for h in lex_hits}
        addr.update({g: (si, d) for _s, g, si, d in dense})
        cands = [Candidate(f.key, *addr[f.key], f.score, f.sources[0], f.sources[1]) for f in fused]
    rerank_scores: dict[int, float] = {}
    top: list[Candidate] = []
    if p.rerank is not None and cands:
        from heron.search.rerank import get_reranker

        rr = get_reranker(p.rerank)
        top = cands[: max(p.rerank_top, 1)]
        scores = rr.rerank(searcher, text, qv, top)
        order = sorted(range(len(top)), key=lambda i: (-scores[i], i))
        rerank_scores = {top[i].gdoc: float(scores[i]) for i in range(len(top))}
        # candidates below the reranked block keep their fused order, with scores strictly
        # below every reranked one (so sorting by score reproduces the ranking)
        floor = min(rerank_scores.values())
        for j, c in enumerate(cands[len(top):], 1):
            rerank_scores.setdefault(c.gdoc, floor - j)
        cands = [top[i] for i in order] + cands[len(top):]
    hits: list[Hit] = []
    for rank, c in enumerate(cands[offset:want], offset + 1):
        v = searcher.segments[c.si]
        rec = v.reader.stored(c.doc) if fields else None
        ext = rec["id"] if rec is not None else v.reader.external_id(c.doc)
        score = rerank_scores.get(c.gdoc, c.fused) if rerank_scores else c.fused
        src: dict[str, dict[str, float]] = {}
        if c.lexical is not None:
            src["lexical"] = {"rank": c.lexical[0], "score": c.lexical[1]}
        if c.dense is not None:
            src["dense"] = {"rank": c.dense[0], "score": c.dense[1]}
        if mode == "hybrid":
            src["fused"] = {"rank": rank, "score": c.fused}
        if c.gdoc in rerank_scores and rank <= len(top):
            src["rerank"] = {"rank": rank, "score": rerank_scores[c.gdoc]}
        exp = searcher.explain_doc(query, operator, c.si, c.doc) if explain and c.lexical is not None else None
        hits.append(Hit(ext, score, rec, exp, (c.si, c.doc), src if explain else None))
    return hits
