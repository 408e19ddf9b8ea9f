"""The web UI: a search page at ``/`` and a status page at ``/admin``.

Plain HTML/CSS/JS shipped as package data in ``heron/service/static`` (no build step, no
CDN: the Content-Security-Policy allows this origin only). The pages call the public API
(``/v1/info``, ``/v1/search``, ``/v1/indexes``, ``/metrics``, ``/healthz``, ``/readyz``);
with API keys configured the user pastes a key, kept in the browser tab's sessionStorage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def search_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=_HEADERS)


@router.get("/admin")
async def admin_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "admin.html", headers=_HEADERS)


def mount(app: FastAPI) -> None:
    """Add the pages and ``/static`` to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
