"""``POST /search`` and ``POST /v1/search``: the Perplexity Search API (see docs/API.md)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import APIRouter, Request, Response

from heron.service import schemas
from heron.service.deps import authorize, get_state, run_search
from heron.service.responses import JsonResponse
from heron.service.searching import StageTimer, run_queries

router = APIRouter(tags=["search"])

_DOC: dict[int | str, dict[str, Any]] = {
    200: {"model": schemas.SearchResponse},
    400: {"model": schemas.ErrorResponse},
    401: {"model": schemas.ErrorResponse},
    429: {"model": schemas.ErrorResponse},
}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": schemas.SearchRequest.model_json_schema()}}}}


@router.post("/search", responses=_DOC, openapi_extra=_BODY, summary="Search (Perplexity-compatible)")
@router.post("/v1/search", responses=_DOC, openapi_extra=_BODY, summary="Search (Perplexity-compatible)")
async def search(request: Request) -> Response:
    """Search one index with one query or a list of up to 5 (then ``results`` is a list of lists)."""
    # the hot path: auth + rate limit called directly, not through FastAPI's dependency solver
    state = await get_state(request)
    await authorize(request, state, "search")
    body = await request.body()
    timer = StageTimer(tracing=state.tracing)
    with timer.stage("parse"):
        req = schemas.parse_search_request(body)
    log = request.state
    log.query = req.query
    with timer.stage("bind"):
        now = dt.datetime.now(dt.UTC)
        opts = req.to_options(now)
        handle = state.registry.get(req.index, state.config.default_index)
        log.index = handle.name
        searcher = handle.index.searcher()
    timeout = min(req.timeout or state.config.request_timeout_s, state.config.request_timeout_s)
    timer.deadline = time.monotonic() + timeout
    results = await run_search(lambda: run_queries(searcher, req.queries, opts, timer), timeout,
                               state.config.search_threads)
    with timer.stage("serialize"):
        log.results = sum(len(r) for r in results)
        response = JsonResponse(schemas.search_response(req, results, now))
    state.metrics.observe_stages(timer.seconds, len(req.queries))
    return response
