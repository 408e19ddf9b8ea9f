"""/healthz, /readyz, /metrics, and error answers for unknown routes and server bugs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig, create_app

from .support import build_index


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "indexes": ["t"]}


def test_not_ready_before_start_is_503() -> None:
    app = create_app(ServiceConfig(warmup=False), {"t": build_index()})
    c = TestClient(app)  # no context manager: the lifespan has not run
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["type"] == "not_ready"
    assert c.post("/search", json={"query": "heron"}).status_code == 503
    assert c.get("/healthz").status_code == 200


def test_metrics(client: TestClient) -> None:
    client.post("/search", json={"query": ["heron", "cat"]})
    client.post("/search", json={"query": 1})
    text = client.get("/metrics").text
    assert 'heron_http_requests_total{method="POST",route="/search",status="200"} 1.0' in text
    assert 'heron_http_requests_total{method="POST",route="/search",status="400"} 1.0' in text
    assert 'heron_http_request_duration_seconds_count{method="POST",route="/search"} 2.0' in text
    assert 'heron_search_stage_seconds_count{stage="search"} 1.0' in text
    assert 'heron_search_stage_seconds_count{stage="snippets"} 1.0' in text
    assert "heron_search_queries_total 2.0" in text
    assert 'heron_index_documents{index="t"} 5.0' in text
    assert 'heron_index_segments{index="t"} 1.0' in text
    assert 'heron_index_pending_writes{index="t"} 0.0' in text


def test_apps_have_separate_metrics(make_client: Callable[..., TestClient]) -> None:
    a, b = make_client(), make_client()
    a.post("/search", json={"query": "heron"})
    assert 'route="/search"' not in b.get("/metrics").text


def test_unknown_route_and_method(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = client.get("/search")
    assert r.status_code == 405 and r.json()["error"]["code"] == 405


def test_bug_is_500_without_traceback(make_client: Callable[..., TestClient],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from heron.service import fastpath as search_route

    def boom(*a: object, **k: object) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(search_route, "run_queries", boom)
    c = make_client(raise_server_exceptions=False)
    r = c.post("/search", json={"query": "heron"})
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert len(r.headers["x-request-id"]) == 32  # the id to find the logged traceback by
    assert 'heron_http_requests_total{method="POST",route="/search",status="500"} 1.0' in c.get("/metrics").text


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/search", "/v1/search", "/v1/indexes", "/v1/indexes/{name}/documents"} <= set(paths)
