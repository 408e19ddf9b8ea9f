"""Snapshot admin API (local repository) and ``heron snapshot`` CLI (S3 on moto's server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import boto3
import orjson
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import heron
from heron.cli.main import cli
from heron.service import ServiceConfig


def test_snapshot_api_round_trip(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    c = make_client(ServiceConfig(warmup=False, data_dir=str(data), snapshot_repo=str(tmp_path / "repo"),
                                  refresh_interval_s=3600, commit_interval_s=3600))
    assert c.post("/v1/indexes", json={"name": "docs"}).status_code == 201
    body = b"\n".join(orjson.dumps({"id": f"d{i}", "text": f"heron {i}"}) for i in range(20))
    assert c.post("/v1/indexes/docs/documents", content=body).status_code == 200
    r = c.post("/v1/snapshots", json={"index": "docs", "snapshot": "s1"})  # commits the acknowledged writes
    assert r.status_code == 201 and r.json()["doc_count"] == 20
    assert [s["name"] for s in c.get("/v1/snapshots").json()["snapshots"]] == ["s1"]
    r = c.post("/v1/snapshots/s1/restore", json={"index": "docs-restored"})
    assert r.status_code == 201
    got = c.post("/search", json={"query": "heron", "index": "docs-restored", "max_results": 20}).json()
    assert sorted(x["doc_id"] for x in got["results"]) == sorted(f"d{i}" for i in range(20))
    assert c.post("/v1/snapshots/s1/restore", json={"index": "docs-restored"}).status_code == 409
    assert c.post("/v1/snapshots/nope/restore", json={"index": "x"}).status_code == 404
    assert c.delete("/v1/snapshots/s1").status_code == 200
    assert c.get("/v1/snapshots").json()["snapshots"] == []
    c2 = make_client(ServiceConfig(warmup=False))
    r = c2.get("/v1/snapshots")
    assert r.status_code == 400 and "snapshot_repo" in r.json()["error"]["message"]


def test_snapshot_cli_against_s3(tmp_path: Path, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the endpoint comes from the AWS chain too
    boto3.client("s3").create_bucket(Bucket="cli-backups")
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        w.add_many([{"id": f"d{i}", "text": f"egret {i}"} for i in range(30)])
    run = CliRunner().invoke
    repo = ["--repo", "s3://cli-backups/heron"]
    r = run(cli, ["snapshot", "create", str(p), "--name", "n1", *repo])
    assert r.exit_code == 0 and "snapshot n1" in r.output and "30 docs" in r.output, r.output
    r = run(cli, ["snapshot", "create", str(p), "--name", "n2", *repo])
    assert r.exit_code == 0 and "uploaded 0 files" in r.output  # nothing changed: nothing uploaded
    r = run(cli, ["snapshot", "list", *repo])
    assert r.exit_code == 0 and "n1" in r.output and "n2" in r.output
    r = run(cli, ["snapshot", "restore", "n1", str(tmp_path / "back"), *repo])
    assert r.exit_code == 0 and "verified" in r.output
    assert heron.Index.open(tmp_path / "back").stats().doc_count == 30
    assert run(cli, ["snapshot", "delete", "n1", *repo]).exit_code == 0
    r = run(cli, ["snapshot", "restore", "n1", str(tmp_path / "again"), *repo])
    assert r.exit_code == 2 and "no snapshot 'n1'" in r.output
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="cli-backups")["Contents"]]
    assert all(k.startswith("heron/") for k in keys) and "heron/snapshots/n2.json" in keys
