"""The weight stage: bind an index-free query AST to a searcher's schema, analyzers and
collection statistics, producing scored (term, field) entries and match constraints."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from heron.analysis import Analyzer, get_analyzer
from heron.config import IndexSettings
from heron.errors import QueryError
from heron.index.segment import SegmentReader, encode_terms
from heron.search.domains import DomainFilter
from heron.search.query import BoolQuery, PhraseQuery, Query, SiteQuery, TermQuery
from heron.search.similarity import scoring_avgdl, tf_norm_table
from heron.search.stats import LocalStats, StatsProvider


@dataclass(frozen=True, slots=True)
class TermWeight:
    """A scored (term, field) pair: contribution ``weight * tf / (tf + kn[norm])``."""

    term: str
    field: int
    weight: float
    idf: float
    doc_freq: int
    query_tf: int


@dataclass(frozen=True, slots=True)
class Phrase:
    """Consecutive analysed ``terms`` required in any of ``fields`` (indices into ``field_names``)."""

    terms: tuple[str, ...]
    fields: tuple[int, ...]
    field_names: tuple[str, ...] = ("text",)
    single_field: bool = True


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_F = np.zeros(0, dtype=np.float64)
_EMPTY_F2 = np.zeros((0, 256), dtype=np.float64)
for _a in (_EMPTY_I, _EMPTY_F, _EMPTY_F2):
    _a.flags.writeable = False


@dataclass(slots=True)
class BoundQuery:
    """Everything per-segment execution needs, independent of any one segment.

    The scored (term, field) pairs are held as parallel arrays (kernel inputs); ``scorers``
    views them as ``TermWeight`` records.
    """

    terms: list[str]
    #: each group is satisfied when the doc has any of its (term, field) pairs
    required: list[list[tuple[str, int]]] = field(default_factory=list)
    excluded: list[tuple[str, int]] = field(default_factory=list)
    phrases_required: list[Phrase] = field(default_factory=list)
    phrases_excluded: list[Phrase] = field(default_factory=list)
    sites_allow: list[DomainFilter] = field(default_factory=list)
    sites_deny: list[DomainFilter] = field(default_factory=list)
    #: per field: norm byte → k1 * (1 - b + b * dl / avgdl)
    kn: np.ndarray = field(default_factory=lambda: _EMPTY_F2)
    #: kernel inputs, parallel to ``terms``: field index and weight (idf * field weight * query tf)
    fields: np.ndarray = field(default_factory=lambda: _EMPTY_I)
    weights: np.ndarray = field(default_factory=lambda: _EMPTY_F)
    #: explain-only ingredients, parallel to ``terms`` (plain lists: cheaper than arrays per query)
    idfs: list[float] = field(default_factory=list)
    dfs: list[int] = field(default_factory=list)
    qtfs: list[int] = field(default_factory=list)
    #: per segment of the local snapshot: term ordinals of ``terms`` (when stats are local)
    seg_ords: list[np.ndarray] | None = None

    @property
    def scorers(self) -> list[TermWeight]:
        return [
            TermWeight(t, int(f), float(w), float(i), int(d), int(q))
            for t, f, w, i, d, q in zip(self.terms, self.fields, self.weights, self.idfs, self.dfs, self.qtfs,
                                        strict=True)
        ]


class QueryBinder:
    """Turns query ASTs into ``BoundQuery`` objects for one settings + stats snapshot."""

    def __init__(self, settings: IndexSettings, stats: StatsProvider) -> None:
        self.settings = settings
        self.stats = stats
        self.field_names = [f.name for f in settings.text_fields]
        self.analyzers: list[Analyzer] = [get_analyzer(f.analyzer) for f in settings.text_fields]
        n = stats.doc_count()
        self.avgdl = [scoring_avgdl(stats.total_length(i), n) for i in range(len(settings.text_fields))]
        params = [settings.field_params(f) for f in settings.text_fields]
        rows = [tf_norm_table(p.k1, p.b, a) for p, a in zip(params, self.avgdl, strict=True)]
        self.kn = np.ascontiguousarray(np.array(rows, dtype=np.float64).reshape(len(rows), 256))
        self.field_weight_list = [f.weight for f in settings.text_fields]
        self.k1 = [p.k1 for p in params]
        self.b = [p.b for p in params]
        self.n_docs = n
        #: a one-field index's only segment when the statistics are its own: bag-of-words
        #: queries then bind in one kernel call (``_weigh_one_segment``), or bind and rank in
        #: one (``Searcher._plain_page``)
        self.one_segment = (stats.only_reader if isinstance(stats, LocalStats) and len(self.analyzers) == 1
                            else None)

    def _fields_for(self, name: str | None) -> list[int]:
        if name is None:
            return list(range(len(self.field_names)))
        if self.settings.single_field and name in ("title", "text"):
            return [0]
        if name in self.field_names:
            return [self.field_names.index(name)]
        if name == "url":
            return []
        raise QueryError(f"unknown field {name!r} in query; searchable fields: {self.field_names}")

    def _phrase(self, terms: tuple[str, ...], fields: list[int]) -> Phrase:
        return Phrase(terms, tuple(fields), tuple(self.field_names), bool(self.settings.single_field))

    def _analyze(self, text: str, fields: list[int]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for f in fields:
            out.extend((t, f) for t in self.analyzers[f].terms(text))
        return out

    def bind(self, query: Query) -> BoundQuery:
        if not isinstance(query, BoolQuery):
            query = BoolQuery(should=(query,))
        scored: Counter[tuple[str, int]] = Counter()
        bq = BoundQuery(terms=[], kn=self.kn)
        if not (query.must or query.must_not or query.filter) and all(
            type(c) is TermQuery and c.field is None for c in query.should
        ):
            self._bag(" ".join(c.text for c in query.should), scored)  # type: ignore[union-attr]
        else:
            for clause in query.should:
                self._positive(clause, scored, bq, required=False)
        for clause in query.must:
            self._positive(clause, scored, bq, required=True)
        for clause in query.must_not:
            self._negative(clause, bq)
        for clause in query.filter:
            self._filter(clause, bq)
        return self._weigh_pairs(scored, bq)

    def bind_text(self, text: str) -> BoundQuery:
        """``bind`` for a plain bag of words (no operators): analysed once per field."""
        bq = BoundQuery(terms=[], kn=self.kn)
        if len(self.analyzers) == 1:  # the common single-field index: count terms, not pairs
            if self.one_segment is not None:
                return self._weigh_one_segment(self.one_segment, self.analyzers[0].terms(text), bq)
            counts = Counter(self.analyzers[0].terms(text))
            terms = list(counts)
            return self._weigh(terms, [0] * len(terms), list(counts.values()), bq)
        scored: Counter[tuple[str, int]] = Counter()
        self._bag(text, scored)
        return self._weigh_pairs(scored, bq)

    def _bag(self, text: str, scored: Counter[tuple[str, int]]) -> None:
        """Count (term, field) pairs of ``text`` analysed once per field (repeats weigh more)."""
        for f, analyzer in enumerate(self.analyzers):
            scored.update((t, f) for t in analyzer.terms(text))

    def _weigh_pairs(self, scored: Counter[tuple[str, int]], bq: BoundQuery) -> BoundQuery:
        return self._weigh([t for t, _ in scored], [f for _, f in scored], list(scored.values()), bq)

    def _weigh_one_segment(self, seg: SegmentReader, terms: list[str], bq: BoundQuery) -> BoundQuery:
        """``_weigh`` of a bag of terms (repeats included) for a one-field, one-segment snapshot
        (``seg``): lookup, query tf, idf and weights in one kernel call; the same values bit for
        bit (``tests/unit/test_bind.py``)."""
        if not terms:
            return bq
        ords, first, qtfs, dfs, idfs, weights = seg.bind_terms(encode_terms(terms), self.n_docs,
                                                               self.field_weight_list[0])
        bq.terms = [terms[i] for i in first.tolist()]
        bq.fields = np.zeros(len(ords), dtype=np.int64)
        bq.qtfs = qtfs.tolist()
        bq.dfs = dfs.tolist()
        bq.idfs = idfs.tolist()
        bq.weights = weights
        bq.seg_ords = [ords]
        return bq

    def _weigh(self, terms: list[str], fields: list[int], qtfs: list[int], bq: BoundQuery) -> BoundQuery:
        """idf-weight the scored (term, field) pairs. Queries are a handful of terms, so this
        is plain Python with array conversions only for the kernel inputs."""
        if not terms:
            return bq
        seg_ords: list[np.ndarray] | None = None
        fields_a = np.array(fields, dtype=np.int64)
        if isinstance(self.stats, LocalStats):
            dfs_a, seg_ords = self.stats.doc_freqs_and_ords(terms, fields_a)
        else:
            dfs_a = self.stats.doc_freqs(terms, fields_a)
        dfs = dfs_a.tolist()
        if 0 in dfs:
            keep = [i for i, d in enumerate(dfs) if d > 0]
            terms = [terms[i] for i in keep]
            fields = [fields[i] for i in keep]
            qtfs = [qtfs[i] for i in keep]
            dfs = [dfs[i] for i in keep]
            fields_a = fields_a[keep]
            if seg_ords is not None:
                seg_ords = [o[keep] for o in seg_ords]
        n = self.stats.doc_count()
        fw = self.field_weight_list
        log = math.log
        idfs = [log(1.0 + (n - d + 0.5) / (d + 0.5)) for d in dfs]
        bq.terms = terms
        bq.fields = fields_a
        bq.qtfs = qtfs
        bq.dfs = dfs
        bq.idfs = idfs
        bq.weights = np.array([i * fw[f] * q for i, f, q in zip(idfs, fields, qtfs, strict=True)], dtype=np.float64)
        bq.seg_ords = seg_ords
        return bq

    def _positive(self, q: Query, scored: Counter[tuple[str, int]], bq: BoundQuery, required: bool) -> None:
        if isinstance(q, TermQuery):
            pairs = self._analyze(q.text, self._fields_for(q.field))
            scored.update(pairs)
            if required:
                for term in dict.fromkeys(t for t, _ in pairs):
                    bq.required.append([(t, f) for t, f in pairs if t == term])
        elif isinstance(q, PhraseQuery):
            fields = self._fields_for(q.field)
            pairs = self._analyze(q.text, fields)
            scored.update(pairs)
            terms = tuple(self.analyzers[fields[0]].terms(q.text)) if fields else ()
            if len(terms) > 1:
                bq.phrases_required.append(self._phrase(terms, fields))
            for term in dict.fromkeys(t for t, _ in pairs):
                bq.required.append([(t, f) for t, f in pairs if t == term])
        elif isinstance(q, SiteQuery):
            bq.sites_allow.append(DomainFilter.from_site(q.domain))
        elif isinstance(q, BoolQuery):
            if q.must or q.must_not or q.filter:
                raise QueryError("nested boolean queries with required/excluded parts are not supported")
            if required:
                # a required OR-group: the doc needs any of the clause terms
                group: list[tuple[str, int]] = []
                for c in q.should:
                    if isinstance(c, TermQuery):
                        pairs = self._analyze(c.text, self._fields_for(c.field))
                        scored.update(pairs)
                        group.extend(pairs)
                bq.required.append(group)
            else:
                for c in q.should:
                    self._positive(c, scored, bq, required=False)

    def _negative(self, q: Query, bq: BoundQuery) -> None:
        if isinstance(q, TermQuery):
            bq.excluded.extend(self._analyze(q.text, self._fields_for(q.field)))
        elif isinstance(q, PhraseQuery):
            fields = self._fields_for(q.field)
            terms = tuple(self.analyzers[fields[0]].terms(q.text)) if fields else ()
            if len(terms) == 1:
                bq.excluded.extend((terms[0], f) for f in fields)
            elif terms:
                bq.phrases_excluded.append(self._phrase(terms, fields))
        elif isinstance(q, SiteQuery):
            bq.sites_deny.append(DomainFilter.from_site(q.domain))
        elif isinstance(q, BoolQuery):
            for c in (*q.should, *q.must):
                self._negative(c, bq)

    def _filter(self, q: Query, bq: BoundQuery) -> None:
        if isinstance(q, SiteQuery):
            bq.sites_allow.append(DomainFilter.from_site(q.domain))
        elif isinstance(q, BoolQuery) and all(isinstance(c, SiteQuery) for c in q.should) and q.should:
            pats = tuple(p for c in q.should if isinstance(c, SiteQuery) for p in DomainFilter.from_site(c.domain).allow)
            bq.sites_allow.append(DomainFilter(allow=pats))
        else:
            raise QueryError(f"unsupported filter clause {q!r}")
