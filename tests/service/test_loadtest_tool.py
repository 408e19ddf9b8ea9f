"""Smoke test of ``benchmarks/loadtest.py`` against a live in-process server: every phase runs,
counts requests and errors, and writes its report (short runs; the real measurement is a
documented command, see the module docstring)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from heron.service import ServiceConfig, create_app

from .live import LiveServer, require_tool, serve
from .support import DOCS, SETTINGS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loadtest() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heron_loadtest", REPO / "benchmarks" / "loadtest.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["heron_loadtest"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import heron

    path = tmp_path_factory.mktemp("lt") / "idx"
    with heron.Index.create(path, SETTINGS) as idx, idx.writer() as w:
        for d in DOCS:
            w.add(d)
    return path


@pytest.fixture(scope="module")
def live(index_path: Path) -> Iterator[LiveServer]:
    cfg = ServiceConfig(warmup=False, access_log=False, indexes={"bench": str(index_path)},
                        rate_limit_rps=1e6, rate_limit_burst=1_000_000)
    with serve(create_app(cfg)) as s:
        yield s


def test_phases_and_report(loadtest: ModuleType, live: LiveServer, index_path: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("grey heron\nbird migration\ncat\n")
    out = tmp_path / "report"
    rc = loadtest.main(["--url", live.url, "--index-path", str(index_path), "--queries", str(queries),
                        "--duration", "0.5", "--warmup", "0.1", "--rate", "50", "--connections", "2",
                        "--repeat", "2", "--client-nice", "0",  # client and server share this process
                        "--out", str(out)])
    assert rc == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert [o["snippets"] for o in report["overhead"]] == ["snippets off", "snippets on"]
    for o in report["overhead"]:
        assert o["samples"] == 6 and o["http_p50_ms"] > 0 and o["library_p50_ms"] > 0
    runs = report["runs"]
    assert len(runs) == 4 and all(r["errors"] == 0 and r["requests"] > 0 for r in runs)
    opened = [r for r in runs if r["offered_rps"]]
    assert all(abs(r["requests"] - 25) <= 1 for r in opened)  # 50/s for 0.5 s, as scheduled
    for r in opened:  # each request is sent before it is answered: the lag is below the latency
        assert 0 <= r["client_lag_p99_ms"] <= r["p99_ms"] and r["client_lag_max_ms"] <= r["max_ms"]
    assert all(r["client_lag_p99_ms"] is None for r in runs if not r["offered_rps"])  # closed loop: none
    md = out.with_suffix(".md").read_text()
    assert "Server overhead" in md and "| open, snippets on |" in md
    assert f"Client processes' niceness: {os.getpriority(os.PRIO_PROCESS, 0)}" in md  # left as it was


def test_errors_are_counted(loadtest: ModuleType, live: LiveServer) -> None:
    bad = [loadtest.request_bytes("x", "/search", {"query": "heron", "max_results": 99}, None)]
    r = asyncio.run(loadtest.closed_loop(live.url, bad, 1, 0.3, 0.0, "bad"))
    assert r.requests > 0 and r.errors == r.requests and set(r.status_counts) == {"400"}


def test_wrk_closed_loop(loadtest: ModuleType, live: LiveServer) -> None:
    require_tool("wrk")
    r = loadtest.wrk_closed(live.url + "/search", [{"query": "heron", "index": "bench"}], 2, 1, "/search", "wrk")
    assert r.requests > 0 and r.errors == 0 and r.tool == "wrk" and r.p50_ms > 0


def _ingest_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """An index of ``DOCS``, three queries and the same documents as a BEIR corpus to write."""
    import heron

    index = tmp_path / "idx"
    with heron.Index.create(index, SETTINGS) as idx, idx.writer() as w:
        for d in DOCS:
            w.add(d)
    queries = tmp_path / "q.txt"
    queries.write_text("grey heron\nbird migration\ncat\n")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": d["id"], "title": d["title"], "text": d["text"]}) + "\n"
                              for d in DOCS))
    return index, queries, corpus


def test_ingest_phase(loadtest: ModuleType, tmp_path: Path) -> None:
    """Searches idle, then under a concurrent writer process, on a throwaway copy of the index
    that the script serves and deletes: the original is not written to."""
    import heron

    index, queries, corpus = _ingest_inputs(tmp_path)
    out = tmp_path / "report"
    rc = loadtest.main(["--index-path", str(index), "--queries", str(queries), "--phase", "ingest",
                        "--snippets", "off", "--duration", "1", "--warmup", "0.2", "--rate", "50",
                        "--ingest-rate", "50", "--ingest-settle", "0.3", "--ingest-docs", str(corpus),
                        "--server-env", "HERON_WARMUP=false", "--out", str(out)])
    assert rc == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert [r["name"] for r in report["runs"]] == ["open, snippets off, idle", "open, snippets off, under ingest"]
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in report["runs"])
    [g] = report["ingest"]
    assert g["writes_acked"] > 0 and g["writes_in_window"] > 0 and g["write_errors"] == 0
    assert set(g["write_status_counts"]) == {"200"} and g["write_p99_ms"] > 0 and g["p99_ratio"] is not None
    assert 0 <= g["query_idle_client_lag_p99_ms"] <= g["query_idle_p99_ms"]
    assert 0 <= g["query_ingest_client_lag_p99_ms"] <= g["query_ingest_p99_ms"]
    assert "Query latency under concurrent ingest" in out.with_suffix(".md").read_text()
    # the served copy is gone and the original index was not written to
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl", "idx", "q.txt", "report.json", "report.md"]
    with heron.Index.open(index) as idx:
        assert idx.stats().doc_count == len(DOCS)


def test_ingest_phase_in_rounds(loadtest: ModuleType, tmp_path: Path) -> None:
    """``--ingest-rounds 2``: idle and ingest windows alternate twice; each state's latencies are
    pooled over the rounds (as many requests as one long window at the same rate), the writes of
    both rounds are counted, and each round's own p99 ratio is reported beside the pooled one."""
    index, queries, corpus = _ingest_inputs(tmp_path)
    out = tmp_path / "report"
    rc = loadtest.main(["--index-path", str(index), "--queries", str(queries), "--phase", "ingest",
                        "--snippets", "off", "--duration", "1.2", "--warmup", "0.2", "--rate", "50",
                        "--ingest-rate", "40", "--ingest-settle", "0.3", "--ingest-rounds", "2",
                        "--ingest-docs", str(corpus), "--server-env", "HERON_WARMUP=false", "--out", str(out)])
    assert rc == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert [r["name"] for r in report["runs"]] == ["open, snippets off, idle (2 rounds pooled)",
                                                  "open, snippets off, under ingest (2 rounds pooled)"]
    for r in report["runs"]:  # 50/s over two windows of 0.6 s each, as scheduled
        assert r["errors"] == 0 and abs(r["requests"] - 60) <= 2
    [g] = report["ingest"]
    assert g["rounds"] == 2 and g["window_s"] == pytest.approx(0.6)
    assert len(g["round_p99_ratios"]) == 2 and all(x is not None and x > 0 for x in g["round_p99_ratios"])
    assert g["write_errors"] == 0 and g["writes_in_window"] > 0 and g["write_p99_ms"] > 0
    # both rounds' windows counted: more writes answered in the windows than one 0.6 s window at
    # 40/s holds (two hold about 48)
    assert g["writes_in_window"] >= 1.5 * 0.6 * 40
    assert "2 rounds of 0.6 s idle" in out.with_suffix(".md").read_text()
