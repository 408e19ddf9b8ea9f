"""A real Prometheus server (Debian ``prometheus``) scrapes heron's /metrics on loopback,
and heron's own metrics are read back through Prometheus' HTTP query API."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from heron.service import ServiceConfig, create_app

from .live import free_port, require_tool, serve
from .support import build_index


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(prom + "/api/v1/query", params={"query": expr}, timeout=5)
    if r.status_code == 503:  # still starting (TSDB not open yet)
        return []
    r.raise_for_status()
    body = r.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_prometheus_scrapes_heron(tmp_path: Path) -> None:
    exe = require_tool("prometheus")
    app = create_app(ServiceConfig(warmup=False, access_log=False), {"t": build_index()})
    with serve(app) as live:
        for q in ("heron", "grey heron", "cat"):
            assert httpx.post(live.url + "/search", json={"query": q}).status_code == 200
        target = live.url.removeprefix("http://")
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: heron\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        port = free_port()
        log = tmp_path / "prometheus.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [exe, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=out, stderr=subprocess.STDOUT,
            )
        prom = f"http://127.0.0.1:{port}"
        try:
            docs: list[dict[str, Any]] = []
            searches: list[dict[str, Any]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (docs and searches):
                assert proc.poll() is None, f"prometheus exited:\n{log.read_text()}"
                try:
                    docs = _query(prom, 'heron_index_documents{index="t",job="heron"}')
                    searches = _query(prom, 'sum(heron_http_requests_total{route="/search",status="200"})')
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            assert docs, f"no heron metric in Prometheus after 60 s:\n{log.read_text()}"
            assert float(docs[0]["value"][1]) == 5.0
            assert searches and float(searches[0]["value"][1]) == 3.0
            up = _query(prom, 'up{job="heron"}')
            assert float(up[0]["value"][1]) == 1.0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
