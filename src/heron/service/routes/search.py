"""``POST /search`` and ``POST /v1/search``: the Perplexity Search API (see docs/API.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response

from heron.service import schemas
from heron.service.deps import SearchScope, State, run_with_deadline
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
async def search(request: Request, _: SearchScope, state: State) -> Response:
    """Search one index with one query or a list of up to 5 (then ``results`` is a list of lists)."""
    req = schemas.parse_search_request(await request.body())
    now = dt.datetime.now(dt.UTC)
    opts = req.to_options(now)
    handle = state.registry.get(req.index, state.config.default_index)
    timer = StageTimer()
    results = await run_with_deadline(lambda: run_queries(handle.index.searcher(), req.queries, opts, timer),
                                      state.config.request_timeout_s)
    state.metrics.observe_stages(timer.seconds, len(req.queries))
    return JsonResponse(schemas.search_response(req, results, now))
