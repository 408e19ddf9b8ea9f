"""The lean search path (``heron.service.fastpath``) answers exactly like the library and like
the FastAPI route it bypasses: same JSON, same errors, same headers, logs and metrics."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from heron.errors import ConfigError
from heron.service import ServiceConfig, schemas
from heron.service import middleware as middleware_module
from heron.service.protocol import FLUSH_BYTES, CoalescingTransport
from heron.service.searching import StageTimer, run_queries

from .support import auth, build_index, keyed_config

REQUESTS: list[dict[str, Any]] = [
    {"query": "heron"},
    {"query": "heron", "max_results": 2, "offset": 1},
    {"query": ["heron", "cat", "migration"], "max_results": 3},
    {"query": "heron migrate", "max_tokens": 30, "max_tokens_per_page": 12},
    {"query": "heron", "snippets": False},
    {"query": "heron", "explain": True},
    {"query": "\"grey heron\" -island"},
    {"query": "heron", "search_domain_filter": ["wikipedia.org"], "search_language_filter": ["en"]},
    {"query": "birds", "filters": {"topic": "birds", "year": {"gte": 2019}}},
    {"query": "bird", "search_after_date_filter": "1/1/2020", "operator": "and"},
    {"query": "zzzz nothing matches"},
    {"query": "Graureiher Vogel ünïcödé 中文"},
]


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("id", "server_time")}


def _library_json(body: dict[str, Any], searcher: Any) -> dict[str, Any]:
    """What the library gives for ``body`` (searching.py + the schema's response), as JSON."""
    req = schemas.parse_search_request(json.dumps(body).encode())
    now = dt.datetime.now(dt.UTC)
    results = run_queries(searcher, req.queries, req.to_options(now), StageTimer())
    out: dict[str, Any] = orjson.loads(orjson.dumps(schemas.search_response(req, results, now)))
    return out


@pytest.mark.parametrize("path", ["/search", "/v1/search"])
def test_lean_path_answers_like_the_library(make_client: Callable[..., TestClient], path: str) -> None:
    idx = build_index()
    c = make_client(ServiceConfig(warmup=False), {"t": idx})
    for body in REQUESTS:
        r = c.post(path, json=body)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert int(r.headers["content-length"]) == len(r.content)
        got = r.json()
        assert isinstance(got["id"], str) and len(got["id"]) == 36
        assert _without_id(got) == _without_id(_library_json(body, idx.searcher())), body


#: how to switch a lean path off (a middleware-module attribute and the value that matches nothing)
_SEARCH_OFF = ("SEARCH_PATHS", frozenset())
_PUT_OFF = ("DOCUMENT_PATH", re.compile(r"(?!)"))


def _route_and_lean(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
                    config: ServiceConfig, send: Callable[[TestClient], Any],
                    off: tuple[str, Any] = _SEARCH_OFF) -> tuple[Any, Any]:
    """``send`` through the lean path, then through the FastAPI route (the lean path ``off``
    names switched off)."""
    lean = send(make_client(config))
    monkeypatch.setattr(middleware_module, *off)
    routed = send(make_client(config))
    monkeypatch.undo()
    return lean, routed


def _answer(r: Any) -> tuple[int, Any, dict[str, str]]:
    body = r.json()
    if "results" in body:
        body = _without_id(body)
    keep = ("content-type", "retry-after", "retry-after-ms", "x-should-retry", "www-authenticate")
    return r.status_code, body, {k: r.headers[k] for k in keep if k in r.headers}


@pytest.mark.parametrize("case", [
    lambda c: c.post("/search", json={"query": "heron", "max_results": 2}),
    lambda c: c.post("/search", content=b"{not json"),
    lambda c: c.post("/search", content=b""),
    lambda c: c.post("/search", json={"query": 5}),
    lambda c: c.post("/search", json={"query": "heron", "max_results": 99}),
    lambda c: c.post("/search", json={"query": "heron", "index": "nope"}),
    lambda c: c.post("/search", json={"query": "heron AND (cat"}),
    lambda c: c.post("/search", content=b"x" * 5000),  # over max_body_bytes (declared length)
    lambda c: c.post("/search", content=iter([b'{"query": "', b"x" * 5000, b'"}'])),  # chunked, over the limit
    lambda c: c.post("/v1/search", json={"query": ["a", "b", "c", "d", "e", "f"]}),
], ids=["ok", "bad-json", "empty", "wrong-type", "out-of-range", "unknown-index", "syntax", "too-large",
        "too-large-chunked", "too-many-queries"])
def test_lean_path_matches_the_route(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
                                     case: Callable[[TestClient], Any]) -> None:
    lean, routed = _route_and_lean(make_client, monkeypatch, ServiceConfig(warmup=False, max_body_bytes=1000),
                                   lambda c: _answer(case(c)))
    assert lean == routed


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, auth("write"), auth("search")],
                         ids=["no-key", "bad-key", "wrong-scope", "ok"])
def test_lean_path_auth_matches_the_route(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
                                          headers: dict[str, str]) -> None:
    lean, routed = _route_and_lean(make_client, monkeypatch, keyed_config(),
                                   lambda c: _answer(c.post("/search", json={"query": "heron"}, headers=headers)))
    assert lean == routed


def test_lean_path_rate_limit_matches_the_route(make_client: Callable[..., TestClient],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def burst(c: TestClient) -> list[tuple[int, Any, dict[str, str]]]:
        out = [_answer(c.post("/search", json={"query": "heron"}, headers=auth("search"))) for _ in range(3)]
        for status, body, headers in out:  # the wait in the message varies by microseconds
            if status == 429:
                body["error"]["message"] = body["error"]["message"].split("; retry after")[0]
                headers.pop("retry-after-ms")
        return out

    lean, routed = _route_and_lean(make_client, monkeypatch, keyed_config(rate_limit_rps=0.01, rate_limit_burst=2),
                                   burst)
    assert [s for s, _, _ in lean] == [200, 200, 429]
    assert lean == routed


def test_lean_path_logs_and_counts_like_other_routes(make_client: Callable[..., TestClient],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    c = make_client(keyed_config())
    with caplog.at_level(logging.INFO, logger="heron.access"):
        r = c.post("/v1/search", json={"query": ["heron", "cat"]}, headers={**auth("search"), "x-request-id": "lean-1"})
        c.post("/search", json={"query": "heron"}, headers=auth("write"))
    assert r.status_code == 200 and r.headers["x-request-id"] == "lean-1"
    lines = [json.loads(m) for m in caplog.messages]
    ok = next(x for x in lines if x["request_id"] == "lean-1")
    assert ok["route"] == "/v1/search" and ok["key"] == "search" and ok["index"] == "t" and ok["queries"] == 2
    assert ok["results"] == sum(len(rs) for rs in r.json()["results"]) and "query" not in ok
    denied = next(x for x in lines if x["status"] == 403)
    assert denied["route"] == "/search" and len(denied["request_id"]) == 32
    metrics = c.get("/metrics", headers=auth("admin")).text
    assert 'heron_http_requests_total{method="POST",route="/v1/search",status="200"} 1.0' in metrics
    assert 'heron_http_requests_total{method="POST",route="/search",status="403"} 1.0' in metrics
    assert 'heron_search_stage_seconds_count{stage="snippets"} 1.0' in metrics  # one request
    assert 'heron_search_queries_total 2.0' in metrics


def _put_and_read(c: TestClient, path: str, **kw: Any) -> tuple[tuple[int, Any, dict[str, str]], Any]:
    """The PUT's answer, then what the index holds for the path's id after a refresh."""
    answer = _answer(c.put(path, **kw))
    doc_id = path.rsplit("/documents/", 1)[-1]
    c.post("/v1/indexes/t/refresh")
    got = c.get(f"/v1/indexes/t/documents/{doc_id}")
    return answer, (got.status_code, got.json())


@pytest.mark.parametrize("case", [
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n1", json={"title": "New", "text": "a new heron"}),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/a/b c", json={"id": "a/b c", "text": "slashes and a space"}),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/a", json={"text": "replaced", "date": "2024-02-03"}),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n2", json={"id": "other", "text": "x"}),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n3", content=b"{not json"),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n4", json=["not", "an", "object"]),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n5", json={"text": "x", "date": "not a date"}),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n6", content=b"x" * 5000),
    lambda c: _put_and_read(c, "/v1/indexes/t/documents/n7", content=iter([b'{"text": "', b"x" * 5000, b'"}'])),
    lambda c: _answer(c.put("/v1/indexes/nope/documents/n8", json={"text": "x"})),
], ids=["new", "slashes", "replace", "id-mismatch", "bad-json", "not-object", "bad-date", "too-large",
        "too-large-chunked", "unknown-index"])
def test_lean_put_matches_the_route(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
                                    case: Callable[[TestClient], Any]) -> None:
    lean, routed = _route_and_lean(make_client, monkeypatch, ServiceConfig(warmup=False, max_body_bytes=1000),
                                   case, _PUT_OFF)
    assert lean == routed


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, auth("search"), auth("write")],
                         ids=["no-key", "bad-key", "wrong-scope", "ok"])
def test_lean_put_auth_matches_the_route(make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
                                         headers: dict[str, str]) -> None:
    lean, routed = _route_and_lean(
        make_client, monkeypatch, keyed_config(),
        lambda c: _answer(c.put("/v1/indexes/t/documents/k1", json={"text": "keyed"}, headers=headers)), _PUT_OFF)
    assert lean == routed


def test_lean_put_goes_to_the_indexer_process_from_the_event_loop(tmp_path: Any, caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """On an on-disk index the first PUT opens the indexer process (in a worker thread); later ones
    are sent to it from the event loop (``ProcessWriter.add_async``): acknowledged once logged,
    searchable after a refresh, counted and logged under the route's template."""
    import heron
    from heron.index.process_writer import ProcessWriter
    from heron.service import create_app, fastpath
    from heron.service.fastpath import DOCUMENT_ROUTE

    path = tmp_path / "idx"
    heron.Index.create(path)
    calls: list[str] = []
    real = ProcessWriter.add_async

    async def counted(self: ProcessWriter, doc: Any, source: str | None = None) -> None:
        calls.append(doc.id)
        await real(self, doc, source)

    monkeypatch.setattr(ProcessWriter, "add_async", counted)
    lean_puts: list[str] = []
    real_put = fastpath.LeanPut._put

    async def lean_put(self: Any, scope: Any, receive: Any) -> bytes:
        lean_puts.append(scope["path"])
        return await real_put(self, scope, receive)

    monkeypatch.setattr(fastpath.LeanPut, "_put", lean_put)
    app = create_app(ServiceConfig(warmup=False, refresh_interval_s=3600, indexes={"disk": str(path)}))
    with TestClient(app) as c, caplog.at_level(logging.INFO, logger="heron.access"):
        for i in range(6):
            r = c.put(f"/v1/indexes/disk/documents/d{i}", json={"text": f"lean write number{i}"})
            assert r.json() == {"index": "disk", "id": f"d{i}", "result": "upserted", "refreshed": False}
        handle = app.state.heron.registry.get("disk")
        assert isinstance(handle._writer, ProcessWriter) and handle._inflight == 0
        assert calls == [f"d{i}" for i in range(1, 6)]  # d0 opened the writer in a thread
        assert lean_puts == [f"/v1/indexes/disk/documents/d{i}" for i in range(6)]
        assert c.post("/v1/indexes/disk/refresh").status_code == 200
        hits = c.post("/search", json={"query": "number3", "index": "disk"}).json()["results"]
        assert [h["doc_id"] for h in hits] == ["d3"]
        metrics = c.get("/metrics").text
    routes = {json.loads(m)["route"] for m in caplog.messages if '"PUT"' in m}
    assert routes == {DOCUMENT_ROUTE}
    assert f'heron_http_requests_total{{method="PUT",route="{DOCUMENT_ROUTE}",status="200"}} 6.0' in metrics
    assert heron.Index.open(path).get("d5") is not None  # in the log, committed at shutdown


def test_short_searches_run_inline_long_ones_in_a_thread(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, inline_search_ms=5))
    state = c.app.state.heron  # type: ignore[attr-defined]
    assert state.run_inline()
    for _ in range(200):
        state.observe_search(0.050)
    assert not state.run_inline() and state.search_avg_s > 0.045
    assert c.post("/search", json={"query": "heron"}).status_code == 200  # in a thread
    for _ in range(200):
        state.observe_search(0.0002)
    assert state.run_inline()
    assert make_client(ServiceConfig(warmup=False, search_threads=False)).app.state.heron.run_inline()  # type: ignore[attr-defined]
    assert not make_client(ServiceConfig(warmup=False, inline_search_ms=0)).app.state.heron.run_inline()  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="inline_search_ms"):
        ServiceConfig(inline_search_ms=-1)


class _FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_coalescing_transport_writes_once_per_loop_turn() -> None:
    async def scenario() -> _FakeTransport:
        real = _FakeTransport()
        t = CoalescingTransport(real, asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"body")
        assert real.writes == []  # not yet: at the end of this loop turn
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        t.write(b"x" * FLUSH_BYTES)  # big: at once
        assert len(real.writes) == 2
        t.write(b"last")
        t.close()  # flushes first
        assert real.writes[-1] == b"last" and real.closed
        assert t.get_extra_info("peername") == "info:peername"
        return real

    asyncio.run(scenario())


class _ProtocolTransport(_FakeTransport):
    """What uvicorn's protocol asks of a transport, beyond the writes."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        pass


def test_a_complete_response_is_on_the_wire_before_the_app_returns() -> None:
    """The protocol flushes when the response completes: bytes reach the socket before the
    application's work after the response (metrics, access log) runs, not at the loop turn's end."""
    import uvicorn
    from uvicorn.server import ServerState

    from heron.service.protocol import CoalescingHttpToolsProtocol

    seen_after_response: list[list[bytes]] = []
    real = _ProtocolTransport()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        assert real.writes == []  # the head waits for the body (one write per response)
        await send({"type": "http.response.body", "body": b"ok"})
        seen_after_response.append(list(real.writes))

    async def scenario() -> None:
        config = uvicorn.Config(app, http=CoalescingHttpToolsProtocol, log_level="warning", access_log=False)
        config.load()
        proto = CoalescingHttpToolsProtocol(config, ServerState(), {}, asyncio.get_running_loop())
        proto.connection_made(real)
        proto.data_received(b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        for _ in range(10):
            await asyncio.sleep(0)
        proto.connection_lost(None)

    asyncio.run(scenario())
    assert len(seen_after_response) == 1
    (written,) = seen_after_response[0]  # head and body, in one write, already made
    assert written.startswith(b"HTTP/1.1 200 OK\r\n") and written.endswith(b"\r\n\r\nok")


def test_searches_enter_at_the_request_middleware_unless_traced() -> None:
    """Without tracing, ``POST /search`` skips the framework's layers (the lean entry); with
    OpenTelemetry on, every request goes through the tracing middleware (its server span)."""
    from opentelemetry.sdk.trace import TracerProvider

    from heron.service.app import create_app

    plain = create_app(ServiceConfig(warmup=False), {"t": build_index()})
    assert plain.lean_entry is not None
    scope = {"type": "http", "method": "POST", "path": "/search"}
    assert plain.lean_entry.lean_route(scope) is not None
    assert plain.lean_entry.lean_route({**scope, "path": "/search/"}) is None
    assert plain.lean_entry.lean_route({**scope, "method": "GET"}) is None
    traced = create_app(ServiceConfig(warmup=False), {"t": build_index()}, tracer_provider=TracerProvider())
    assert traced.lean_entry is None


def test_warm_start_freezes_the_start_up_heap() -> None:
    """With ``warmup`` (``heron serve``), the heap built at start-up is kept out of the garbage
    collector's full collections (``gc.freeze``), whose pauses would otherwise land in requests."""
    import gc

    from heron.service import create_app

    gc.unfreeze()
    try:
        app = create_app(ServiceConfig(warmup=True, access_log=False), {"t": build_index()})
        with TestClient(app) as c:
            assert gc.get_freeze_count() > 1000
            assert c.post("/search", json={"query": "heron"}).status_code == 200
    finally:
        gc.unfreeze()


def test_lean_put_when_the_indexer_process_dies(tmp_path: Any) -> None:
    """A PUT sent from the event loop to an indexer process that is killed gets an error answer
    (no hang); the next PUT opens a new indexer, which replays the log: nothing acknowledged is
    lost."""
    import os
    import signal
    import time

    import heron
    from heron.index.process_writer import ProcessWriter
    from heron.service import create_app

    path = tmp_path / "idx"
    heron.Index.create(path)
    app = create_app(ServiceConfig(warmup=False, refresh_interval_s=3600, indexes={"disk": str(path)}))
    with TestClient(app) as c:
        for i in range(3):
            assert c.put(f"/v1/indexes/disk/documents/a{i}", json={"text": "before the kill"}).status_code == 200
        handle = app.state.heron.registry.get("disk")
        w = handle._writer
        assert isinstance(w, ProcessWriter)
        os.kill(w._proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        statuses = []
        while time.monotonic() < deadline:  # until the death is noticed, writes fail with an answer
            r = c.put("/v1/indexes/disk/documents/b", json={"text": "after the kill"})
            statuses.append(r.status_code)
            if r.status_code == 200:
                break
            assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
            assert "indexer process" in r.json()["error"]["message"]
        assert statuses[-1] == 200 and handle._writer is not w  # a new indexer process took over
        assert c.post("/v1/indexes/disk/refresh").status_code == 200
        hits = {h["doc_id"] for h in c.post("/search", json={"query": "kill", "index": "disk",
                                                             "max_results": 10}).json()["results"]}
        assert hits == {"a0", "a1", "a2", "b"}
