"""Pure ASGI middleware: request id + metrics + access log (+ the hand-off of searches to the
lean path), and the request-body size limit.

The body limit answers 413 at once for a declared ``Content-Length`` over the limit, and
otherwise counts the bytes as the route reads them (chunked uploads), raising 413 from
inside the route before anything is written. NDJSON bulk uploads have their own, larger
limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import time
from random import getrandbits as _random_bits
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heron.service.errors import ApiError, body_too_large_message, declared_length, error_response
from heron.service.fastpath import DOCUMENT_PATH, DOCUMENT_ROUTE, SEARCH_PATHS
from heron.service.logsetup import write_access_line
from heron.service.metrics import ServiceMetrics
from heron.service.tracing import Tracing

_BULK_PATH = re.compile(r"^/v1/indexes/[^/]+/documents/?$")


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
access_log = logging.getLogger("heron.access")
log = logging.getLogger("heron.service")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def request_id_from(headers: list[tuple[bytes, bytes]] | Any) -> str:
    """The caller's ``x-request-id`` when it is a sane token (≤ 128 safe characters), else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            rid = value.decode("latin-1").strip()
            if _REQUEST_ID.match(rid):
                return rid
            break
    return new_request_id()


def new_request_id() -> str:
    """32 random hex digits (``uuid4().hex``-like, without a system call per request: the
    generator is seeded from ``os.urandom`` and reseeded in forked children)."""
    return f"{_random_bits(128):032x}"


def query_hash(query: str | list[str]) -> str:
    """A short, stable digest of a query (or query list) for logs that must not hold the text."""
    text = query if isinstance(query, str) else "\x1f".join(query)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class RequestMiddleware:
    """Per request: the ``x-request-id`` (the caller's, or a new one; echoed on the response),
    metrics by route template (``unmatched`` for 404s), and one JSON access-log line.

    ``POST /search`` and ``POST /v1/search`` go from here straight to ``search`` (the lean path,
    :class:`heron.service.fastpath.LeanSearch`), skipping routing and the body-limit middleware,
    whose work the lean path does itself; their route label is the path. A document ``PUT``
    without query parameters goes to ``put`` (:class:`heron.service.fastpath.LeanPut`), labelled
    with its route's template.

    Routes add fields to the log line through ``request.state``: ``principal`` (the API key's
    configured *name*, never the key), ``index``, ``query`` (logged as ``query_hash`` unless
    ``log_queries``), ``results``. The line goes to the ``heron.access`` logger at INFO.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, log_requests: bool = True,
                 log_queries: bool = False, tracing: Tracing | None = None,
                 search: ASGIApp | None = None, put: ASGIApp | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        self.log_queries = log_queries
        self.tracing = tracing if tracing is not None and tracing.enabled else None
        #: the lean paths for ``POST /search`` / ``/v1/search`` and document ``PUT``s (``heron.service.fastpath``)
        self.search = search
        self.put = put

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send, self.lean_route(scope))

    async def handle(self, scope: Scope, receive: Receive, send: Send, lean: str | None) -> None:
        """Serve one HTTP request; ``lean`` is its :meth:`lean_route` (already known to
        ``app.HeronApp``, which hands lean requests here directly)."""
        t0 = time.perf_counter()
        status = 500
        rid = request_id_from(scope.get("headers", ()))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = rid
        header = (b"x-request-id", rid.encode("latin-1"))
        if self.tracing is not None:
            self.tracing.annotate(heron_request_id=rid)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            if lean is not None:
                handler = self.put if lean == DOCUMENT_ROUTE else self.search
                assert handler is not None
                await handler(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            # a bug: answer the error body here (with the request id), not in Starlette's outer handler
            log.exception("unhandled error on %s %s (request id %s)", scope["method"], scope["path"], rid,
                          exc_info=exc)
            await error_response(500, "internal server error (logged on the server)")(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - t0
            if lean is not None:
                path = lean
            else:
                route: Any = scope.get("route")
                path = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"  # bounded label values
            self.metrics.observe_request(path, method, status, seconds)
            stages = state.get("stages")
            if stages is not None:  # a search: its stage timings (see fastpath.execute_search)
                self.metrics.observe_stages(*stages)
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                write_access_line(access_log, self._line(scope, state, rid, path, status, seconds))

    def lean_route(self, scope: Scope) -> str | None:
        """The route label of an HTTP request that a lean path answers, else ``None``."""
        method = scope["method"]
        if method == "POST":
            path = scope["path"]
            return path if self.search is not None and path in SEARCH_PATHS else None
        if (method == "PUT" and self.put is not None and not scope.get("query_string")
                and DOCUMENT_PATH.match(scope["path"])):
            return DOCUMENT_ROUTE
        return None

    def _line(self, scope: Scope, state: dict[str, Any], rid: str, route: str, status: int,
              seconds: float) -> str:
        client = scope.get("client")
        rec: dict[str, Any] = {
            "ts": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "type": "access",
            "request_id": rid,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "client": client[0] if client else None,
            "key": state.get("principal"),
        }
        if "index" in state:
            rec["index"] = state["index"]
        q = state.get("query")
        if q is not None:
            rec["queries"] = 1 if isinstance(q, str) else len(q)
            rec["query_hash"] = query_hash(q)
            if self.log_queries:
                rec["query"] = q
        if "results" in state:
            rec["results"] = state["results"]
        return orjson.dumps(rec).decode()


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes`` (``max_bulk_bytes`` on the bulk documents route)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_bulk_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_bulk_bytes = max_bulk_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bulk = scope["method"] == "POST" and _BULK_PATH.match(scope["path"]) is not None
        limit = self.max_bulk_bytes if bulk else self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and declared_length(value) > limit:
                await error_response(413, body_too_large_message(limit, bulk))(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, body_too_large_message(limit, bulk))
            return message

        await self.app(scope, limited_receive, send)
