"""Pure ASGI middleware: request metrics and the request-body size limit.

The body limit answers 413 at once for a declared ``Content-Length`` over the limit, and
otherwise counts the bytes as the route reads them (chunked uploads), raising 413 from
inside the route before anything is written. NDJSON bulk uploads have their own, larger
limit.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from heron.service.errors import ApiError, error_response
from heron.service.metrics import ServiceMetrics

_BULK_PATH = re.compile(r"^/v1/indexes/[^/]+/documents/?$")


class MetricsMiddleware:
    """Counts requests and observes latency by route template (``unmatched`` for 404s)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(path, scope["method"], status, time.perf_counter() - t0)


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
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await error_response(413, _message(limit, bulk))(scope, receive, send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, _message(limit, bulk))
            return message

        await self.app(scope, limited_receive, send)


def _message(limit: int, bulk: bool) -> str:
    what = "bulk NDJSON body" if bulk else "request body"
    setting = "max_bulk_bytes" if bulk else "max_body_bytes"
    return f"{what} is larger than {limit} bytes (the server's {setting}); send less per request"
