"""The lean request paths: ``POST /search`` / ``POST /v1/search``, and the single-document
write ``PUT /v1/indexes/{name}/documents/{id}`` (without query parameters).

A search request is the one request a server answers thousands of times a second, so it does
not go through Starlette's routing, FastAPI's dependency solver and ``Request`` objects, or a
second middleware: :class:`~heron.service.middleware.RequestMiddleware` (request id, metrics,
access log, unhandled errors) hands it straight to :class:`LeanSearch`, which does, in order,
what the stack would have done — the body-size limit (413), readiness + API key + scope + rate
limit (:func:`~heron.service.deps.check_access`), reading the body, :func:`execute_search`
(the same function the FastAPI route calls), and one orjson-encoded answer. Errors go through
the same mapping as everywhere else (:mod:`heron.service.errors`), so the wire behaviour is
the route's; the FastAPI route stays declared for the OpenAPI document (and answers the same
way if it is ever reached).

A document ``PUT`` is the request an ingesting client sends hundreds of times a second beside
the searches; :class:`LeanPut` does what ``routes.documents.put_document`` does (same checks in
the same order, same answers) and hands the document to the index's indexer process straight
from the event loop (:meth:`~heron.service.registry.IndexHandle.add_async`), instead of through
a worker thread that waits for the answer. A ``PUT`` with a query string (``?refresh=true``)
takes the route.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from heron.errors import HeronError
from heron.service import schemas
from heron.service.deps import check_access, run_search
from heron.service.errors import (
    ApiError,
    api_error_response,
    body_too_large_message,
    declared_length,
    error_response,
    heron_error_response,
)
from heron.service.searching import StageTimer, run_queries
from heron.service.state import ServiceState

#: the paths answered by the lean path (exactly; ``/search/`` goes through the router)
SEARCH_PATHS = frozenset({"/search", "/v1/search"})
#: ``PUT`` of one document (what ``routes.documents.put_document`` matches) and its route label
DOCUMENT_PATH = re.compile(r"^/v1/indexes/([^/]+)/documents/(.+)$")
DOCUMENT_ROUTE = "/v1/indexes/{name}/documents/{doc_id:path}"
_JSON = (b"content-type", b"application/json")


async def execute_search(state: ServiceState, body: bytes, log: dict[str, Any]) -> bytes:
    """Parse, bind, search (+ snippets) and serialize one search request: the JSON answer.

    Fills ``log`` (the request's state: the access-log fields ``query``, ``index``,
    ``results``, and ``stages``, the stage timings that the request middleware records in the
    metrics once the answer is sent). Raises ``ApiError`` / ``HeronError`` for error answers.
    """
    timer = StageTimer(tracing=state.tracing)
    with timer.stage("parse"):
        req = schemas.parse_search_request(body)
    log["query"] = req.query
    with timer.stage("bind"):
        now = dt.datetime.now(dt.UTC)
        opts = req.to_options(now)
        handle = state.registry.get(req.index, state.config.default_index)
        log["index"] = handle.name
        searcher = handle.index.searcher()
    config = state.config
    timeout = min(req.timeout or config.request_timeout_s, config.request_timeout_s)
    timer.deadline = time.monotonic() + timeout
    t0 = time.perf_counter()
    try:
        results = await run_search(lambda: run_queries(searcher, req.queries, opts, timer), timeout,
                                   not state.run_inline())
    finally:
        state.observe_search(time.perf_counter() - t0)
    with timer.stage("serialize"):
        log["results"] = sum(len(r) for r in results)
        payload = orjson.dumps(schemas.search_response(req, results, now))
    log["stages"] = (timer.seconds, len(req.queries))
    return payload


def _check_request(state: ServiceState, scope: Scope, access: str, log: dict[str, Any]) -> None:
    """What the stack checks before a route reads the body: a declared ``Content-Length`` over
    ``max_body_bytes`` (413), then readiness, API key, ``access`` scope and rate limit."""
    limit = state.config.max_body_bytes
    authorization: str | None = None
    found_auth = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if declared_length(value) > limit:
                raise ApiError(413, body_too_large_message(limit))
        elif name == b"authorization" and not found_auth:
            authorization = value.decode("latin-1")
            found_auth = True
    client = scope.get("client")
    check_access(state, authorization, client[0] if client else None, access, log)


async def _answer(scope: Scope, receive: Receive, send: Send, work: Awaitable[bytes]) -> None:
    """Send ``work``'s JSON payload with 200, or its error the way the stack maps errors."""
    try:
        payload = await work
    except ApiError as e:
        await api_error_response(e)(scope, receive, send)
    except HeronError as e:
        await heron_error_response(e)(scope, receive, send)
    except ClientDisconnect:
        await error_response(400, "client disconnected")(scope, receive, send)
    else:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()), _JSON]})
        await send({"type": "http.response.body", "body": payload})


class LeanSearch:
    """An ASGI callable answering a search request end to end (see the module docstring)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _answer(scope, receive, send, self._search(scope, receive))

    async def _search(self, scope: Scope, receive: Receive) -> bytes:
        log: dict[str, Any] = scope.setdefault("state", {})
        _check_request(self.state, scope, "search", log)
        body = await _read_body(receive, self.state.config.max_body_bytes)
        return await execute_search(self.state, body, log)


class LeanPut:
    """An ASGI callable answering ``PUT /v1/indexes/{name}/documents/{id}`` (see the module
    docstring)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _answer(scope, receive, send, self._put(scope, receive))

    async def _put(self, scope: Scope, receive: Receive) -> bytes:
        log: dict[str, Any] = scope.setdefault("state", {})
        state = self.state
        _check_request(state, scope, "write", log)
        m = DOCUMENT_PATH.match(scope["path"])
        assert m is not None  # the request middleware sends only matching paths here
        name, doc_id = m.group(1), m.group(2)
        handle = state.registry.get(name)
        body = await _read_body(receive, state.config.max_body_bytes)
        await handle.add_async(schemas.put_document_body(body, doc_id, handle.index.settings))
        return orjson.dumps({"index": name, "id": doc_id, "result": "upserted", "refreshed": False})


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message: Message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                seen += len(chunk)
                if seen > limit:
                    raise ApiError(413, body_too_large_message(limit))
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif kind == "http.disconnect":
            raise ClientDisconnect()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
