"""Documents: NDJSON bulk upsert with per-line errors, get/put/delete, refresh visibility, limits."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig


def ndjson(*docs: Any) -> bytes:
    return b"\n".join(d if isinstance(d, bytes) else orjson.dumps(d) for d in docs) + b"\n"


def hits(c: TestClient, q: str) -> list[str]:
    r = c.post("/search", json={"query": q})
    assert r.status_code == 200, r.text
    return [x["doc_id"] for x in r.json()["results"]]


def test_bulk_reports_bad_lines_and_keeps_good_ones(client: TestClient) -> None:
    body = ndjson(
        {"id": "n1", "title": "Kingfisher", "text": "The kingfisher dives for fish."},
        b"{not json",
        b"",
        {"title": "no id"},
        {"id": "n2", "text": "Another kingfisher story.", "date": "not-a-date"},
        {"id": "n3", "text": "Kingfisher number three."},
    )
    r = client.post("/v1/indexes/t/documents?refresh=true", content=body,
                    headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 2 and out["failed"] == 3 and out["refreshed"] is True
    assert [e["line"] for e in out["errors"]] == [2, 4, 5]
    assert "invalid JSON" in out["errors"][0]["message"]
    assert "id" in out["errors"][1]["message"]
    assert "line 5" in out["errors"][2]["message"] and "date" in out["errors"][2]["message"]
    assert sorted(hits(client, "kingfisher")) == ["n1", "n3"]


def test_bulk_writes_become_visible_after_the_background_refresh(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, refresh_interval_s=0.05))
    r = c.post("/v1/indexes/t/documents", content=ndjson({"id": "k", "text": "kingfisher"}))
    assert r.json()["accepted"] == 1
    deadline = time.monotonic() + 5
    while not hits(c, "kingfisher") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hits(c, "kingfisher") == ["k"]
    # near-real-time: searchable before the commit (commit_interval_s), so still pending
    assert c.get("/v1/indexes/t").json()["pending_writes"] == 1


def test_writes_wait_for_refresh_without_it(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, refresh_interval_s=3600))
    c.post("/v1/indexes/t/documents", content=ndjson({"id": "k", "text": "kingfisher"}))
    assert hits(c, "kingfisher") == []
    assert c.get("/v1/indexes/t").json()["pending_writes"] == 1
    assert c.post("/v1/indexes/t/refresh").status_code == 200
    assert hits(c, "kingfisher") == ["k"]


def test_streamed_chunked_body(client: TestClient) -> None:
    def gen() -> Iterator[bytes]:
        data = ndjson(*({"id": f"s{i}", "text": f"streamed kingfisher {i}"} for i in range(50)))
        for i in range(0, len(data), 7):  # lines split across chunks
            yield data[i:i + 7]

    r = client.post("/v1/indexes/t/documents?refresh=true", content=gen())
    assert r.json()["accepted"] == 50
    assert client.get("/v1/indexes/t").json()["doc_count"] == 55


def test_bulk_line_limit_writes_nothing(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, max_bulk_lines=3))
    r = c.post("/v1/indexes/t/documents?refresh=true",
               content=ndjson(*({"id": f"x{i}", "text": "overflow"} for i in range(4))))
    assert r.status_code == 413 and "max_bulk_lines" in r.json()["error"]["message"]
    c.post("/v1/indexes/t/refresh")
    assert hits(c, "overflow") == []


def test_bulk_body_limit_writes_nothing(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, max_bulk_bytes=200))
    docs = ndjson(*({"id": f"x{i}", "text": "overflow"} for i in range(20)))
    r = c.post("/v1/indexes/t/documents", content=docs)
    assert r.status_code == 413 and "max_bulk_bytes" in r.json()["error"]["message"]

    def chunked() -> Iterator[bytes]:  # no content-length: counted while streaming
        yield docs[:150]
        yield docs[150:]

    r = c.post("/v1/indexes/t/documents", content=chunked())
    assert r.status_code == 413
    c.post("/v1/indexes/t/refresh")
    assert hits(c, "overflow") == []


def test_get_put_delete(client: TestClient) -> None:
    assert client.get("/v1/indexes/t/documents/a").json()["title"] == "Grey heron"
    r = client.put("/v1/indexes/t/documents/new/doc?refresh=true",
                   json={"title": "Egret", "text": "The little egret", "url": "https://e.org/egret"})
    assert r.status_code == 200 and r.json()["id"] == "new/doc"
    got = client.get("/v1/indexes/t/documents/new/doc").json()
    assert got["title"] == "Egret" and got["url"] == "https://e.org/egret"
    client.put("/v1/indexes/t/documents/new/doc?refresh=true", json={"id": "new/doc", "text": "great egret"})
    assert client.get("/v1/indexes/t/documents/new/doc").json()["title"] == ""
    assert client.delete("/v1/indexes/t/documents/new/doc?refresh=true").status_code == 200
    assert client.get("/v1/indexes/t/documents/new/doc").status_code == 404
    assert client.delete("/v1/indexes/t/documents/new/doc").status_code == 404


def test_put_errors(client: TestClient) -> None:
    r = client.put("/v1/indexes/t/documents/a", json={"id": "b", "text": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "id"
    r = client.put("/v1/indexes/t/documents/a", json={"text": 5})
    assert r.status_code == 422 and "'text' must be a string" in r.json()["error"]["message"]
    r = client.put("/v1/indexes/t/documents/a", json={"metadata": {"year": "soon"}})
    assert r.status_code == 422 and "year" in r.json()["error"]["message"]
    r = client.put("/v1/indexes/t/documents/a", content=b"[1]")
    assert r.status_code == 400
    r = client.put("/v1/indexes/t/documents/a", content=b"{oops")
    assert r.status_code == 400
    client.post("/v1/indexes/t/refresh")
    assert client.get("/v1/indexes/t/documents/a").json()["title"] == "Grey heron"


def test_unknown_index_is_404(client: TestClient) -> None:
    assert client.post("/v1/indexes/zz/documents", content=ndjson({"id": "1"})).status_code == 404
    assert client.get("/v1/indexes/zz/documents/1").status_code == 404


def test_body_limit_applies_to_json_routes(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, max_body_bytes=100))
    r = c.put("/v1/indexes/t/documents/big", json={"text": "x" * 500})
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"
    r = c.post("/search", json={"query": "heron " * 50})
    assert r.status_code == 413
    assert c.get("/v1/indexes/t/documents/big").status_code == 404


def test_writes_survive_shutdown(tmp_path: Any) -> None:
    import heron
    from heron.service import create_app

    path = tmp_path / "idx"
    heron.Index.create(path)
    app = create_app(ServiceConfig(warmup=False, refresh_interval_s=3600, indexes={"disk": str(path)}))
    with TestClient(app) as c:
        assert c.post("/v1/indexes/disk/documents", content=ndjson({"id": "1", "text": "kept"})).status_code == 200
    assert heron.Index.open(path).get("1") is not None  # committed by the lifespan's shutdown



def _ids(client: TestClient, query: str = "heron bird cat graureiher island migrate") -> set[str]:
    return {r["doc_id"] for r in client.post("/search", json={"query": query, "index": "t"}).json()["results"]}


def test_delete_by_filter(client: TestClient) -> None:
    before = _ids(client)
    assert {"a", "b", "c", "d", "e"} <= before
    r = client.post("/v1/indexes/t/documents/delete?refresh=true", json={"search_domain_filter": ["wikipedia.org"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"index": "t", "matched": 2, "deleted": 2, "refreshed": True}
    assert _ids(client) == before - {"a", "e"}
    assert client.get("/v1/indexes/t/documents/a").status_code == 404
    # metadata + date filters together: birds published before 2021 (only b is left of the birds, from 2021)
    r = client.post("/v1/indexes/t/documents/delete?refresh=true",
                    json={"filters": {"topic": "birds"}, "search_before_date_filter": "1/1/2021"})
    assert r.json()["matched"] == 0
    r = client.post("/v1/indexes/t/documents/delete?refresh=true",
                    json={"filters": {"topic": ["birds", "places"]}, "search_after_date_filter": "1/1/2022"})
    assert (r.json()["matched"], r.json()["deleted"]) == (1, 1)
    assert _ids(client) == before - {"a", "e", "d"}


def test_delete_by_filter_sees_writes_not_yet_refreshed(client: TestClient) -> None:
    client.put("/v1/indexes/t/documents/n1", json={"text": "a heron note", "url": "https://notes.example.io/1"})
    client.put("/v1/indexes/t/documents/n2", json={"text": "a cat note", "url": "https://notes.example.io/2"})
    r = client.post("/v1/indexes/t/documents/delete", json={"search_domain_filter": ["notes.example.io"]})
    assert (r.json()["matched"], r.json()["deleted"], r.json()["refreshed"]) == (2, 2, False)
    client.post("/v1/indexes/t/refresh")
    assert client.get("/v1/indexes/t/documents/n1").status_code == 404
    assert client.get("/v1/indexes/t/documents/a").status_code == 200


@pytest.mark.parametrize(("body", "needle", "param"), [
    ({}, "no filter given", None),
    ({"search_domain_filter": []}, "no filter given", None),
    ({"search_domain_filer": ["wikipedia.org"]}, "search_domain_filer", "search_domain_filer"),  # misspelt
    ({"search_domain_filter": ["wikipedia.org"], "query": "heron"}, "query", "query"),  # not a filter
    ({"search_after_date_filter": "13/45/2020"}, "%m/%d/%Y", "search_after_date_filter"),
    ({"search_domain_filter": ["a.com", "-b.com"]}, "search_domain_filter", "search_domain_filter"),
    ({"filters": {"topic": {"near": 3}}}, "range", "filters"),
], ids=["empty", "empty-list", "misspelt-field", "extra-field", "bad-date", "allow-and-deny", "bad-range"])
def test_delete_by_filter_errors_delete_nothing(client: TestClient, body: dict[str, Any], needle: str,
                                                param: str | None) -> None:
    before = _ids(client)
    r = client.post("/v1/indexes/t/documents/delete?refresh=true", json=body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert needle in err["message"]
    if param is not None:
        assert err.get("param") == param
    assert _ids(client) == before
    assert client.post("/v1/indexes/nope/documents/delete", json={"search_language_filter": ["en"]}).status_code == 404
