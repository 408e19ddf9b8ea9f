"""Fixtures of the durability tests: started service apps (closed after the test)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

import heron
from heron.service import ServiceConfig, create_app


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """``make_client(config, indexes)`` → a started TestClient."""
    opened: list[TestClient] = []

    def make(config: ServiceConfig, indexes: dict[str, heron.Index] | None = None, **kw: Any) -> TestClient:
        c = TestClient(create_app(config, indexes or {}), **kw)
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API server (moto's standalone server) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
