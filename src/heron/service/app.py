"""``create_app(config)``: the FastAPI application, a thin adapter over ``heron.Index``.

The lifespan opens the configured indexes, warms the kernels and starts the refresh
thread before the first request; on shutdown it stops accepting work, commits pending
writes and releases the indexes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from heron import __version__
from heron.api import Index
from heron.service.config import ServiceConfig
from heron.service.errors import install_error_handlers
from heron.service.fastpath import LeanPut, LeanSearch
from heron.service.middleware import BodyLimitMiddleware, RequestMiddleware
from heron.service.routes import admin, documents, health, indexes, search, ui
from heron.service.state import ServiceState
from heron.service.tracing import Tracing, asgi_middleware, make_tracer_provider


def create_app(
    config: ServiceConfig, indexes_: Mapping[str, Index] | None = None, *, tracer_provider: Any | None = None
) -> FastAPI:
    """A new app for ``config``; ``indexes_`` serves already-open indexes (e.g. in-memory in tests).

    ``tracer_provider`` (an OpenTelemetry ``TracerProvider``) traces with it whatever
    ``config.tracing`` says; otherwise ``config.tracing`` decides (off by default).
    """
    provider = tracer_provider if tracer_provider is not None else make_tracer_provider(config)
    tracing = Tracing(provider)
    state = ServiceState(config, indexes_, tracing)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(state.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.stop)
            if tracer_provider is None:  # ours: flush the exporter
                tracing.shutdown()

    app = HeronApp(
        title="heron",
        version=__version__,
        summary="Self-hosted search with a Perplexity-compatible Search API",
        lifespan=lifespan,
    )
    app.state.heron = state
    install_error_handlers(app)
    for r in (search.router, documents.router, indexes.router, health.router, admin.router):
        app.include_router(r)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes, max_bulk_bytes=config.max_bulk_bytes)
    request_options: dict[str, Any] = {"metrics": state.metrics, "log_requests": config.access_log,
                                       "log_queries": config.log_queries, "tracing": tracing,
                                       "search": LeanSearch(state), "put": LeanPut(state)}
    app.add_middleware(RequestMiddleware, **request_options)
    if provider is not None:
        otel_middleware, otel_options = asgi_middleware(provider)
        app.add_middleware(otel_middleware, **otel_options)
    else:  # no server spans to open: searches can enter at the request middleware directly
        app.lean_entry = RequestMiddleware(app, **request_options)
    ui.mount(app)
    return app


class HeronApp(FastAPI):
    """The FastAPI app, with ``POST /search`` and ``/v1/search`` (and single-document ``PUT``s)
    handed straight to the request middleware (request id, metrics, access log) and the lean
    paths of :mod:`heron.service.fastpath`.

    The search request is the one a server answers thousands of times a second; the layers it
    skips (FastAPI's telemetry and body-limit wrappers, Starlette's error middleware, the body
    limit middleware) do nothing for it that the lean path does not do itself — it checks the
    body size, and the request middleware turns an unhandled error into a logged 500.
    ``lean_entry`` stays ``None`` when OpenTelemetry tracing is on, so that every request
    still gets its server span from the tracing middleware.
    """

    lean_entry: RequestMiddleware | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.lean_entry
        if entry is not None and scope["type"] == "http":
            lean = entry.lean_route(scope)
            if lean is not None:
                scope["app"] = self
                await entry.handle(scope, receive, send, lean)
                return
        await super().__call__(scope, receive, send)
