"""Request ids, JSON access logs, OpenTelemetry spans, search deadlines, /v1/info."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig, create_app
from heron.service import fastpath as search_route
from heron.service.searching import SearchOptions, StageTimer, run_queries

from .support import KEYS, auth, build_index, keyed_config

STAGES = {"heron.parse", "heron.bind", "heron.search", "heron.snippets", "heron.serialize"}


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "heron.access"]


# -- request ids and access logs ----------------------------------------------------------------


def test_request_id_generated_and_propagated(client: TestClient) -> None:
    r = client.post("/search", json={"query": "heron"})
    rid = r.headers["x-request-id"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert client.post("/search", json={"query": "heron"}).headers["x-request-id"] != rid
    r = client.post("/search", json={"query": "heron"}, headers={"x-request-id": "trace-abc_123"})
    assert r.headers["x-request-id"] == "trace-abc_123"
    # unsafe or oversized ids are replaced, never echoed
    for bad in ("a b", "x" * 129, "<script>"):
        got = client.get("/healthz", headers={"x-request-id": bad}).headers["x-request-id"]
        assert got != bad and len(got) == 32
    # errors carry it too
    assert client.post("/search", json={"query": 1}, headers={"x-request-id": "e1"}).headers["x-request-id"] == "e1"


def test_access_log_is_json_with_hash_not_query(make_client: Callable[..., TestClient],
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="heron.access")
    c = make_client(keyed_config())
    c.post("/search", json={"query": ["grey heron", "cat"], "index": "t"}, headers={**auth("search"),
                                                                                      "x-request-id": "r-1"})
    c.post("/search", json={"query": "heron"})  # 401
    lines = access_lines(caplog)
    ok = next(x for x in lines if x["request_id"] == "r-1")
    assert ok["method"] == "POST" and ok["path"] == "/search" and ok["route"] == "/search"
    assert ok["status"] == 200 and ok["latency_ms"] > 0 and ok["index"] == "t"
    assert ok["key"] == "search" and ok["queries"] == 2 and len(ok["query_hash"]) == 16
    assert ok["results"] >= 2 and "query" not in ok
    denied = next(x for x in lines if x["status"] == 401)
    assert denied["key"] is None
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "grey heron" not in text
    assert not any(k in text for k in KEYS.values())  # keys are never logged


def test_access_log_can_include_queries_or_be_off(make_client: Callable[..., TestClient],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="heron.access")
    make_client(ServiceConfig(warmup=False, log_queries=True)).post("/search", json={"query": "grey heron"})
    assert access_lines(caplog)[-1]["query"] == "grey heron"
    caplog.clear()
    make_client(ServiceConfig(warmup=False, access_log=False)).post("/search", json={"query": "grey heron"})
    assert access_lines(caplog) == []


# -- tracing ----------------------------------------------------------------------------------


@pytest.fixture
def traced() -> Iterator[tuple[TestClient, Any]]:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(ServiceConfig(warmup=False), {"t": build_index()}, tracer_provider=provider)
    with TestClient(app) as c:
        yield c, exporter
    provider.shutdown()


def test_spans_per_stage_under_the_request_span(traced: tuple[TestClient, Any]) -> None:
    from opentelemetry.trace import SpanKind

    c, exporter = traced
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    r = c.post("/search", json={"query": ["grey heron", "cat"]},
               headers={"x-request-id": "span-test", "traceparent": f"00-{trace_id}-b7ad6b7169203331-01"})
    assert r.status_code == 200
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(server) == 1 and server[0].name == "POST /search"
    root = server[0]
    assert format(root.context.trace_id, "032x") == trace_id  # continues the caller's trace
    assert root.attributes["heron.request.id"] == "span-test"
    stages = [s for s in spans if s.name.startswith("heron.")]
    assert {s.name for s in stages} == STAGES
    assert [s.name for s in stages].count("heron.search") == 2  # one per query
    for s in stages:
        assert s.parent is not None and s.parent.span_id == root.context.span_id, s.name
        assert s.context.trace_id == root.context.trace_id
    values = [str(v) for s in spans for v in (s.attributes or {}).values()]
    assert not any("grey heron" in v for v in values)  # the query text is not exported


def test_tracing_off_by_default() -> None:
    app = create_app(ServiceConfig(warmup=False), {"t": build_index()})
    assert app.state.heron.tracing.enabled is False
    assert not any("OpenTelemetry" in m.cls.__name__ for m in app.user_middleware)  # type: ignore[attr-defined]


def test_tracing_console_exporter_configurable() -> None:
    pytest.importorskip("opentelemetry.sdk")
    from heron.service.tracing import make_tracer_provider

    assert make_tracer_provider(ServiceConfig(tracing="off")) is None
    provider = make_tracer_provider(ServiceConfig(tracing="console"))
    assert type(provider).__name__ == "TracerProvider"
    provider.shutdown()
    provider = make_tracer_provider(ServiceConfig(tracing="otlp", otlp_endpoint="http://127.0.0.1:4318/v1/traces"))
    provider.shutdown()


# -- deadlines --------------------------------------------------------------------------------


def test_request_timeout_gives_504(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(ServiceConfig(warmup=False, inline_search_ms=0))  # always in a thread
    real = run_queries

    def slow(*a: Any) -> Any:
        time.sleep(0.5)
        return real(*a)

    monkeypatch.setattr(search_route, "run_queries", slow)
    r = client.post("/search", json={"query": "heron", "timeout": 0.05})
    assert r.status_code == 504
    err = r.json()["error"]
    assert err["type"] == "timeout_error" and "0.05 s deadline" in err["message"]
    assert r.headers["x-should-retry"] == "false"
    assert client.post("/search", json={"query": "heron", "timeout": 5}).status_code == 200


def test_server_timeout_caps_the_request(make_client: Callable[..., TestClient],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = run_queries
    monkeypatch.setattr(search_route, "run_queries", lambda *a: (time.sleep(0.5), real(*a))[1])
    c = make_client(ServiceConfig(warmup=False, request_timeout_s=0.05, inline_search_ms=0))
    assert c.post("/search", json={"query": "heron", "timeout": 60}).status_code == 504


@pytest.mark.parametrize("bad", [0, -1, "1", True, 10_000])
def test_bad_timeout_is_400(client: TestClient, bad: Any) -> None:
    r = client.post("/search", json={"query": "heron", "timeout": bad})
    assert r.status_code == 400 and r.json()["error"]["param"] == "timeout"


def test_search_stops_at_its_deadline() -> None:
    idx = build_index()
    timer = StageTimer(deadline=time.monotonic() - 1)
    with pytest.raises(TimeoutError, match="deadline"):
        run_queries(idx.searcher(), ["heron", "cat"], SearchOptions(), timer)
    assert timer.seconds == {}  # nothing ran


def test_snippets_off(client: TestClient) -> None:
    on = client.post("/search", json={"query": "heron"}).json()["results"]
    off = client.post("/search", json={"query": "heron", "snippets": False}).json()["results"]
    assert [r["doc_id"] for r in on] == [r["doc_id"] for r in off]
    assert all(r["snippet"] for r in on) and all(r["snippet"] == "" and r["highlights"] == [] for r in off)


def test_info(client: TestClient) -> None:
    info = client.get("/v1/info").json()
    assert info["name"] == "heron" and info["modes"][0] == "lexical" and info["indexes"] == ["t"]
    assert info["default_index"] == "t" and info["auth_required"] is False and info["uptime_s"] >= 0


def test_stage_metrics(client: TestClient) -> None:
    client.post("/search", json={"query": "heron"})
    text = client.get("/metrics").text
    for stage in ("parse", "bind", "search", "snippets", "serialize"):
        assert f'heron_search_stage_seconds_count{{stage="{stage}"}} 1.0' in text
    size = next(line for line in text.splitlines() if line.startswith('heron_index_size_bytes{index="t"}'))
    assert float(size.split()[-1]) > 0


def test_metric_labels_stay_bounded(client: TestClient) -> None:
    for method in ("FOO", "BAR", "PROPFIND"):
        client.request(method, "/search")
    text = client.get("/metrics").text
    assert "FOO" not in text and 'method="other"' in text


def test_inline_searches(make_client: Callable[..., TestClient]) -> None:
    """``search_threads = false``: same answers; the deadline is checked between stages."""
    threaded = make_client().post("/search", json={"query": ["heron", "cat"]}).json()["results"]
    c = make_client(ServiceConfig(warmup=False, search_threads=False))
    inline = c.post("/search", json={"query": ["heron", "cat"]}).json()["results"]
    assert [[r["doc_id"] for r in rs] for rs in inline] == [[r["doc_id"] for r in rs] for rs in threaded]
    r = c.post("/search", json={"query": "heron", "timeout": 1e-9})
    assert r.status_code == 504 and r.json()["error"]["type"] == "timeout_error"
