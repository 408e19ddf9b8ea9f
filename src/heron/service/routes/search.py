"""``POST /search`` and ``POST /v1/search``: the Perplexity Search API (see docs/API.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from heron.service import schemas
from heron.service.deps import authorize, get_state
from heron.service.fastpath import execute_search

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
    # normally answered by the lean path (heron.service.fastpath) before routing; same behaviour here
    state = await get_state(request)
    await authorize(request, state, "search")
    body = await request.body()
    payload = await execute_search(state, body, request.scope.setdefault("state", {}))
    return Response(payload, media_type="application/json")
