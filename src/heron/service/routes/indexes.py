"""Indexes: list, create (admin), stats, delete (admin), refresh (commit pending writes)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from heron.config import IndexSettings
from heron.errors import ConfigError
from heron.service import schemas
from heron.service.deps import AdminScope, SearchScope, State, WriteScope, run_blocking
from heron.service.errors import ApiError
from heron.service.registry import IndexHandle
from heron.service.responses import JsonResponse
from heron.service.state import ServiceState

router = APIRouter(prefix="/v1/indexes", tags=["indexes"])


def _details(h: IndexHandle) -> dict[str, Any]:
    st = h.index.stats()
    return {**schemas.index_summary(h), "settings": h.index.settings.to_dict(), "fields": st.fields}


def _single_worker(state: ServiceState, what: str) -> None:
    """The other worker processes would not know of the change: refuse it (see service.worker)."""
    if state.config.workers > 1:
        raise ApiError(400, f"{what} indexes over the API is not supported while serving with "
                            f"{state.config.workers} worker processes; restart heron serve with --workers 1 "
                            "for index administration")


@router.get("", summary="List indexes")
async def list_indexes(_: SearchScope, state: State) -> Response:
    out = await run_blocking(lambda: [schemas.index_summary(h) for h in state.registry.handles()])
    return JsonResponse({"indexes": out})


@router.post("", status_code=201, summary="Create an index")
async def create_index(request: Request, _: AdminScope, state: State) -> Response:
    """Body: ``{"name": ..., "settings": {...}}`` with ``IndexSettings.to_dict()`` keys."""
    _single_worker(state, "creating")
    req: schemas.CreateIndexRequest = schemas.parse_model(schemas.CreateIndexRequest, await request.body())
    try:
        settings = IndexSettings.from_dict(req.settings)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"invalid index settings: {e!r}") from None
    h = await run_blocking(lambda: state.registry.create(req.name, settings))
    return JsonResponse(_details(h), status_code=201)


@router.get("/{name}", summary="Index stats and settings")
async def get_index(name: str, _: SearchScope, state: State) -> Response:
    h = state.registry.get(name)
    return JsonResponse(await run_blocking(lambda: _details(h)))


@router.delete("/{name}", summary="Delete an index")
async def delete_index(name: str, _: AdminScope, state: State) -> Response:
    """Stop serving the index; its files are deleted only if it was created through this API."""
    _single_worker(state, "deleting")
    h = await run_blocking(lambda: state.registry.drop(name))
    return JsonResponse({"name": name, "deleted": True, "files_deleted": h.owned})


@router.post("/{name}/refresh", summary="Commit pending writes and refresh")
async def refresh_index(name: str, _: WriteScope, state: State) -> Response:
    h = state.registry.get(name)
    await run_blocking(lambda: h.refresh(commit=True))
    return JsonResponse(await run_blocking(lambda: schemas.index_summary(h)))
