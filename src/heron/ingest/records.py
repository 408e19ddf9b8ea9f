"""What readers yield: raw HTML pages, ready documents, or counted skips with a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class RawPage:
    """One HTML payload and what the container knew about it (HTTP/WARC headers)."""

    source: str  # file[:offset] for messages
    body: bytes
    url: str = ""
    charset: str | None = None
    last_modified: str | None = None  # HTTP Last-Modified, as sent
    crawl_date: str | None = None  # WARC-Date / ARC date / file mtime (ISO)
    status: int | None = None


@dataclass(slots=True)
class RawDoc:
    """A document that arrived already as fields (JSONL, Parquet, BEIR): no extraction."""

    source: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Skip:
    """A record that was not turned into a document, and why (``reason`` is a short key)."""

    source: str
    reason: str
    detail: str = ""


Record = RawPage | RawDoc | Skip
