"""``create_app(config)``: the FastAPI application, a thin adapter over ``heron.Index``.

The lifespan opens the configured indexes, warms the kernels and starts the refresh
thread before the first request; on shutdown it stops accepting work, commits pending
writes and releases the indexes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from heron import __version__
from heron.api import Index
from heron.service.config import ServiceConfig
from heron.service.errors import install_error_handlers
from heron.service.middleware import BodyLimitMiddleware, MetricsMiddleware
from heron.service.routes import documents, health, indexes, search
from heron.service.state import ServiceState


def create_app(config: ServiceConfig, indexes_: Mapping[str, Index] | None = None) -> FastAPI:
    """A new app for ``config``; ``indexes_`` serves already-open indexes (e.g. in-memory in tests)."""
    state = ServiceState(config, indexes_)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(state.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(state.stop)

    app = FastAPI(
        title="heron",
        version=__version__,
        summary="Self-hosted search with a Perplexity-compatible Search API",
        lifespan=lifespan,
    )
    app.state.heron = state
    install_error_handlers(app)
    for r in (search.router, documents.router, indexes.router, health.router):
        app.include_router(r)
    app.add_middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes, max_bulk_bytes=config.max_bulk_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    return app
