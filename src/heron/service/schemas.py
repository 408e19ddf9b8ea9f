"""Pydantic request/response models and their conversion to and from heron's own types.

The only module that uses pydantic. Requests are parsed in strict mode (no ``"10"`` for a
number), unknown fields are ignored (clients add fields through ``extra_body``), and every
problem becomes a 400 :class:`~heron.service.errors.ApiError` that names the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from random import getrandbits
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from heron.config import IndexSettings
from heron.document import Document, make_document
from heron.search.domains import parse_domain_filter
from heron.search.filters import Range, SearchFilters
from heron.search.hybrid import HybridParams
from heron.search.results import Explanation
from heron.service.errors import ApiError
from heron.service.registry import IndexHandle
from heron.service.searching import ResultItem, SearchOptions

MAX_QUERIES = 5
MAX_QUERY_CHARS = 4096
MAX_OFFSET = 9_980
DEFAULT_MAX_RESULTS = 10
DEFAULT_MAX_TOKENS = 25_000
#: per-result token budget by ``search_context_size`` when ``max_tokens_per_page`` is absent
#: (the documented default, "high", gives the docs' 1024)
TOKENS_PER_PAGE = {"low": 256, "medium": 512, "high": 1024}
RECENCY = {
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(days=7),
    "month": dt.timedelta(days=30),
    "year": dt.timedelta(days=365),
}
SUPPORTED_MODES = ("lexical", "dense", "hybrid")
_LANG = re.compile(r"^[A-Za-z]{2}$")

Domain = Annotated[str, StringConstraints(min_length=1, max_length=253)]
Budget = Annotated[int, Field(ge=1, le=1_000_000)]


def parse_us_date(value: str, field_name: str) -> dt.date:
    """``%m/%d/%Y`` (Perplexity) or ``YYYY-MM-DD``; ValueError naming the field otherwise."""
    s = value.strip()
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date in %m/%d/%Y format (e.g. '3/1/2025')")


class FilterFields(BaseModel):
    """The filters of a search (Perplexity's filter fields + heron's metadata ``filters``), shared
    by ``POST /search`` and the delete-by-filter route."""

    model_config = ConfigDict(strict=True, extra="ignore")

    search_domain_filter: Annotated[list[Domain], Field(max_length=20)] | None = None
    search_language_filter: Annotated[list[str], Field(max_length=10)] | None = None
    search_recency_filter: Literal["hour", "day", "week", "month", "year"] | None = None
    search_after_date_filter: str | None = None
    search_before_date_filter: str | None = None
    last_updated_after_filter: str | None = None
    last_updated_before_filter: str | None = None
    #: heron extension: conditions on declared metadata fields (value, list of values, or range)
    filters: dict[str, Any] | None = None

    @field_validator("search_domain_filter")
    @classmethod
    def _domains(cls, v: list[str] | None) -> list[str] | None:
        if v:
            parse_domain_filter(v)  # FilterError is a ValueError: reported on this field
        return v

    @field_validator("search_language_filter")
    @classmethod
    def _languages(cls, v: list[str] | None) -> list[str] | None:
        for x in v or ():
            if not _LANG.match(x):
                raise ValueError(f"{x!r} is not an ISO 639-1 two-letter language code (e.g. 'en')")
        return [x.lower() for x in v] if v else v

    @field_validator("search_after_date_filter", "search_before_date_filter", "last_updated_after_filter",
                     "last_updated_before_filter")
    @classmethod
    def _date(cls, v: str | None) -> str | None:
        if v is not None:
            parse_us_date(v, "")
        return v

    @field_validator("filters")
    @classmethod
    def _filters(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        for name, cond in (v or {}).items():
            metadata_condition(name, cond)
        return v

    def to_filters(self, now: dt.datetime) -> SearchFilters | None:
        """The core filters, or None when nothing filters."""
        if not (self.search_domain_filter or self.search_after_date_filter or self.search_recency_filter
                or self.search_before_date_filter or self.last_updated_after_filter
                or self.last_updated_before_filter or self.search_language_filter or self.filters):
            return None  # the common request: no filter at all
        after: dt.date | dt.datetime | None = None
        if self.search_after_date_filter:
            after = parse_us_date(self.search_after_date_filter, "search_after_date_filter")
        if self.search_recency_filter:
            since = now - RECENCY[self.search_recency_filter]
            after = since if after is None else max(since, _day_start(after))
        f = SearchFilters(
            domains=self.search_domain_filter or (),
            published_after=after,
            published_before=_opt_date(self.search_before_date_filter),
            updated_after=_opt_date(self.last_updated_after_filter),
            updated_before=_opt_date(self.last_updated_before_filter),
            languages=self.search_language_filter or (),
            metadata={k: metadata_condition(k, c) for k, c in (self.filters or {}).items()},
        )
        return None if f.is_empty() else f


class DeleteByFilterRequest(FilterFields):
    """``POST /v1/indexes/{name}/documents/delete`` body: the filters of a search; at least one.
    Unknown fields are an error here (a misspelt filter must not widen a delete)."""

    model_config = ConfigDict(strict=True, extra="forbid")


class SearchRequest(FilterFields):
    """``POST /search`` body: the Perplexity Search API fields plus heron extensions (strict
    types, unknown fields ignored: :class:`FilterFields`' configuration)."""

    query: str | list[str]
    max_results: Annotated[int, Field(ge=1, le=20)] | None = None
    max_tokens: Budget | None = None
    max_tokens_per_page: Budget | None = None
    search_context_size: Literal["low", "medium", "high"] | None = None
    #: accepted for compatibility; heron has no regional signal, so it does not filter
    country: str | None = None
    display_server_time: bool | None = None
    #: accepted for compatibility and ignored (heron searches its own index)
    search_mode: Literal["web", "academic", "sec"] | None = None
    search_type: Literal["web", "fast", "people"] | None = None
    # -- heron extensions -------------------------------------------------------------------
    index: str | None = None
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] | None = None
    mode: str | None = None
    explain: bool | None = None
    operator: Literal["or", "and"] | None = None
    #: hybrid retrieval (``mode`` "dense" / "hybrid" need an index with vectors): fusion method,
    #: RRF k, (lexical, dense) weights, per-retriever candidate counts, second stage
    fusion: Literal["rrf", "weighted"] | None = None
    rrf_k: Annotated[float, Field(gt=0, le=10_000)] | None = None
    weights: Annotated[list[Annotated[float, Field(ge=0, le=1000)]], Field(min_length=2, max_length=2)] | None = None
    lexical_top: Annotated[int, Field(ge=1, le=1000)] | None = None
    dense_top: Annotated[int, Field(ge=1, le=1000)] | None = None
    rerank: str | bool | None = None
    rerank_top: Annotated[int, Field(ge=1, le=200)] | None = None
    #: seconds; the request's deadline (capped by the server's request_timeout_s) → 504 after it
    timeout: Annotated[float, Field(gt=0, le=3600)] | None = None
    #: false: skip snippet extraction (``snippet`` is ""), for callers that only need ranking
    snippets: bool | None = None

    @field_validator("query", mode="before")
    @classmethod
    def _query(cls, v: Any) -> Any:
        if isinstance(v, str):
            qs = [v]
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            if not 1 <= len(v) <= MAX_QUERIES:
                raise ValueError(f"a query list needs 1 to {MAX_QUERIES} queries, got {len(v)}")
            qs = v
        else:
            raise ValueError("must be a string or a list of up to 5 strings")
        for q in qs:
            if not q.strip():
                raise ValueError("queries must not be empty")
            if len(q) > MAX_QUERY_CHARS:
                raise ValueError(f"a query may have at most {MAX_QUERY_CHARS} characters, got {len(q)}")
        return v

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str | None) -> str | None:
        if v is not None and v not in SUPPORTED_MODES:
            raise ValueError(f"{v!r} is not yet supported; supported modes: {list(SUPPORTED_MODES)}")
        return v

    # -- conversion ---------------------------------------------------------------------------
    @property
    def queries(self) -> list[str]:
        return [self.query] if isinstance(self.query, str) else list(self.query)

    def to_options(self, now: dt.datetime) -> SearchOptions:
        per_page = self.max_tokens_per_page or TOKENS_PER_PAGE[self.search_context_size or "high"]
        return SearchOptions(
            max_results=self.max_results or DEFAULT_MAX_RESULTS,
            offset=self.offset or 0,
            filters=self.to_filters(now),
            operator=self.operator or "or",
            explain=bool(self.explain),
            max_tokens=self.max_tokens or DEFAULT_MAX_TOKENS,
            max_tokens_per_page=per_page,
            mode=self.mode or "lexical",
            hybrid=self.to_hybrid(),
            snippets=self.snippets is not False,
        )

    def to_hybrid(self) -> HybridParams | None:
        """Hybrid knobs, or None when the request sets none (library defaults apply)."""
        kw: dict[str, Any] = {}
        for name in ("fusion", "rrf_k", "lexical_top", "dense_top", "rerank_top"):
            v = getattr(self, name)
            if v is not None:
                kw[name] = v
        if self.weights is not None:
            kw["weights"] = (float(self.weights[0]), float(self.weights[1]))
        if self.rerank is not None and self.rerank is not False:
            kw["rerank"] = "learned" if self.rerank is True else self.rerank
        return HybridParams(**kw) if kw else None


def _opt_date(v: str | None) -> dt.date | None:
    return parse_us_date(v, "") if v else None


def _day_start(d: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(d, dt.datetime):
        return d
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


_RANGE_KEYS = frozenset({"gte", "gt", "lte", "lt"})
_Scalar = str | int | float


def metadata_condition(name: str, cond: Any) -> Any:
    """A ``filters`` entry → a core metadata condition: value, list of values, or Range."""
    if isinstance(cond, dict):
        if not cond or set(cond) - _RANGE_KEYS:
            raise ValueError(f"{name}: a range needs some of {sorted(_RANGE_KEYS)}, got {sorted(cond)}")
        if not all(isinstance(x, _Scalar) and not isinstance(x, bool) for x in cond.values()):
            raise ValueError(f"{name}: range bounds must be numbers or dates")
        return Range(**cond)
    if isinstance(cond, list):
        if not cond or not all(isinstance(x, _Scalar) and not isinstance(x, bool) for x in cond):
            raise ValueError(f"{name}: a list of values must be non-empty strings/numbers")
        return cond
    if isinstance(cond, _Scalar) and not isinstance(cond, bool):
        return cond
    raise ValueError(f"{name}: expected a value, a list of values or a range object")


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def validation_message(e: ValidationError) -> tuple[str, str | None]:
    """One readable message (and the offending top-level field) from a ValidationError."""
    parts = []
    param: str | None = None
    for err in e.errors(include_url=False):
        loc = [x for x in err["loc"] if not (isinstance(x, str) and x in ("str", "list[str]"))]
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "json_invalid":
            return f"request body is not valid JSON: {err.get('ctx', {}).get('error', msg)}", None
        if err["type"] in ("model_type", "model_attributes_type") and not loc:
            return "request body must be a JSON object", None
        if param is None and loc:
            param = str(loc[0])
        parts.append(f"{_loc(loc)}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request", param


def parse_search_request(body: bytes) -> SearchRequest:
    """Parse and validate a search body (400 ApiError naming the field otherwise)."""
    req: SearchRequest = parse_model(SearchRequest, body, "send a JSON object with at least 'query'")
    return req


# -- responses --------------------------------------------------------------------------------


class SearchResult(BaseModel):
    """One result: Perplexity's fields, then heron's extras (kept by the SDK as attributes)."""

    title: str
    url: str
    snippet: str
    date: str | None = None
    last_updated: str | None = None
    score: float
    doc_id: str
    highlights: list[tuple[int, int]]
    explanation: dict[str, Any] | None = None


class SearchResponse(BaseModel):
    """``results`` is a list for a string query and a list of lists for a query list."""

    id: str
    results: list[SearchResult] | list[list[SearchResult]]
    server_time: str | None = None


class ErrorBody(BaseModel):
    message: str
    type: str
    code: int
    param: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def explanation_dict(e: Explanation) -> dict[str, Any]:
    return {"score": e.score, "description": e.describe(), "contributions": [asdict(c) for c in e.contributions]}


def result_dict(item: ResultItem) -> dict[str, Any]:
    f = item.hit.fields or {}
    out: dict[str, Any] = {
        "title": str(f.get("title") or ""),
        "url": str(f.get("url") or ""),
        "snippet": item.snippet.text,
        "date": f.get("date"),
        "last_updated": f.get("last_updated"),
        "score": item.hit.score,
        "doc_id": item.hit.id,
        "highlights": item.snippet.highlights,  # pairs: JSON arrays (orjson writes tuples as arrays)
    }
    if item.hit.explanation is not None:
        out["explanation"] = explanation_dict(item.hit.explanation)
    if item.hit.sources is not None:  # dense/hybrid with explain: each retriever's rank and score
        out.setdefault("explanation", {})["retrievers"] = item.hit.sources
    return out


def random_uuid4() -> str:
    """A random (version 4) UUID string, from the seeded PRNG: no system call per response."""
    h = f"{(getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def search_response(req: SearchRequest, results: list[list[ResultItem]], now: dt.datetime) -> dict[str, Any]:
    per_query = [[result_dict(r) for r in rs] for rs in results]
    out: dict[str, Any] = {
        "id": random_uuid4(),
        "results": per_query[0] if isinstance(req.query, str) else per_query,
    }
    if req.display_server_time:
        out["server_time"] = now.isoformat(timespec="seconds")
    return out


# -- indexes and documents ----------------------------------------------------------------------


def index_summary(h: IndexHandle) -> dict[str, Any]:
    """Name, location and headline stats of a served index."""
    st = h.index.stats()
    return {
        "name": h.name,
        "path": h.path,
        "doc_count": st.doc_count,
        "deleted_count": st.deleted_count,
        "segment_count": st.segment_count,
        "size_bytes": st.size_bytes,
        "generation": st.generation,
        "pending_writes": h.pending,
    }



class CreateIndexRequest(BaseModel):
    """``POST /v1/indexes``: a name and ``IndexSettings.to_dict()``-style settings."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    settings: dict[str, Any] = Field(default_factory=dict)


def parse_model(model: type[BaseModel], body: bytes, hint: str = "send a JSON object") -> Any:
    """Parse and validate ``body`` as ``model`` (400 ApiError naming the field otherwise)."""
    if not body.strip():
        raise ApiError(400, f"request body is empty: {hint}")
    try:
        return model.model_validate_json(body)
    except ValidationError as e:
        msg, param = validation_message(e)
        raise ApiError(400, msg, param=param) from None


def put_document_body(body: bytes, doc_id: str, settings: IndexSettings) -> Document:
    """The document of ``PUT .../documents/{doc_id}``: a JSON object whose ``id`` (or ``_id``),
    when given, must be ``doc_id``; 400 otherwise, ``DocumentError`` for invalid fields."""
    obj = document_body(body)
    body_id = obj.get("id", obj.get("_id"))
    if body_id is not None and str(body_id) != doc_id:
        raise ApiError(400, f"the body's id {body_id!r} differs from the id in the path {doc_id!r}", param="id")
    return make_document({**obj, "id": doc_id}, settings)


def document_body(body: bytes) -> Mapping[str, Any]:
    """A JSON object body (the document); 400 otherwise."""
    import orjson

    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ApiError(400, f"request body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ApiError(400, "a document must be a JSON object")
    return obj
