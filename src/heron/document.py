"""Documents as heron stores them, and validation of user input into them."""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from heron.config import IndexSettings
from heron.errors import DocumentError
from heron.search.domains import url_domain

#: sentinel for "no date" in int64 date columns (seconds since the Unix epoch, UTC)
NO_DATE = -(2**63)
MAX_ID_LEN = 512
_BAD_ID = re.compile(r"[\x00-\x1f\x7f]")
_KNOWN = frozenset({"id", "_id", "title", "text", "url", "date", "last_updated", "language", "metadata"})


@dataclass(frozen=True, slots=True)
class Document:
    """One document: an external ``id`` (re-adding the same id replaces it) and its fields."""

    id: str
    title: str = ""
    text: str = ""
    url: str = ""
    date: str | None = None
    last_updated: str | None = None
    language: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return url_domain(self.url)

    def __reduce__(self) -> tuple[type[Document], tuple[Any, ...]]:
        # the fields as one tuple: the dataclass's own pickling walks ``fields()`` for every
        # document (what each write pays to reach the indexer process)
        return Document, (self.id, self.title, self.text, self.url, self.date, self.last_updated, self.language,
                          self.metadata)

    def to_stored(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "title": self.title, "text": self.text}
        if self.url:
            d["url"] = self.url
        if self.date:
            d["date"] = self.date
        if self.last_updated:
            d["last_updated"] = self.last_updated
        if self.language:
            d["language"] = self.language
        if self.metadata:
            d["metadata"] = self.metadata
        return d


def parse_date(value: Any, what: str, source: str | None = None) -> tuple[str, int]:
    """Parse an ISO-8601 date or datetime (or epoch seconds); returns (ISO date string, epoch seconds)."""
    if isinstance(value, bool):
        raise DocumentError(f"{what}: expected an ISO-8601 date, got a boolean", source)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DocumentError(f"{what}: not a finite timestamp: {value!r}", source)
        ts = int(value)
        d = _dt.datetime.fromtimestamp(ts, tz=_dt.UTC)
        return d.date().isoformat(), ts
    if not isinstance(value, str) or not value.strip():
        raise DocumentError(f"{what}: expected an ISO-8601 date string like '2024-03-01', got {value!r}", source)
    s = value.strip()
    try:
        if len(s) == 10:
            d0 = _dt.date.fromisoformat(s)
            ts = int(_dt.datetime(d0.year, d0.month, d0.day, tzinfo=_dt.UTC).timestamp())
            return d0.isoformat(), ts
        dt = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise DocumentError(
            f"{what}: {value!r} is not an ISO-8601 date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[+TZ])", source
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.UTC)
    return dt.date().isoformat(), int(dt.timestamp())


#: the keys of the common plain document, which :func:`make_document` validates on a fast path
_PLAIN = frozenset({"id", "title", "text"})
#: slot setters of the (frozen) Document, for building one without its generated ``__init__``
_SET_FIELDS = tuple(Document.__dict__[f].__set__ for f in
                    ("id", "title", "text", "url", "date", "last_updated", "language", "metadata"))
_new_document = object.__new__


def make_document(obj: Document | Mapping[str, Any], settings: IndexSettings, source: str | None = None) -> Document:
    """Validate a mapping (JSON object) into a ``Document``; raises ``DocumentError``.

    Accepts ``id`` or BEIR's ``_id``. Unknown top-level keys are moved into ``metadata``
    so nothing the user sent is lost.
    """
    if type(obj) is dict and obj.keys() <= _PLAIN:
        # fast path (bulk indexing): a dict of string id, title and text, checked exactly as below
        # (a printable id has no control characters: the regex only runs on the others)
        doc_id, title, text = obj.get("id"), obj.get("title", ""), obj.get("text", "")
        if (type(doc_id) is str and type(title) is str and type(text) is str and doc_id
                and len(doc_id) <= MAX_ID_LEN and (doc_id.isprintable() or not _BAD_ID.search(doc_id))):
            d = _new_document(Document)
            set_id, set_title, set_text, set_url, set_date, set_last, set_language, set_metadata = _SET_FIELDS
            set_id(d, doc_id)
            set_title(d, title)
            set_text(d, text)
            set_url(d, "")
            set_date(d, None)
            set_last(d, None)
            set_language(d, "")
            set_metadata(d, {})
            return d
    return _make_document(obj, settings, source)


def _make_document(obj: Document | Mapping[str, Any], settings: IndexSettings, source: str | None) -> Document:
    """:func:`make_document`'s general path."""
    if isinstance(obj, Document):
        obj = obj.to_stored()
    if not isinstance(obj, Mapping):
        raise DocumentError(f"expected a JSON object, got {type(obj).__name__}", source)
    raw_id = obj.get("id", obj.get("_id"))
    if raw_id is None:
        raise DocumentError("missing 'id' (or '_id'): every document needs a unique string id", source)
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise DocumentError(f"'id' must be a string or integer, got {type(raw_id).__name__}", source)
    doc_id = str(raw_id)
    if not doc_id or len(doc_id) > MAX_ID_LEN or _BAD_ID.search(doc_id):
        raise DocumentError(
            f"invalid id {doc_id[:60]!r}: ids must be 1-{MAX_ID_LEN} characters without control characters",
            source,
        )
    title = _text(obj.get("title"), "title", source)
    text = _text(obj.get("text"), "text", source)
    url = _text(obj.get("url"), "url", source).strip()
    date = last = None
    if obj.get("date") not in (None, ""):
        date = parse_date(obj["date"], "date", source)[0]
    if obj.get("last_updated") not in (None, ""):
        last = parse_date(obj["last_updated"], "last_updated", source)[0]
    language = _text(obj.get("language"), "language", source).strip().lower()
    meta_in = obj.get("metadata") or {}
    if not isinstance(meta_in, Mapping):
        raise DocumentError(f"'metadata' must be a JSON object, got {type(meta_in).__name__}", source)
    metadata = dict(meta_in)
    for k, v in obj.items():
        if k not in _KNOWN:
            metadata.setdefault(k, v)
    if not language and isinstance(metadata.get("language"), str):
        language = str(metadata["language"]).lower()
    for ff in settings.filter_fields:
        if ff.name in metadata and metadata[ff.name] is not None:
            _check_filter_value(ff.name, ff.type, metadata[ff.name], source)
    return Document(doc_id, title, text, url, date, last, language, metadata)


def _text(v: Any, what: str, source: str | None) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    raise DocumentError(f"'{what}' must be a string, got {type(v).__name__}", source)


def _check_filter_value(name: str, typ: str, v: Any, source: str | None) -> None:
    if typ == "keyword":
        vals = v if isinstance(v, list) else [v]
        if not all(isinstance(x, str | int) and not isinstance(x, bool) for x in vals):
            raise DocumentError(f"metadata.{name}: keyword field needs a string or list of strings", source)
    elif typ == "numeric":
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise DocumentError(f"metadata.{name}: numeric field needs a finite number, got {v!r}", source)
    else:
        parse_date(v, f"metadata.{name}", source)
