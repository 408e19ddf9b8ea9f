"""Run one search request against a searcher snapshot: hits, then snippets under budgets.

Plain data in, plain data out (no HTTP, no pydantic): the route converts the request with
``schemas`` and the results back. Every query of a multi-query request runs on the same
snapshot, independently, with its own ``max_results`` and ``max_tokens`` budget.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from heron.analysis import Analyzer
from heron.index.reader import Searcher
from heron.search.filters import SearchFilters
from heron.search.hybrid import HybridParams
from heron.search.query import BoolQuery, PhraseQuery, Query, TermQuery
from heron.search.results import Hit
from heron.service.tracing import Tracing
from heron.snippets import EMPTY, Snippet, build_snippet, count_tokens, query_term_weights, share_budget

SNIPPET_FIELD = "text"


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """Search-time parameters, already validated."""

    max_results: int = 10
    offset: int = 0
    filters: SearchFilters | None = None
    operator: str = "or"
    explain: bool = False
    max_tokens: int = 25_000
    max_tokens_per_page: int = 1024
    #: False: no snippet work at all (``snippet`` is "" in every result)
    snippets: bool = True
    #: "lexical", "dense" or "hybrid", with the hybrid knobs (None = defaults)
    mode: str = "lexical"
    hybrid: HybridParams | None = None


@dataclass(frozen=True, slots=True)
class ResultItem:
    hit: Hit
    snippet: Snippet


class StageTimer:
    """Seconds spent per stage (``parse``, ``bind``, ``search``, ``snippets``, ``serialize``),
    summed over the queries; each stage is also a tracing span when ``tracing`` is on.

    ``deadline`` (a ``time.monotonic()`` value) makes :func:`run_queries` stop between
    stages once it has passed, raising ``TimeoutError``: a request that timed out does not
    keep a worker thread busy with the rest of its queries and snippets.

    ``with timer.stage(name):`` is on every request's path several times, so the timer is its
    own small context manager (no generator per stage, no span unless tracing is on); stages
    run one after another, never nested.
    """

    __slots__ = ("_name", "_span", "_t0", "deadline", "seconds", "tracing")

    def __init__(self, tracing: Tracing | None = None, deadline: float | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.tracing = tracing if tracing is not None and tracing.enabled else None
        self.deadline = deadline
        self._name = ""
        self._t0 = 0.0
        self._span: AbstractContextManager[Any] | None = None

    def stage(self, name: str) -> StageTimer:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TimeoutError(f"deadline passed before the {name} stage")
        self._name = name
        return self

    def __enter__(self) -> None:
        if self.tracing is not None:
            self._span = self.tracing.span(f"heron.{self._name}")
            self._span.__enter__()
        self._t0 = time.perf_counter()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        elapsed = time.perf_counter() - self._t0
        name = self._name
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
        span, self._span = self._span, None
        if span is not None:
            span.__exit__(exc_type, exc, tb)


def run_queries(
    searcher: Searcher, queries: list[str], opts: SearchOptions, timer: StageTimer
) -> list[list[ResultItem]]:
    """Results for each query, in request order."""
    return [run_query(searcher, q, opts, timer) for q in queries]


def run_query(searcher: Searcher, query: str, opts: SearchOptions, timer: StageTimer) -> list[ResultItem]:
    with timer.stage("search"):
        hits = searcher.search(
            query, opts.max_results, offset=opts.offset, filters=opts.filters, operator=opts.operator,
            explain=opts.explain, mode=opts.mode, hybrid=opts.hybrid,
        )
    if not opts.snippets:
        return [ResultItem(h, EMPTY) for h in hits]
    with timer.stage("snippets"):
        analyzer = snippet_analyzer(searcher)
        terms = query_term_weights(query_terms(searcher.parse(query, opts.operator), analyzer))
        remaining = opts.max_tokens
        out: list[ResultItem] = []
        for i, h in enumerate(hits):
            allot = share_budget(remaining, opts.max_tokens_per_page, len(hits) - i)
            text = str((h.fields or {}).get(SNIPPET_FIELD) or "")
            snip = build_snippet(text, analyzer, terms, allot) if allot and text else EMPTY
            remaining -= count_tokens(snip.text)
            out.append(ResultItem(h, snip))
    return out


def snippet_analyzer(searcher: Searcher) -> Analyzer:
    """The analyzer of the field snippets are cut from (``text``, else the first field)."""
    names = [f.name for f in searcher.settings.text_fields]
    return searcher.analyzers[names.index(SNIPPET_FIELD) if SNIPPET_FIELD in names else 0]


def query_terms(q: Query, analyzer: Analyzer) -> list[str]:
    """Analyzed terms of the scored, non-excluded parts of a parsed query."""
    if isinstance(q, TermQuery | PhraseQuery):
        return analyzer.terms(q.text)
    if isinstance(q, BoolQuery):
        return [t for c in (*q.should, *q.must) for t in query_terms(c, analyzer)]
    return []
