"""Admin: index aliases (atomic swap) and snapshots (create / list / restore / delete).

Aliases: ``GET /v1/aliases``; ``PUT /v1/aliases/{alias}`` with ``{"index": name}`` points the
alias at an index in one atomic step (searches in flight finish on the old index, the next
ones go to the new); ``DELETE /v1/aliases/{alias}``. Any route that takes an index name also
takes an alias.

Snapshots go to the repository configured as ``snapshot_repo`` (a directory or
``s3://bucket/prefix``; S3 credentials/endpoint from the standard AWS chain):
``POST /v1/snapshots`` ``{"index": name, "snapshot"?: name}`` commits the index's pending
writes, then snapshots the commit (writes continue meanwhile); ``GET /v1/snapshots``;
``POST /v1/snapshots/{snapshot}/restore`` ``{"index": new_name}`` restores into a new index
under ``data_dir`` and serves it; ``DELETE /v1/snapshots/{snapshot}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from heron.api import Index
from heron.errors import ConfigError, IndexExistsError
from heron.service.config import check_index_name
from heron.service.deps import AdminScope, SearchScope, State, run_blocking
from heron.service.errors import ApiError
from heron.service.responses import JsonResponse
from heron.service.state import ServiceState
from heron.snapshots import Repository, create_snapshot, delete_snapshot, list_snapshots, open_repository
from heron.snapshots import restore_snapshot as _restore

router = APIRouter(tags=["admin"])


async def _body(request: Request, *required: str) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as e:
        raise ApiError(400, f"request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    for key in required:
        if not isinstance(body.get(key), str) or not body[key]:
            raise ApiError(400, f"{key!r} (a string) is required", param=key)
    return body


# -- aliases -------------------------------------------------------------------------------------
@router.get("/v1/aliases", summary="List aliases")
async def list_aliases(_: SearchScope, state: State) -> Response:
    return JsonResponse({"aliases": state.registry.aliases.items()})


@router.put("/v1/aliases/{alias}", summary="Point an alias at an index (atomic swap)")
async def set_alias(alias: str, request: Request, _: AdminScope, state: State) -> Response:
    body = await _body(request, "index")
    index = body["index"]
    check_index_name(alias)
    if alias in state.registry.names():
        raise ApiError(409, f"{alias!r} is an index name; an alias needs a name of its own", param="alias")
    state.registry.get(index)  # 404 unless served (aliases point at indexes, not at aliases)
    if index not in state.registry.names():
        raise ApiError(400, f"{index!r} is an alias; point aliases at indexes", param="index")
    previous = await run_blocking(lambda: state.registry.aliases.set(alias, index))
    return JsonResponse({"alias": alias, "index": index, "previous": previous})


@router.delete("/v1/aliases/{alias}", summary="Remove an alias")
async def delete_alias(alias: str, _: AdminScope, state: State) -> Response:
    if not await run_blocking(lambda: state.registry.aliases.remove(alias)):
        raise ApiError(404, f"no alias {alias!r}")
    return JsonResponse({"alias": alias, "deleted": True})


# -- snapshots -----------------------------------------------------------------------------------
def _repo(state: ServiceState) -> Repository:
    uri = state.config.snapshot_repo
    if not uri:
        raise ConfigError("no snapshot repository configured: set snapshot_repo (a directory or "
                          "s3://bucket/prefix) in the config or HERON_SNAPSHOT_REPO")
    return open_repository(uri)


@router.post("/v1/snapshots", status_code=201, summary="Snapshot an index")
async def create(request: Request, _: AdminScope, state: State) -> Response:
    body = await _body(request, "index")
    h = state.registry.get(body["index"])
    if h.path is None:
        raise ApiError(400, f"index {h.name!r} is in memory; only on-disk indexes can be snapshotted")
    repo = _repo(state)
    path = h.path

    def run() -> dict[str, Any]:
        h.commit()  # snapshot what was acknowledged so far
        return create_snapshot(path, repo, body.get("snapshot")).to_dict()

    info = await run_blocking(run)
    return JsonResponse({"index": h.name, **info}, status_code=201)


@router.get("/v1/snapshots", summary="List snapshots")
async def list_all(_: AdminScope, state: State) -> Response:
    repo = _repo(state)
    out = await run_blocking(lambda: [s.to_dict() for s in list_snapshots(repo)])
    return JsonResponse({"repository": repo.describe(), "snapshots": out})


@router.post("/v1/snapshots/{snapshot}/restore", status_code=201, summary="Restore a snapshot into a new index")
async def restore(snapshot: str, request: Request, _: AdminScope, state: State) -> Response:
    body = await _body(request, "index")
    name = check_index_name(body["index"])
    if state.registry.data_dir is None:
        raise ConfigError("restoring needs a data directory: set data_dir in the config")
    if name in state.registry.names():
        raise IndexExistsError(f"an index named {name!r} already exists")
    repo = _repo(state)
    target = Path(state.registry.data_dir) / name

    def run() -> dict[str, Any]:
        info = _restore(repo, snapshot, target)
        state.registry.add(name, Index.open(target), str(target), owned=True)
        return info.to_dict()

    return JsonResponse({"index": name, **await run_blocking(run)}, status_code=201)


@router.delete("/v1/snapshots/{snapshot}", summary="Delete a snapshot")
async def delete(snapshot: str, _: AdminScope, state: State) -> Response:
    repo = _repo(state)
    blobs = await run_blocking(lambda: delete_snapshot(repo, snapshot))
    return JsonResponse({"snapshot": snapshot, "deleted": True, "files_deleted": blobs})
