"""Point-in-time reading: an ``IndexReader`` hands out ``Searcher`` snapshots.

A ``Searcher`` is immutable: the segments (memory-mapped, read-only) and live-doc masks
live at the moment it was opened. Commits and merges create new snapshots; a searcher
in use keeps working on its own (files stay mapped even if a merge deletes them).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from heron.analysis import get_analyzer
from heron.errors import CorruptIndexError, QueryError
from heron.index.manifest import Manifest, SegmentMeta
from heron.index.segment import SegmentReader, read_live_docs
from heron.search.executor import allowed_mask, run_plain, run_segment, segment_cursors
from heron.search.filters import CompiledFilters, SearchFilters, compile_filters
from heron.search.hybrid import HybridParams
from heron.search.parser import has_syntax, parse_query
from heron.search.query import BoolQuery, Query, TermQuery
from heron.search.results import Explanation, Hit, ScoredIds, TermContribution
from heron.search.stats import LocalStats, StatsProvider
from heron.search.weight import BoundQuery, QueryBinder
from heron.storage.directory import Directory

MAX_K = 10_000
_NO_DOCS = np.empty(0, dtype=np.int64)


def _check_window(k: int, offset: int) -> None:
    if not 0 <= k <= MAX_K:
        raise QueryError(f"k must be between 0 and {MAX_K}, got {k}")
    if offset < 0 or offset + k > MAX_K:
        raise QueryError(f"offset must be >= 0 and offset + k <= {MAX_K}, got offset={offset}")


def _is_plain(query: str, operator: str) -> bool:
    """A ranked-OR bag of words (no operators, quotes or fields): parse and bind can skip the
    AST. Empty, blank and over-long strings go to the parser, which reports them."""
    return operator == "or" and 0 < len(query) <= 4096 and not query.isspace() and not has_syntax(query)


@dataclass(frozen=True, slots=True)
class SegmentView:
    meta: SegmentMeta
    reader: SegmentReader
    live: np.ndarray | None


class Searcher:
    """Searches one snapshot of the index."""

    def __init__(self, manifest: Manifest, views: list[SegmentView], stats: StatsProvider | None = None) -> None:
        self.manifest = manifest
        self.settings = manifest.settings
        self.segments = views
        self.stats = stats or LocalStats([v.meta for v in views], [v.reader for v in views])
        self.binder = QueryBinder(self.settings, self.stats)
        self.analyzers = [get_analyzer(f.analyzer) for f in self.settings.text_fields]
        self._bases = np.cumsum([0] + [v.meta.doc_count for v in views]).tolist()
        self._sats: list[np.ndarray | None] = [None] * len(views)
        self._lubs: list[np.ndarray | None] = [None] * len(views)

    def _sat(self, si: int) -> np.ndarray:
        sat = self._sats[si]
        if sat is None:
            sat = self._sats[si] = self.segments[si].reader.saturation(self.binder.k1, self.binder.b,
                                                                         self.binder.avgdl)
        return sat

    def _lub(self, si: int) -> np.ndarray:
        """Segment ``si``'s per-list score bounds under this snapshot's statistics."""
        lub = self._lubs[si]
        if lub is None:
            b = self.binder
            lub = self._lubs[si] = self.segments[si].reader.list_bounds(b.k1, b.b, b.avgdl, b.kn)
        return lub

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def warm(self) -> Searcher:
        """Do now what the first search of this snapshot would do lazily — each segment's BM25
        saturation table and list bounds for this snapshot's statistics (kernels that let other
        threads run) and its term hash table — so that the refresh that installs a snapshot
        pays for it, not a query. Returns ``self``."""
        for si in range(len(self.segments)):
            self._sat(si)
            self._lub(si)
            self.segments[si].reader.term_table  # noqa: B018 - built on first use: here, not in a query
        return self

    def doc_count(self) -> int:
        return sum(v.meta.live_count for v in self.segments)

    def with_stats(self, stats: StatsProvider) -> Searcher:
        """The same snapshot scored with other (e.g. cluster-global) statistics."""
        return Searcher(self.manifest, self.segments, stats)

    def parse(self, query: str | Query, operator: str = "or") -> Query:
        if isinstance(query, str):
            if _is_plain(query, operator):
                return BoolQuery(should=tuple(TermQuery(w) for w in query.split()))
            if operator not in ("or", "and"):
                raise QueryError(f"operator must be 'or' or 'and', got {operator!r}")
            return parse_query(query, default_operator=operator)
        return query

    def search(
        self,
        query: str | Query,
        k: int = 10,
        *,
        offset: int = 0,
        filters: SearchFilters | None = None,
        operator: str = "or",
        explain: bool = False,
        fields: bool = True,
        algorithm: str = "auto",
        mode: str = "lexical",
        hybrid: HybridParams | None = None,
    ) -> list[Hit]:
        """Top ``k`` hits after skipping ``offset``, ordered by score desc then index order.

        ``mode``: ``"lexical"`` (BM25), ``"dense"`` or ``"hybrid"`` (needs an index with vectors;
        see :mod:`heron.search.hybrid`, tuned by ``hybrid``)."""
        _check_window(k, offset)
        if mode != "lexical":
            from heron.search import hybrid as _hybrid

            return _hybrid.search(self, query, k, offset, filters, operator, explain, fields, mode, hybrid)
        cf = compile_filters(filters, self.settings)
        want = k + offset
        page = None if explain else self._plain_page(query, operator, cf, want, offset, algorithm)
        bq: BoundQuery | None = None
        if page is None:
            bq = self._bind(query, operator)
            if not fields and not explain and len(self.segments) == 1:
                page = self._one_segment_page(bq, cf, want, offset, algorithm)
        if page is not None:  # one segment, no explanations: its top-k page is the answer
            docs, scores = page
            if not fields:
                return [Hit(ext, score, None, None, (0, d)) for ext, d, score in
                        zip(self.segments[0].reader.ids_of(docs), docs.tolist(), scores, strict=True)]
            found = [(score, d, 0, d) for d, score in zip(docs.tolist(), scores, strict=True)]
        else:
            assert bq is not None
            found = self._collect(bq, cf, want, algorithm)[offset:want]
            if not fields and not explain:
                segs = self.segments
                return [Hit(segs[si].reader.external_id(d), score, None, None, (si, d))
                        for score, _gdoc, si, d in found]
        hits: list[Hit] = []
        for score, _gdoc, si, d in found:
            v = self.segments[si]
            rec = v.reader.stored(d) if fields else None
            ext = rec["id"] if rec is not None else v.reader.external_id(d)
            exp = self._explain(bq, si, d) if explain and bq is not None else None
            hits.append(Hit(ext, exp.score if exp else score, rec, exp, (si, d)))
        return hits

    def search_ids(
        self,
        query: str | Query,
        k: int = 10,
        *,
        offset: int = 0,
        filters: SearchFilters | None = None,
        operator: str = "or",
        algorithm: str = "auto",
        mode: str = "lexical",
        hybrid: HybridParams | None = None,
    ) -> ScoredIds:
        """The ids and scores of :meth:`search`'s hits (same arguments, same order), as two
        lists instead of one :class:`Hit` per result."""
        _check_window(k, offset)
        if mode != "lexical":
            hits = self.search(query, k, offset=offset, filters=filters, operator=operator, fields=False,
                               algorithm=algorithm, mode=mode, hybrid=hybrid)
            return ScoredIds([h.id for h in hits], [float(h.score) for h in hits])
        cf = compile_filters(filters, self.settings)
        want = k + offset
        page = self._plain_page(query, operator, cf, want, offset, algorithm)
        if page is None and len(self.segments) == 1:
            page = self._one_segment_page(self._bind(query, operator), cf, want, offset, algorithm)
        if page is not None:
            return ScoredIds(self.segments[0].reader.ids_of(page[0]), page[1])
        bq = self._bind(query, operator)
        found = self._collect(bq, cf, want, algorithm)[offset:want]
        segs = self.segments
        return ScoredIds([segs[si].reader.external_id(d) for _s, _g, si, d in found], [f[0] for f in found])

    def _plain_page(self, query: str | Query, operator: str, cf: CompiledFilters | None, want: int, offset: int,
                    algorithm: str) -> tuple[np.ndarray, list[float]] | None:
        """``_one_segment_page`` of a plain bag-of-words query without filters on a one-field,
        one-segment snapshot scored with its own statistics, bound and ranked in one kernel call
        (``run_plain``); None when the query or the snapshot is not of that kind."""
        seg = self.binder.one_segment
        if seg is None or cf is not None or want == 0 or not isinstance(query, str) or not _is_plain(query, operator):
            return None
        b = self.binder
        docs, scores = run_plain(seg, b.analyzers[0].terms(query), b.n_docs, b.field_weight_list[0], self._sat(0),
                                 self._lub(0), b.kn, self.segments[0].live, want, algorithm)
        return docs[offset:], scores[offset:].tolist()

    def _one_segment_page(
        self, bq: BoundQuery, cf: CompiledFilters | None, want: int, offset: int, algorithm: str
    ) -> tuple[np.ndarray, list[float]]:
        """(docs, scores) of hits ``offset`` to ``want`` of a one-segment snapshot (a merged
        index): its top-k is the answer, no merge by score needed."""
        top = self._segment_top(0, bq, cf, want, -np.inf, algorithm)
        if top is None:
            return _NO_DOCS, []
        return top[0][offset:], top[1][offset:].tolist()

    def _bind(self, query: str | Query, operator: str) -> BoundQuery:
        if isinstance(query, str) and _is_plain(query, operator):
            return self.binder.bind_text(query)
        return self.binder.bind(self.parse(query, operator))

    def _segment_top(
        self, si: int, bq: BoundQuery, cf: CompiledFilters | None, want: int, theta: float, algorithm: str
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Top ``want`` (docs, scores) of segment ``si`` above ``theta``; None when nothing in
        it can match (no terms, or the filters leave no document)."""
        if want == 0 or not bq.terms:
            return None
        v = self.segments[si]
        if cf is not None or bq.required or bq.excluded or bq.phrases_required or bq.phrases_excluded \
                or bq.sites_allow or bq.sites_deny:
            allowed = allowed_mask(v.reader, bq, v.live, cf, self.analyzers)
            if allowed is not None and not allowed.any():
                return None
        else:
            allowed = v.live
        ords = bq.seg_ords[si] if bq.seg_ords is not None else None
        return run_segment(v.reader, bq, self._sat(si), self._lub(si), allowed, want, theta, algorithm, ords)

    def _collect(
        self, bq: BoundQuery, cf: CompiledFilters | None, want: int, algorithm: str
    ) -> list[tuple[float, int, int, int]]:
        found: list[tuple[float, int, int, int]] = []
        theta = -np.inf
        for si in range(len(self.segments)):
            top = self._segment_top(si, bq, cf, want, theta, algorithm)
            if top is None:
                continue
            docs, scores = top
            if len(docs) == 0:
                continue
            base = self._bases[si]
            found.extend(zip(scores.tolist(), (docs + base).tolist(), [si] * len(docs), docs.tolist(), strict=True))
            if len(self.segments) > 1:
                found.sort(key=lambda x: (-x[0], x[1]))
                del found[want:]
                if len(found) == want:
                    theta = found[-1][0]
        return found

    def matching_ids(self, filters: SearchFilters) -> list[str]:
        """External ids of this snapshot's live documents that pass ``filters`` (the filters of a
        search: domains, dates, languages, metadata) — what a delete by filter removes. Raises
        ``FilterError`` for an invalid filter, ``QueryError`` when ``filters`` filter nothing."""
        cf = compile_filters(filters, self.settings)
        if cf is None:
            raise QueryError("no filter given: a delete by filter needs at least one filter "
                             "(to remove every document, delete the index or recreate it)")
        out: list[str] = []
        for v in self.segments:
            mask = cf.mask(v.reader)
            if v.live is not None:
                mask = mask & v.live
            out.extend(v.reader.external_id(d) for d in np.flatnonzero(mask).tolist())
        return out

    def explain_doc(self, query: str | Query, operator: str, si: int, doc: int) -> Explanation:
        """The BM25 explanation of one document (segment ``si``, local ``doc``) for ``query``."""
        return self._explain(self.binder.bind(self.parse(query, operator)), si, doc)

    def _explain(self, bq: BoundQuery, si: int, doc: int) -> Explanation:
        seg = self.segments[si].reader
        c = segment_cursors(seg, bq, self._lub(si))
        n = self.stats.doc_count()
        total = np.float32(0.0)  # the kernels' arithmetic: float32 products, float32 sum in cursor order
        scorers = bq.scorers
        parts: list[TermContribution] = []
        for j in range(len(c.start) - 1, -1, -1):  # canonical order: descending cursor index
            s, e = int(c.start[j]), int(c.end[j])
            pos = s + int(np.searchsorted(seg.docs[s:e], doc))
            if pos >= e or int(seg.docs[pos]) != doc:
                continue
            tw = scorers[int(c.scorer_index[j])]
            f = tw.field
            tf = int(seg.tfs[pos])
            c32 = np.float32(tw.weight) * self._sat(si)[pos]
            total = total + c32
            contrib = float(c32)
            fs = self.settings.text_fields[f]
            p = self.settings.field_params(fs)
            parts.append(TermContribution(
                term=tw.term, field=fs.name, score=contrib, tf=tf, idf=tw.idf, weight=tw.weight,
                doc_freq=tw.doc_freq, doc_count=n, field_length=int(seg.lengths[f, doc]),
                avgdl=self.binder.avgdl[f], k1=p.k1, b=p.b,
            ))
        return Explanation(float(total), tuple(parts))


class IndexReader:
    """Opens searchers over the latest committed manifest, reusing unchanged segments."""

    def __init__(self, directory: Directory) -> None:
        self._dir = directory
        self._lock = threading.Lock()
        self._readers: dict[str, SegmentReader] = {}
        self._lives: dict[str, np.ndarray] = {}
        self._searcher: Searcher | None = None
        self._last_generation = -1

    def searcher(self) -> Searcher:
        s = self._searcher
        if s is None:
            s = self.reload()
        return s

    def reload_if_open(self) -> None:
        """:meth:`reload` when a searcher is being served; a reader that has not opened one yet
        stays lazy (its first :meth:`searcher` reads the latest manifest), so a bulk build's
        commit does not open segments nobody searches in that process."""
        if self._searcher is not None:
            self.reload()

    def install(self, searcher: Searcher) -> None:
        """Serve ``searcher`` (a writer's near-real-time snapshot) to new searches, warmed first."""
        searcher.warm()
        with self._lock:
            self._searcher = searcher

    def open_state(self, manifest: Manifest, lives: Sequence[np.ndarray | None]) -> Searcher:
        """A searcher over ``manifest``'s segments with the given live-doc masks (``None``: read
        the segment's committed deletes) — the near-real-time state another process's writer
        published (:meth:`install` warms it). Segment readers are shared with :meth:`reload`. Raises ``CorruptIndexError``
        ("file is missing") when a segment was merged away meanwhile: wait for the next state."""
        with self._lock:
            stored = manifest.settings.store_documents
            views = []
            readers = dict(self._readers)
            for m, live in zip(manifest.segments, lives, strict=True):
                r = readers.get(m.name) or SegmentReader(self._dir, m.name, stored)
                readers[m.name] = r
                if live is None and m.del_file:
                    live = self._lives.get(m.del_file)
                    if live is None:
                        live = read_live_docs(self._dir, m.del_file, m.doc_count)
                views.append(SegmentView(m, r, live))
            keep = {m.name for m in manifest.segments}
            self._readers = {n: r for n, r in readers.items() if n in keep}
        return Searcher(manifest, views)

    def reload(self) -> Searcher:
        """Open a searcher on the current manifest (cheap when nothing changed).

        A concurrent commit may delete files of the manifest just read (merged-away
        segments); then the newer manifest is read and opening is retried.
        """
        for attempt in range(5):
            try:
                return self._reload_once()
            except CorruptIndexError as e:
                if e.reason != "file is missing" or attempt == 4:
                    raise
                if Manifest.read(self._dir).generation == self._last_generation:
                    raise
        raise AssertionError("unreachable")

    def _reload_once(self) -> Searcher:
        with self._lock:
            manifest = Manifest.read(self._dir)
            self._last_generation = manifest.generation
            if self._searcher is not None and self._searcher.generation == manifest.generation:
                return self._searcher
            stored = manifest.settings.store_documents
            views = []
            readers: dict[str, SegmentReader] = {}
            lives: dict[str, np.ndarray] = {}
            for m in manifest.segments:
                r = self._readers.get(m.name) or SegmentReader(self._dir, m.name, stored)
                readers[m.name] = r
                live = None
                if m.del_file:
                    live = self._lives.get(m.del_file)
                    if live is None:
                        live = read_live_docs(self._dir, m.del_file, m.doc_count)
                    lives[m.del_file] = live
                views.append(SegmentView(m, r, live))
            self._readers, self._lives = readers, lives
            s = Searcher(manifest, views)
            if self._searcher is not None:  # a newer commit: warm it before searches see it (a first open stays lazy)
                s.warm()
            self._searcher = s
            return s
