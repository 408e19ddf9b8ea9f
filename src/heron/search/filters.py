"""Search filters (domain, dates, language, declared metadata fields), evaluated per segment
into a document mask that the kernels consume — never a post-filter over a fixed top-k.

Dates: ``*_after`` is inclusive from the start of that day, ``*_before`` inclusive to its end
(UTC). Documents without a date never pass a date filter.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from heron.config import IndexSettings
from heron.document import NO_DATE
from heron.errors import FilterError
from heron.index.segment import SegmentReader
from heron.search.domains import DomainFilter, parse_domain_filter

DateLike = _dt.date | _dt.datetime | str


@dataclass(frozen=True, slots=True)
class Range:
    """Numeric or date range for a declared metadata field (any bound may be None)."""

    gte: Any = None
    gt: Any = None
    lte: Any = None
    lt: Any = None


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Filters applied inside the search kernels.

    ``domains`` follows Perplexity's ``search_domain_filter`` (allow list, or deny list of
    ``-domain`` entries, path prefixes, ``.tld``). ``metadata`` maps a declared filter field to
    a value (equals), a list of values (any of) or a :class:`Range`.
    """

    domains: Sequence[str] | DomainFilter = ()
    published_after: DateLike | None = None
    published_before: DateLike | None = None
    updated_after: DateLike | None = None
    updated_before: DateLike | None = None
    languages: Sequence[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (
            self.domains or self.published_after or self.published_before or self.updated_after
            or self.updated_before or self.languages or self.metadata
        )


def _ts(v: DateLike, end_of_day: bool, what: str) -> int:
    if isinstance(v, _dt.datetime):
        d = v if v.tzinfo else v.replace(tzinfo=_dt.UTC)
        return int(d.timestamp())
    if isinstance(v, _dt.date):
        day = v
    elif isinstance(v, str):
        s = v.strip()
        try:
            if "/" in s:
                day = _dt.datetime.strptime(s, "%m/%d/%Y").date()
            elif len(s) == 10:
                day = _dt.date.fromisoformat(s)
            else:
                return _ts(_dt.datetime.fromisoformat(s.replace("Z", "+00:00")), end_of_day, what)
        except ValueError:
            raise FilterError(
                f"{what}: {v!r} is not a date; use MM/DD/YYYY (Perplexity style) or YYYY-MM-DD"
            ) from None
    else:
        raise FilterError(f"{what}: expected a date, got {type(v).__name__}")
    t = int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC).timestamp())
    return t + 86399 if end_of_day else t


@dataclass(frozen=True, slots=True)
class CompiledFilters:
    domain: DomainFilter | None
    date_range: tuple[int, int] | None
    updated_range: tuple[int, int] | None
    languages: frozenset[str]
    metadata: tuple[tuple[str, str, Any], ...]

    def mask(self, seg: SegmentReader) -> np.ndarray:
        """uint8 mask over the segment's documents (1 = passes)."""
        n = seg.doc_count
        m = np.ones(n, dtype=bool)
        a = seg.arrays
        if self.domain is not None:
            m &= domain_mask(seg, self.domain)
        for col, rng in (("col_date", self.date_range), ("col_last_updated", self.updated_range)):
            if rng is not None:
                v = a[col]
                m &= (v != NO_DATE) & (v >= rng[0]) & (v <= rng[1])
        if self.languages:
            codes, values = seg.dict_column("language")
            allowed = np.array([v in self.languages for v in values], dtype=bool)
            m &= allowed[codes] if len(values) else np.zeros(n, dtype=bool)
        for name, kind, cond in self.metadata:
            m &= _meta_mask(seg, name, kind, cond)
        return m.astype(np.uint8)


def domain_mask(seg: SegmentReader, f: DomainFilter) -> np.ndarray:
    """bool mask of the segment's documents that pass ``f``. Without path patterns ``f`` is
    evaluated once per distinct domain (the column is dictionary-encoded), else per URL."""
    codes, values = seg.dict_column("domain")
    if f.needs_url:
        urls = seg.urls()
        return np.fromiter((f.matches(values[c], u) for c, u in zip(codes.tolist(), urls, strict=True)),
                           dtype=bool, count=seg.doc_count)
    if not values:
        return np.zeros(seg.doc_count, dtype=bool)
    ok = np.fromiter((f.matches(v) for v in values), dtype=bool, count=len(values))
    out: np.ndarray = ok[codes]
    return out


def compile_filters(f: SearchFilters | None, settings: IndexSettings) -> CompiledFilters | None:
    """Validate filters against the index settings; ``None`` when nothing filters."""
    if f is None or f.is_empty():
        return None
    if isinstance(f.domains, DomainFilter):
        dom: DomainFilter | None = f.domains
    elif f.domains:
        if isinstance(f.domains, str):
            raise FilterError("domains must be a list of strings, e.g. ['nature.com'] or ['-reddit.com']")
        dom = parse_domain_filter(list(f.domains))
    else:
        dom = None
    date_range = _range(f.published_after, f.published_before, "published date filter")
    upd_range = _range(f.updated_after, f.updated_before, "last-updated date filter")
    langs = frozenset(x.strip().lower() for x in f.languages)
    kinds = {ff.name: ff.type for ff in settings.filter_fields}
    meta: list[tuple[str, str, Any]] = []
    for name, cond in f.metadata.items():
        if name not in kinds:
            raise FilterError(
                f"metadata filter on undeclared field {name!r}; declared filter fields: {sorted(kinds) or 'none'} "
                "(declare it in IndexSettings.filter_fields when creating the index)"
            )
        kind = kinds[name]
        if kind == "date":
            cond = _date_cond(cond, name)
        meta.append((name, kind, cond))
    return CompiledFilters(dom, date_range, upd_range, langs, tuple(meta))


def _range(after: DateLike | None, before: DateLike | None, what: str) -> tuple[int, int] | None:
    if after is None and before is None:
        return None
    lo = _ts(after, False, what) if after is not None else -(2**62)
    hi = _ts(before, True, what) if before is not None else 2**62
    if lo > hi:
        raise FilterError(f"{what}: the 'after' date is later than the 'before' date")
    return lo, hi


def _date_cond(cond: Any, name: str) -> Any:
    if isinstance(cond, Range):
        return Range(
            *(None if x is None else _ts(x, i >= 2, f"metadata.{name}") for i, x in
              enumerate((cond.gte, cond.gt, cond.lte, cond.lt)))
        )
    if isinstance(cond, list):
        return [_ts(x, False, f"metadata.{name}") for x in cond]
    return _ts(cond, False, f"metadata.{name}")


def _meta_mask(seg: SegmentReader, name: str, kind: str, cond: Any) -> np.ndarray:
    n = seg.doc_count
    if name not in seg.extra_kinds:
        return np.zeros(n, dtype=bool)
    if kind == "keyword":
        rows, codes, values = seg.keyword_column(name)
        wanted = {str(x) for x in (cond if isinstance(cond, list) else [cond])}
        ok_code = np.array([v in wanted for v in values], dtype=bool)
        hit = ok_code[codes] if len(values) else np.zeros(len(codes), dtype=bool)
        cs = np.zeros(len(codes) + 1, dtype=np.int64)
        np.cumsum(hit, out=cs[1:])
        out: np.ndarray = (cs[rows[1:]] - cs[rows[:-1]]) > 0
        return out
    v = seg.arrays[f"x_{name}"]
    present = ~np.isnan(v) if kind == "numeric" else v != NO_DATE
    if isinstance(cond, Range):
        m = present.copy()
        if cond.gte is not None:
            m &= v >= cond.gte
        if cond.gt is not None:
            m &= v > cond.gt
        if cond.lte is not None:
            m &= v <= cond.lte
        if cond.lt is not None:
            m &= v < cond.lt
        return np.asarray(m, dtype=bool)
    vals = cond if isinstance(cond, list) else [cond]
    try:
        return np.asarray(present & np.isin(v, np.array(vals, dtype=v.dtype)), dtype=bool)
    except (TypeError, ValueError):
        raise FilterError(f"metadata.{name}: cannot compare {cond!r} with a {kind} field") from None
