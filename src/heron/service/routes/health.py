"""``/healthz`` (the process is up), ``/readyz`` (indexes open, accepting work), ``/metrics``,
``/v1/info`` (version, search modes, index names: what the web UI needs to start).

These routes need no API key, so load balancers and Prometheus can reach them.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from heron import __version__
from heron.service.deps import State
from heron.service.errors import error_response
from heron.service.metrics import CONTENT_TYPE
from heron.service.responses import JsonResponse
from heron.service.schemas import SUPPORTED_MODES

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> Response:
    return JsonResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness")
async def readyz(state: State) -> Response:
    if not state.ready:
        return error_response(503, "not ready: starting or shutting down")
    return JsonResponse({"status": "ready", "indexes": state.registry.names()})


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
            responses={200: {"content": {CONTENT_TYPE.split(";")[0]: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/v1/info", summary="Server information")
async def info(state: State) -> Response:
    return JsonResponse({
        "name": "heron",
        "version": __version__,
        "modes": list(SUPPORTED_MODES),
        "indexes": state.registry.names(),
        "default_index": state.config.default_index or next(iter(state.registry.names()), None),
        "auth_required": not state.config.open_access,
        "uptime_s": time.time() - state.started_at,
        "workers": state.config.workers,
    })
