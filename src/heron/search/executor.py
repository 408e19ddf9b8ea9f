"""Per-segment execution: build array views of the bound query for one segment, compute the
allowed-docs mask (deletes, filters, required/excluded terms, phrases), call one kernel.

Algorithms come from a registry keyed by name: ``"maxscore"`` (windowed block-max MaxScore),
``"exhaustive"`` (term-at-a-time over every posting; the differential-test oracle) and
``"auto"`` (the default: per segment, term-at-a-time when postings are dense or the segment
small, MaxScore otherwise). All three return bit-identical results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron import kernels
from heron.analysis import Analyzer
from heron.errors import QueryError
from heron.index.segment import SegmentReader, encode_terms
from heron.search.filters import CompiledFilters, domain_mask
from heron.search.weight import BoundQuery, Phrase

_EMPTY_U8 = np.empty(0, dtype=np.uint8)


@dataclass(slots=True)
class SegmentCursors:
    """The cursors of one segment in canonical (scoring) order."""

    scorer_index: np.ndarray  # index into BoundQuery.scorers
    start: np.ndarray
    end: np.ndarray
    bstart: np.ndarray
    ub: np.ndarray
    weight: np.ndarray
    field: np.ndarray


def segment_cursors(seg: SegmentReader, bq: BoundQuery, list_ub: np.ndarray) -> SegmentCursors:
    """``bq``'s cursors in ``seg`` in scoring order; ``list_ub``: the segment's
    :meth:`~heron.index.segment.SegmentReader.list_bounds` for ``bq``'s statistics."""
    ords = seg.term_ords(bq.terms)
    idx, start, end, bstart, ub, weight, field = kernels.impl().prepare_cursors(
        seg.list_start, seg.list_bstart, seg.n_fields, ords, bq.fields, bq.weights, list_ub,
    )
    return SegmentCursors(idx, start, end, bstart, ub, weight, field)


def allowed_mask(
    seg: SegmentReader,
    bq: BoundQuery,
    live: np.ndarray | None,
    filters: CompiledFilters | None,
    analyzers: list[Analyzer],
) -> np.ndarray | None:
    """uint8 mask of documents that may be returned, ``None`` = all; an all-zero mask → skip."""
    mask: np.ndarray | None = None if live is None else live
    if filters is not None:
        fm = filters.mask(seg)
        mask = fm if mask is None else mask & fm
    if bq.sites_allow or bq.sites_deny:
        m = np.ones(seg.doc_count, dtype=bool)
        for site in bq.sites_allow:
            m &= domain_mask(seg, site)
        for site in bq.sites_deny:
            m &= ~domain_mask(seg, site)
        sm = m.astype(np.uint8)
        mask = sm if mask is None else mask & sm
    if bq.required or bq.excluded:
        st, en, kind = [], [], []
        n_groups = 0
        for group in bq.required:
            ranges = []
            for term, f in group:
                o = seg.term_ord(term)
                if o >= 0:
                    s, e, _ = seg.list_range(o, f)
                    if e > s:
                        ranges.append((s, e))
            if not ranges:
                return np.zeros(seg.doc_count, dtype=np.uint8)
            for s, e in ranges:
                st.append(s)
                en.append(e)
                kind.append(1 + 2 * n_groups)
            n_groups += 1
        for term, f in bq.excluded:
            o = seg.term_ord(term)
            if o >= 0:
                s, e, _ = seg.list_range(o, f)
                st.append(s)
                en.append(e)
                kind.append(2)
        base = mask if mask is not None else np.ones(seg.doc_count, dtype=np.uint8)
        mask = kernels.impl().constraint_mask(
            seg.docs, np.array(st, dtype=np.int64), np.array(en, dtype=np.int64), np.array(kind, dtype=np.int64),
            n_groups, np.ascontiguousarray(base, dtype=np.uint8),
        )
    if bq.phrases_required or bq.phrases_excluded:
        mask = _phrase_mask(seg, bq, mask, analyzers)
    return mask


def _phrase_mask(
    seg: SegmentReader, bq: BoundQuery, mask: np.ndarray | None, analyzers: list[Analyzer]
) -> np.ndarray:
    """Verify phrases against stored text (positions are not indexed): only candidates that
    already contain every phrase term are re-analysed."""
    if seg.store is None:
        raise QueryError("phrase queries need stored documents; this index was created with store_documents=False")
    out = np.ones(seg.doc_count, dtype=np.uint8) if mask is None else mask.copy()
    for ph in bq.phrases_required:
        cand = _docs_with_all(seg, ph, out)
        keep = np.zeros(seg.doc_count, dtype=np.uint8)
        for d in cand.tolist():
            if _has_phrase(seg, d, ph, analyzers):
                keep[d] = 1
        out &= keep
    for ph in bq.phrases_excluded:
        cand = _docs_with_all(seg, ph, out)
        for d in cand.tolist():
            if _has_phrase(seg, d, ph, analyzers):
                out[d] = 0
    return out


def _docs_with_all(seg: SegmentReader, ph: Phrase, base: np.ndarray) -> np.ndarray:
    st, en, kind = [], [], []
    for g, term in enumerate(dict.fromkeys(ph.terms)):
        for f in ph.fields:
            o = seg.term_ord(term)
            if o >= 0:
                s, e, _ = seg.list_range(o, f)
                st.append(s)
                en.append(e)
                kind.append(1 + 2 * g)
    n_groups = len(dict.fromkeys(ph.terms))
    if len({k for k in kind}) < n_groups:
        return np.zeros(0, dtype=np.int64)
    m = kernels.impl().constraint_mask(
        seg.docs, np.array(st, dtype=np.int64), np.array(en, dtype=np.int64), np.array(kind, dtype=np.int64),
        n_groups, np.ascontiguousarray(base, dtype=np.uint8),
    )
    return np.flatnonzero(m)


def _has_phrase(seg: SegmentReader, doc: int, ph: Phrase, analyzers: list[Analyzer]) -> bool:
    rec = seg.stored(doc)
    for f in ph.fields:
        name = ph.field_names[f]
        if ph.single_field:
            text = f"{rec.get('title', '')} {rec.get('text', '')}"
        elif name in ("title", "text"):
            text = str(rec.get(name, ""))
        else:  # other text fields are fed from metadata[name] (see SegmentBuilder)
            value = (rec.get("metadata") or {}).get(name)
            text = value if isinstance(value, str) else ""
        terms = analyzers[f].terms(text)
        n = len(ph.terms)
        first = ph.terms[0]
        for i, t in enumerate(terms):
            if t == first and tuple(terms[i : i + n]) == ph.terms:
                return True
    return False


#: name -> ``topk_terms`` mode; "auto" picks MaxScore or term-at-a-time per segment
ALGORITHMS: dict[str, int] = {"auto": 0, "maxscore": 1, "exhaustive": 2}


def algorithm_mode(algorithm: str) -> int:
    """The ``topk_terms`` mode of an algorithm name; ``QueryError`` for an unknown one."""
    try:
        return ALGORITHMS[algorithm]
    except KeyError:
        raise QueryError(f"unknown algorithm {algorithm!r}; choose one of {sorted(ALGORITHMS)}") from None


def run_plain(seg: SegmentReader, terms: list[str], n_docs: int, field_weight: float, sat: np.ndarray,
              list_ub: np.ndarray, kn: np.ndarray, allowed: np.ndarray | None, k: int,
              algorithm: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (docs, scores) of a plain bag of analysed ``terms`` (repeats included) on a
    one-field segment that is the whole snapshot (``n_docs`` documents): the binding
    ``QueryBinder.bind_text`` makes and ``run_segment``'s top-k, in one kernel call — the same
    documents and scores bit for bit (``tests/unit/test_bind.py``)."""
    mode = algorithm_mode(algorithm)
    return seg.plain_top(encode_terms(terms), n_docs, field_weight, sat, list_ub, kn,
                         _EMPTY_U8 if allowed is None else allowed, k, mode)


def run_segment(
    seg: SegmentReader,
    bq: BoundQuery,
    sat: np.ndarray,
    list_ub: np.ndarray,
    allowed: np.ndarray | None,
    k: int,
    theta0: float,
    algorithm: str = "auto",
    ords: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (docs, scores) of one segment, entering only above ``theta0``; ``sat`` and
    ``list_ub``: the segment's saturation table and list bounds for ``bq``'s statistics."""
    mode = algorithm_mode(algorithm)
    if ords is None:
        ords = seg.term_ords(bq.terms)
    a = _EMPTY_U8 if allowed is None else allowed
    acc, hit = seg.scratch()
    return kernels.impl().topk_terms(  # type: ignore[no-any-return]
        seg.docs, sat, seg.blk_last, seg.imp_off, seg.imp_tf, seg.imp_norm, seg.list_start, seg.list_bstart, list_ub,
        seg.n_fields, ords, bq.fields, bq.weights, bq.kn, a, k, theta0, mode, acc, hit,
    )
