"""The one place that maps errors to HTTP statuses and the error body.

Every error answer has the OpenAI-style body the Perplexity SDK keeps in ``err.body``::

    {"error": {"message": str, "type": str, "code": int, "param"?: str}}

``code`` is the HTTP status. Statuses:

=====  ===============================  ==================================================
400    ``invalid_request_error``        bad JSON, wrong type, out-of-range or unknown value
                                        (``param`` names the field), query syntax (the
                                        message shows it; ``position`` is the 0-based
                                        offset), bad filter or index settings
401    ``authentication_error``         missing or unknown API key
403    ``permission_error``             the key lacks the route's scope
404    ``not_found_error``              unknown index, document or route
409    ``conflict_error``               index exists / another writer holds the lock
413    ``request_too_large``            body over the configured limit, bulk over its line limit
422    ``unprocessable_entity``         a document that does not fit the index schema
429    ``rate_limit_error``             over the per-key rate, or the index's write buffer is full
                                        (``retry-after``/``retry-after-ms``)
503    ``not_ready``                    starting or shutting down, or an index's merge backlog is
                                        over budget (``retry-after``)
504    ``timeout_error``                the per-request deadline passed
500    ``internal_error``               a bug: logged server-side, never a stack trace in the body
=====  ===============================  ==================================================

Client errors that a retry cannot fix carry ``x-should-retry: false`` so the SDK does not
retry them (it would retry 409 and every 5xx by default).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from heron.errors import (
    ConfigError,
    CorruptIndexError,
    HeronError,
    IncompatibleFormatError,
    IndexExistsError,
    IndexNotFoundError,
    LockError,
    QueryError,
    QueryParseError,
    SchemaError,
    StorageError,
    WriteRejectedError,
)
from heron.service.responses import JsonResponse

log = logging.getLogger("heron.service")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "unprocessable_entity",
    429: "rate_limit_error",
    500: "internal_error",
    503: "not_ready",
    504: "timeout_error",
}
_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503})

#: core error class → HTTP status (first match wins; order from specific to general)
HERON_STATUS: tuple[tuple[type[HeronError], int], ...] = (
    (IndexNotFoundError, 404),
    (IndexExistsError, 409),
    (LockError, 409),
    (SchemaError, 422),
    (QueryError, 400),
    (ConfigError, 400),
    (CorruptIndexError, 500),
    (IncompatibleFormatError, 500),
    (StorageError, 503),  # the index cannot be written now (disk, permissions, indexer gone): retry
    (HeronError, 400),
)


class ApiError(Exception):
    """An error answer decided by the service itself."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.headers = headers or {}


def error_response(status: int, message: str, param: str | None = None,
                   headers: dict[str, str] | None = None, **extra: Any) -> Response:
    err: dict[str, Any] = {"message": message, "type": ERROR_TYPES.get(status, "error"), "code": status}
    if param is not None:
        err["param"] = param
    err.update(extra)
    h = {"x-should-retry": "true" if status in _RETRYABLE else "false"}
    if status == 504:
        h["x-should-retry"] = "false"
    h.update(headers or {})
    return JsonResponse({"error": err}, status_code=status, headers=h)


def status_for(exc: HeronError) -> int:
    for cls, status in HERON_STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def declared_length(value: bytes) -> int:
    """A ``Content-Length`` header value as a number; 0 when it is not one (the body limit then
    counts the bytes as they are read)."""
    try:
        return int(value)
    except ValueError:
        return 0


def body_too_large_message(limit: int, bulk: bool = False) -> str:
    what = "bulk NDJSON body" if bulk else "request body"
    setting = "max_bulk_bytes" if bulk else "max_body_bytes"
    return f"{what} is larger than {limit} bytes (the server's {setting}); send less per request"


def api_error_response(exc: ApiError) -> Response:
    return error_response(exc.status, exc.message, exc.param, exc.headers)


def heron_error_response(exc: HeronError) -> Response:
    """The answer to a core error (status from :data:`HERON_STATUS`)."""
    status = status_for(exc)
    if status >= 500:
        log.error("index error: %s", exc)
    if isinstance(exc, QueryParseError):
        return error_response(status, str(exc), "query", position=exc.position)
    if isinstance(exc, WriteRejectedError):  # back-pressure
        wait = exc.retry_after_s
        return error_response(503 if exc.overloaded else 429, str(exc), headers={
            "retry-after": str(max(1, math.ceil(wait))), "retry-after-ms": str(math.ceil(wait * 1000))})
    if isinstance(exc, StorageError):  # nothing was acknowledged: the client may retry
        return error_response(status, str(exc), headers={"retry-after": "1"})
    return error_response(status, str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the error body above."""

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return api_error_response(exc)

    async def heron_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HeronError)
        return heron_error_response(exc)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        msg = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            msg = "no such route; see /docs for the API"
        return error_response(exc.status_code, msg, headers=dict(exc.headers or {}))

    async def validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "path", "query")]
        param = ".".join(loc) or None
        return error_response(400, f"{param or 'request'}: {first.get('msg', 'invalid value')}", param)

    async def disconnected(request: Request, _: Exception) -> Response:
        log.debug("client went away during %s %s", request.method, request.url.path)
        return error_response(400, "client disconnected")

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s (request id %s)", request.method, request.url.path,
                      getattr(request.state, "request_id", "-"), exc_info=exc)
        return error_response(500, "internal server error (logged on the server)")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HeronError, heron_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ClientDisconnect, disconnected)
    app.add_exception_handler(Exception, unexpected)
