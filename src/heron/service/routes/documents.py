"""Documents of one index: NDJSON bulk upsert, get / replace / delete by id, delete by filter.

A write is answered once it is in the index's write-ahead log (fsync'ed with the default
``request`` durability; a bulk body is one log record: all its valid lines or none). Writes
are visible to search (and to GET) after the next near-real-time refresh, at most about
``refresh_interval_s`` later, or before the answer with ``?refresh=true`` (which also commits). Over the writer's
budget a write gets 429 (buffer full) or 503 (merge backlog) with ``retry-after``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from heron.document import Document, make_document
from heron.errors import DocumentError
from heron.service import schemas
from heron.service.deps import SearchScope, State, WriteScope, run_blocking, run_with_deadline
from heron.service.errors import ApiError
from heron.service.registry import IndexHandle, LiveWriter
from heron.service.responses import JsonResponse

router = APIRouter(prefix="/v1/indexes/{name}/documents", tags=["documents"])

#: at most this many per-line errors are listed in a bulk answer (all are counted)
MAX_REPORTED_ERRORS = 1000
_NDJSON = {"requestBody": {"required": True, "content": {"application/x-ndjson": {
    "schema": {"type": "string", "description": "one JSON document per line"}}}}}
_FILTER_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": schemas.DeleteByFilterRequest.model_json_schema()}}}}


class _Batch:
    """Validated documents and per-line errors of one bulk body."""

    def __init__(self, handle: IndexHandle, max_lines: int) -> None:
        self.settings = handle.index.settings
        self.max_lines = max_lines
        self.docs: list[Document] = []
        self.errors: list[dict[str, Any]] = []
        self.failed = 0
        self.line = 0

    def add_line(self, raw: bytes) -> None:
        self.line += 1
        if not raw.strip():
            return
        if len(self.docs) + self.failed >= self.max_lines:
            raise ApiError(413, f"bulk request has more than {self.max_lines} documents (the server's "
                                "max_bulk_lines); split it into smaller batches — nothing was written")
        try:
            obj = orjson.loads(raw)
            self.docs.append(make_document(obj, self.settings, source=f"line {self.line}"))
        except orjson.JSONDecodeError as e:
            self._error(f"line {self.line}: invalid JSON: {e}")
        except DocumentError as e:
            self._error(str(e))

    def _error(self, message: str) -> None:
        self.failed += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": self.line, "message": message})


def _add_all(w: LiveWriter, docs: list[Document]) -> None:
    w.add_many(docs)


@router.post("", summary="Bulk upsert (NDJSON)", openapi_extra=_NDJSON)
async def bulk_upsert(name: str, request: Request, _: WriteScope, state: State, refresh: bool = False) -> Response:
    """Add or replace documents, one JSON object per line. Bad lines are reported by line
    number; the good ones are written. Nothing is written if the body breaks a limit."""
    handle = state.registry.get(name)
    batch = _Batch(handle, state.config.max_bulk_lines)
    rest = b""
    async for chunk in request.stream():
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            batch.add_line(line)
    if rest:
        batch.add_line(rest)
    if batch.docs:
        docs = batch.docs
        await run_blocking(lambda: handle.write(lambda w: _add_all(w, docs)))
    if refresh:
        await run_blocking(lambda: handle.refresh(commit=True))
    return JsonResponse({
        "index": name, "accepted": len(batch.docs), "failed": batch.failed, "errors": batch.errors,
        "refreshed": refresh,
    })


@router.post("/delete", summary="Delete the documents matching filters", openapi_extra=_FILTER_BODY)
async def delete_by_filter(
    name: str, request: Request, _: WriteScope, state: State, refresh: bool = False
) -> Response:
    """Delete every document that passes the filters (the filter fields of ``POST /search``:
    domains, published and last-updated dates, recency, languages, metadata ``filters``; at
    least one). Acknowledged writes are made searchable first, so the filter sees all of them;
    the matching documents are then deleted in one logged operation (like a search, on that
    point-in-time view: a document added or replaced by another request meanwhile may or may
    not be deleted). Answers how many matched and how many were deleted."""
    handle = state.registry.get(name)
    body: schemas.DeleteByFilterRequest = schemas.parse_model(
        schemas.DeleteByFilterRequest, await request.body(),
        'send a JSON object with at least one filter, e.g. {"search_domain_filter": ["example.com"]}')
    filters = body.to_filters(dt.datetime.now(dt.UTC))
    if filters is None:
        raise ApiError(400, "no filter given: send at least one filter field, e.g. "
                            "{\"search_domain_filter\": [\"example.com\"]} (to remove every document, delete the index)")

    def delete() -> tuple[int, int]:
        handle.refresh()  # every acknowledged write is searchable: the filter sees it
        ids = handle.index.searcher().matching_ids(filters)
        deleted = handle.write(lambda w: w.delete_many(ids)) if ids else 0
        return len(ids), deleted

    matched, deleted = await run_blocking(delete)
    if refresh:
        await run_blocking(lambda: handle.refresh(commit=True))
    return JsonResponse({"index": name, "matched": matched, "deleted": deleted, "refreshed": refresh})


@router.get("/{doc_id:path}", summary="Get a document")
async def get_document(name: str, doc_id: str, _: SearchScope, state: State) -> Response:
    handle = state.registry.get(name)
    doc = await run_with_deadline(lambda: handle.index.get(doc_id), state.config.request_timeout_s)
    if doc is None:
        raise ApiError(404, f"no document {doc_id!r} in index {name!r} (new writes appear after a refresh)")
    return JsonResponse(doc)


@router.put("/{doc_id:path}", summary="Add or replace a document")
async def put_document(
    name: str, doc_id: str, request: Request, _: WriteScope, state: State, refresh: bool = False
) -> Response:
    handle = state.registry.get(name)
    await handle.add_async(schemas.put_document_body(await request.body(), doc_id, handle.index.settings))
    if refresh:
        await run_blocking(lambda: handle.refresh(commit=True))
    return JsonResponse({"index": name, "id": doc_id, "result": "upserted", "refreshed": refresh})


@router.delete("/{doc_id:path}", summary="Delete a document")
async def delete_document(name: str, doc_id: str, _: WriteScope, state: State, refresh: bool = False) -> Response:
    handle = state.registry.get(name)
    found = await run_blocking(lambda: handle.write(lambda w: w.delete(doc_id)))
    if refresh:
        await run_blocking(lambda: handle.refresh(commit=True))
    if not found:
        raise ApiError(404, f"no document {doc_id!r} in index {name!r}")
    return JsonResponse({"index": name, "id": doc_id, "result": "deleted", "refreshed": refresh})
