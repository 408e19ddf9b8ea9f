"""The HTTP write path: an acknowledged write is in the log before the answer; back-pressure
answers 429 with retry-after; near-real-time visibility without a commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

import heron
from heron.index.manifest import Manifest
from heron.index.wal import read_log
from heron.service import ServiceConfig
from heron.storage.fs import FsDirectory


def logged_ops(p: Path) -> list[dict[str, object]]:
    committed = int(Manifest.read(FsDirectory(p)).user_data.get("wal_seq", 0))
    return [op for f in read_log(p) for r in f.records if r.seq > committed for op in r.ops]


def test_acknowledged_http_writes_are_in_the_log(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    p = tmp_path / "live"
    heron.Index.create(p)
    c = make_client(ServiceConfig(warmup=False, indexes={"live": str(p)}, refresh_interval_s=3600,
                                  commit_interval_s=3600), indexes={})
    body = b"\n".join(orjson.dumps({"id": f"b{i}", "text": f"bulk heron {i}"}) for i in range(3))
    assert c.post("/v1/indexes/live/documents", content=body).json()["accepted"] == 3
    assert c.put("/v1/indexes/live/documents/one", json={"text": "single egret"}).status_code == 200
    assert c.delete("/v1/indexes/live/documents/b1").status_code == 200
    ops = logged_ops(p)  # read from disk, as a process restarted after a crash would
    assert [o["op"] for o in ops] == ["add", "add", "add", "add", "delete"]
    assert ops[3]["doc"] == {"id": "one", "title": "", "text": "single egret"} and ops[4]["id"] == "b1"
    assert Manifest.read(FsDirectory(p)).doc_count == 0  # not committed yet


def test_near_real_time_over_http(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    p = tmp_path / "live"
    heron.Index.create(p)
    c = make_client(ServiceConfig(warmup=False, indexes={"live": str(p)}, refresh_interval_s=0.1,
                                  commit_interval_s=3600), indexes={})
    t0 = time.monotonic()
    c.put("/v1/indexes/live/documents/k", json={"text": "kingfisher"})
    while time.monotonic() - t0 < 5:
        r = c.post("/search", json={"query": "kingfisher", "index": "live"}).json()
        if r["results"]:
            break
        time.sleep(0.02)
    assert [x["doc_id"] for x in r["results"]] == ["k"]
    assert time.monotonic() - t0 < 1.0
    assert Manifest.read(FsDirectory(p)).doc_count == 0


def test_back_pressure_429_with_retry_after(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    p = tmp_path / "live"
    heron.Index.create(p)
    c = make_client(ServiceConfig(warmup=False, indexes={"live": str(p)}, refresh_interval_s=3600,
                                  commit_interval_s=3600, max_pending_docs=5), indexes={})
    body = b"\n".join(orjson.dumps({"id": f"b{i}", "text": "x"}) for i in range(5))
    assert c.post("/v1/indexes/live/documents", content=body).status_code == 200
    r = c.put("/v1/indexes/live/documents/more", json={"text": "one too many"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "budget" in r.json()["error"]["message"] and r.headers["x-should-retry"] == "true"
    assert c.post("/v1/indexes/live/refresh").status_code == 200  # commits: room again
    assert c.put("/v1/indexes/live/documents/more", json={"text": "fits now"}).status_code == 200


def test_merge_backlog_503_with_retry_after(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    p = tmp_path / "live"
    heron.Index.create(p)
    c = make_client(ServiceConfig(warmup=False, indexes={"live": str(p)}, refresh_interval_s=3600,
                                  commit_interval_s=3600, max_segments=2), indexes={})
    for i in range(3):  # each ?refresh=true commits one more small segment (no merge at this size)
        assert c.put(f"/v1/indexes/live/documents/d{i}?refresh=true", json={"text": "x"}).status_code == 200
    r = c.put("/v1/indexes/live/documents/more", json={"text": "over the backlog budget"})
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1 and "merge backlog" in r.text
