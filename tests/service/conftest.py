"""Service fixtures: apps over in-memory indexes, with and without API keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import heron
from heron.service import ServiceConfig, create_app

from .support import build_index


@pytest.fixture(scope="session", autouse=True)
def _warm_kernels() -> None:
    """Compile/load the kernels once per session; the apps below start with warmup=False."""
    from heron import kernels

    kernels.warmup()


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """``make_client(config=None, indexes=None)`` → a started TestClient (closed after the test)."""
    opened: list[TestClient] = []

    def make(config: ServiceConfig | None = None, indexes: dict[str, heron.Index] | None = None,
             **kw: Any) -> TestClient:
        app = create_app(config or ServiceConfig(warmup=False), {"t": build_index()} if indexes is None else indexes)
        c = TestClient(app, **kw)
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """An open (no keys) app over the ``DOCS`` index named ``t``."""
    return make_client()
