"""A real HTTP server on loopback, in this process: uvicorn in a background thread.

For tests that need real sockets (browser, Prometheus, schemathesis, concurrency) without
the start-up cost of a separate process; the SDK acceptance suite uses a real
``heron serve`` process instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    server: uvicorn.Server


@contextmanager
def serve(app: FastAPI) -> Iterator[LiveServer]:
    """Serve ``app`` on a free loopback port until the block ends (graceful shutdown)."""
    for _attempt in range(3):
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and thread.is_alive() and not server.started:
            time.sleep(0.02)
        if server.started:
            break
        server.should_exit = True
        thread.join(10)
    else:
        pytest.fail("could not start uvicorn on a free loopback port")
    url = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(url + "/readyz", timeout=10).status_code == 200
        yield LiveServer(url, app, server)
    finally:
        server.should_exit = True
        thread.join(30)


def require_tool(name: str, path: str | None = None) -> str:
    """The path of a system tool; skip without it, unless CI / HERON_REQUIRE_DATA demand it (then fail).

    ``scripts/install-test-deps.sh`` installs the tools (Debian packages); ``.ci/run`` calls it.
    """
    found = path if path is not None and os.path.exists(path) else shutil.which(name)
    if found:
        return found
    msg = f"{name} is not installed (run scripts/install-test-deps.sh)"
    if os.environ.get("CI") or os.environ.get("HERON_REQUIRE_DATA") == "1":
        pytest.fail(msg + "; CI / HERON_REQUIRE_DATA=1 require it")
    pytest.skip(msg)
