"""Indexes: create (settings JSON), list, stats, refresh, delete."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from heron.service import ServiceConfig


def test_create_write_search_delete(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    c = make_client(ServiceConfig(warmup=False, data_dir=str(tmp_path)))
    settings = {"text_fields": [{"name": "title", "weight": 2.0}, {"name": "text"}],
                "filter_fields": [{"name": "kind", "type": "keyword"}], "bm25": {"k1": 1.2, "b": 0.75}}
    r = c.post("/v1/indexes", json={"name": "news", "settings": settings})
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["text_fields"][0]["weight"] == 2.0
    assert (tmp_path / "news").is_dir()
    assert c.post("/v1/indexes", json={"name": "news"}).status_code == 409
    assert [i["name"] for i in c.get("/v1/indexes").json()["indexes"]] == ["t", "news"]
    c.post("/v1/indexes/news/documents?refresh=true",
           content=b'{"id": "1", "title": "Heron news", "text": "x", "metadata": {"kind": "a"}}\n')
    stats = c.get("/v1/indexes/news").json()
    assert stats["doc_count"] == 1 and stats["segment_count"] == 1 and "title" in stats["fields"]
    r = c.post("/search", json={"query": "heron", "index": "news", "filters": {"kind": "a"}})
    assert [x["doc_id"] for x in r.json()["results"]] == ["1"]
    r = c.delete("/v1/indexes/news")
    assert r.json() == {"name": "news", "deleted": True, "files_deleted": True}
    assert not (tmp_path / "news").exists()
    assert c.get("/v1/indexes/news").status_code == 404


def test_delete_configured_index_keeps_files(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    import heron

    heron.Index.create(tmp_path / "keep")
    c = make_client(ServiceConfig(warmup=False, indexes={"keep": str(tmp_path / "keep")}), indexes={})
    assert c.delete("/v1/indexes/keep").json()["files_deleted"] is False
    assert heron.Index.open(tmp_path / "keep").stats().doc_count == 0


def test_create_errors(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    c = make_client(ServiceConfig(warmup=False, data_dir=str(tmp_path)))
    r = c.post("/v1/indexes", json={"name": "x", "settings": {"bm25": {"k1": -1}}})
    assert r.status_code == 400 and "k1" in r.json()["error"]["message"]
    r = c.post("/v1/indexes", json={"name": "x", "settings": {"shards": 3}})
    assert r.status_code == 400 and "unknown key" in r.json()["error"]["message"]
    r = c.post("/v1/indexes", json={"name": "x", "settings": {"text_fields": [{"weight": 1}]}})
    assert r.status_code == 400 and "missing required key 'name'" in r.json()["error"]["message"]
    r = c.post("/v1/indexes", json={"name": "../etc"})
    assert r.status_code == 400 and "invalid index name" in r.json()["error"]["message"]
    r = c.post("/v1/indexes", json={"settings": {}})
    assert r.status_code == 400 and r.json()["error"]["param"] == "name"
    r = c.post("/v1/indexes", json={"name": "x", "unknown": 1})
    assert r.status_code == 400 and r.json()["error"]["param"] == "unknown"
    assert not any(tmp_path.iterdir())


def test_create_needs_data_dir(client: TestClient) -> None:
    r = client.post("/v1/indexes", json={"name": "x"})
    assert r.status_code == 400 and "data_dir" in r.json()["error"]["message"]


def test_refresh_returns_stats(client: TestClient) -> None:
    r = client.post("/v1/indexes/t/refresh")
    assert r.status_code == 200 and r.json()["doc_count"] == 5


def test_created_indexes_are_served_again_after_restart(make_client: Callable[..., TestClient],
                                                        tmp_path: Path) -> None:
    c = make_client(ServiceConfig(warmup=False, data_dir=str(tmp_path)))
    assert c.post("/v1/indexes", json={"name": "kept"}).status_code == 201
    c.put("/v1/indexes/kept/documents/1?refresh=true", json={"text": "persistent heron"})
    (tmp_path / "not-an-index").mkdir()
    c2 = make_client(ServiceConfig(warmup=False, data_dir=str(tmp_path)), indexes={})
    assert [i["name"] for i in c2.get("/v1/indexes").json()["indexes"]] == ["kept"]
    r = c2.post("/search", json={"query": "heron", "index": "kept"})
    assert [x["doc_id"] for x in r.json()["results"]] == ["1"]
