"""``/healthz`` (the process is up), ``/readyz`` (indexes open, accepting work), ``/metrics``.

These routes need no API key, so load balancers and Prometheus can reach them.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from heron.service.deps import State
from heron.service.errors import error_response
from heron.service.metrics import CONTENT_TYPE
from heron.service.responses import JsonResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> Response:
    return JsonResponse({"status": "ok"})


@router.get("/readyz", summary="Readiness")
async def readyz(state: State) -> Response:
    if not state.ready:
        return error_response(503, "not ready: starting or shutting down")
    return JsonResponse({"status": "ready", "indexes": state.registry.names()})


@router.get("/metrics", summary="Prometheus metrics")
def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
