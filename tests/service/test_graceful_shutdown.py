"""Graceful shutdown: on SIGTERM the server stops accepting, finishes the requests in flight,
then the lifespan closes the indexes."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx
import pytest

from heron.service import ServiceConfig, create_app
from heron.service import fastpath as search_route

from .live import serve
from .support import build_index


def test_in_flight_search_finishes_on_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    real = search_route.run_queries
    started = threading.Event()

    def slow(*a: Any) -> Any:
        started.set()
        time.sleep(1.0)
        return real(*a)

    monkeypatch.setattr(search_route, "run_queries", slow)
    app = create_app(ServiceConfig(warmup=False, access_log=False, graceful_shutdown_s=10), {"t": build_index()})
    answers: list[httpx.Response] = []
    with serve(app) as live:
        t = threading.Thread(target=lambda: answers.append(
            httpx.post(live.url + "/search", json={"query": "heron"}, timeout=30)))
        t.start()
        assert started.wait(10)
        live.server.handle_exit(signal.SIGTERM, None)  # what uvicorn's signal handler does
        t.join(30)
        time.sleep(0.3)
        with pytest.raises(httpx.TransportError):  # no longer accepting
            httpx.get(live.url + "/healthz", timeout=2)
    assert len(answers) == 1 and answers[0].status_code == 200
    assert answers[0].json()["results"][0]["title"]
    assert app.state.heron.ready is False  # the lifespan ran its shutdown
