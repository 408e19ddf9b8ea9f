"""Aliases: search through an alias, swap it atomically under query load with 0 failed queries;
API and CLI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

import heron
from heron.cli.main import cli
from heron.service import ServiceConfig


def build(p: Path, word: str, n: int) -> None:
    idx = heron.Index.create(p)
    with idx.writer() as w:
        w.add_many([{"id": f"{word}{i}", "text": f"shared query words {word} {i}"} for i in range(n)])


def test_swap_under_query_load_fails_no_query(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    data = tmp_path / "data"
    build(data / "products-v1", "old", 30)
    build(data / "products-v2", "new", 40)
    c = make_client(ServiceConfig(warmup=False, data_dir=str(data), rate_limit_rps=1e6, rate_limit_burst=10**6))
    r = c.put("/v1/aliases/products", json={"index": "products-v1"})
    assert r.status_code == 200 and r.json()["previous"] is None
    v1 = {f"old{i}" for i in range(30)}
    v2 = {f"new{i}" for i in range(40)}
    stop = threading.Event()
    failures: list[str] = []
    seen = {"v1": 0, "v2": 0}

    def query() -> None:
        while not stop.is_set():
            r = c.post("/search", json={"query": "shared query words", "index": "products", "max_results": 20})
            if r.status_code != 200:
                failures.append(f"{r.status_code}: {r.text[:200]}")
                continue
            got = {x["doc_id"] for x in r.json()["results"]}
            if got and got <= v1:
                seen["v1"] += 1
            elif got and got <= v2:
                seen["v2"] += 1
            else:
                failures.append(f"mixed or empty result: {sorted(got)[:5]}")

    threads = [threading.Thread(target=query) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(40):
        target = "products-v2" if i % 2 == 0 else "products-v1"
        assert c.put("/v1/aliases/products", json={"index": target}).status_code == 200
        threading.Event().wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert seen["v1"] > 0 and seen["v2"] > 0
    assert c.get("/v1/aliases").json()["aliases"] == {"products": "products-v1"}
    # persisted: a restarted service resolves the alias
    c2 = make_client(ServiceConfig(warmup=False, data_dir=str(data)))
    got = {x["doc_id"] for x in c2.post("/search", json={"query": "shared", "index": "products"}).json()["results"]}
    assert got <= v1 and got
    assert c2.put("/v1/aliases/products-v1", json={"index": "products-v2"}).status_code == 409
    assert c2.put("/v1/aliases/x", json={"index": "nope"}).status_code == 404
    assert c2.delete("/v1/aliases/products").status_code == 200
    assert c2.post("/search", json={"query": "shared", "index": "products"}).status_code == 404


def test_alias_cli_and_pickup_by_a_running_service(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    data = tmp_path / "data"
    build(data / "a1", "old", 3)
    build(data / "a2", "new", 3)
    run = CliRunner().invoke
    r = run(cli, ["alias", "set", "live", "a1", "--data-dir", str(data)])
    assert r.exit_code == 0 and "live -> a1" in r.output
    c = make_client(ServiceConfig(warmup=False, data_dir=str(data), refresh_interval_s=0.05))
    assert c.get("/v1/aliases").json()["aliases"] == {"live": "a1"}
    r = run(cli, ["alias", "set", "live", "a2", "--data-dir", str(data)])
    assert r.exit_code == 0 and "(was a1)" in r.output
    deadline = threading.Event()
    for _ in range(100):
        if c.get("/v1/aliases").json()["aliases"] == {"live": "a2"}:
            break
        deadline.wait(0.05)
    assert c.get("/v1/aliases").json()["aliases"] == {"live": "a2"}
    assert run(cli, ["alias", "list", "--data-dir", str(data)]).output.strip() == "live -> a2"
    assert run(cli, ["alias", "set", "x", "missing", "--data-dir", str(data)]).exit_code == 2
    assert run(cli, ["alias", "remove", "live", "--data-dir", str(data)]).exit_code == 0
    assert run(cli, ["alias", "remove", "live", "--data-dir", str(data)]).exit_code == 2
