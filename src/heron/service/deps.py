"""FastAPI dependencies: the app state, readiness + auth + rate limit per scope, deadlines.

Routes declare ``principal: SearchScope`` (or ``WriteScope`` / ``AdminScope``); tests may
replace :func:`get_state` through ``app.dependency_overrides``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from heron.service.auth import Principal, authenticate
from heron.service.errors import ApiError
from heron.service.state import ServiceState

T = TypeVar("T")


async def get_state(request: Request) -> ServiceState:
    """The app's state. ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a worker
    thread, which costs a thread round trip on every request."""
    state: ServiceState = request.app.state.heron
    return state


State = Annotated[ServiceState, Depends(get_state)]


async def authorize(request: Request, state: ServiceState, scope: str) -> Principal:
    """503 unless ready, 401 without a valid key, 403 without ``scope``, 429 over rate; the caller."""
    client = request.scope.get("client")
    return check_access(state, request.headers.get("authorization"), client[0] if client else None, scope,
                        request.scope.setdefault("state", {}))


def check_access(state: ServiceState, authorization: str | None, client_host: str | None, scope: str,
                 log: dict[str, Any]) -> Principal:
    """:func:`authorize` on plain values (the lean search path has no ``Request``); records the
    principal's name as ``log["principal"]`` for the access log."""
    if not state.ready:
        raise ApiError(503, "the service is starting or shutting down; retry shortly")
    principal = authenticate(authorization, state.config.api_keys)
    if principal is None:
        raise ApiError(401, "missing or invalid API key: send 'Authorization: Bearer <key>'",
                       headers={"www-authenticate": "Bearer"})
    log["principal"] = principal.name
    if not principal.allows(scope):
        raise ApiError(403, f"this API key does not have the {scope!r} scope")
    bucket = principal.name if state.config.api_keys else f"ip:{client_host or '-'}"
    wait = state.limiter.acquire(bucket)
    if wait > 0:
        raise ApiError(
            429, f"rate limit exceeded ({state.config.rate_limit_rps:g} requests/s, burst "
                 f"{state.config.rate_limit_burst}); retry after {wait:.3f} s",
            headers={"retry-after": str(max(1, math.ceil(wait))), "retry-after-ms": str(math.ceil(wait * 1000))},
        )
    return principal


def require(scope: str) -> Callable[[Request, ServiceState], Awaitable[Principal]]:
    """A dependency running :func:`authorize` for ``scope``."""

    async def dependency(request: Request, state: State) -> Principal:
        return await authorize(request, state, scope)

    return dependency


SearchScope = Annotated[Principal, Depends(require("search"))]
WriteScope = Annotated[Principal, Depends(require("write"))]
AdminScope = Annotated[Principal, Depends(require("admin"))]


async def run_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    """Run blocking ``fn`` in a worker thread; 504 when it takes longer than ``timeout_s``.

    The thread is abandoned, not killed: it finishes in the background (read-only work);
    ``fn`` may also raise ``TimeoutError`` itself when it notices the deadline (searches
    check it between stages and stop early).
    """
    try:
        with anyio.fail_after(timeout_s):
            return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    except TimeoutError:
        raise timeout_error(timeout_s) from None


def timeout_error(timeout_s: float) -> ApiError:
    return ApiError(504, f"the request took longer than its {timeout_s:g} s deadline (the request's "
                         "'timeout' or the server's request_timeout_s); narrow the query or raise "
                         "the timeout")


async def run_search(fn: Callable[[], T], timeout_s: float, in_thread: bool) -> T:
    """Run a search: in a worker thread (:func:`run_with_deadline`), or inline in the event loop
    (no thread hand-off, see ``ServiceState.run_inline``; the deadline is then only checked
    between stages by ``fn`` itself)."""
    if in_thread:
        return await run_with_deadline(fn, timeout_s)
    try:
        return fn()
    except TimeoutError:
        raise timeout_error(timeout_s) from None


async def run_blocking(fn: Callable[[], T]) -> T:
    """Run blocking ``fn`` (a write) in a worker thread, to completion."""
    return await anyio.to_thread.run_sync(fn)
