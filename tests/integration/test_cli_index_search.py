"""Index the bundled demo corpus through the CLI and search it; evaluate on shared data."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import heron
from heron.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo" / "corpus.jsonl.gz"
DEMO_QUERY = "how do birds navigate during migration"


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "index"
    r = CliRunner().invoke(cli, ["index", str(path), "--input", str(DEMO)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert re.search(r"indexed [\d,]+ docs", r.stdout)
    assert r.stderr == ""  # the bundled corpus has no malformed line
    return path


def test_demo_corpus_is_small_and_well_formed() -> None:
    assert DEMO.stat().st_size <= 10 * 1024 * 1024
    with gzip.open(DEMO, "rt", encoding="utf-8") as f:
        docs = [json.loads(line) for line in f]
    assert 3000 <= len(docs) <= 5000
    assert len({d["id"] for d in docs}) == len(docs)
    for d in docs:
        assert set(d) == {"id", "title", "text", "url", "language"}
        assert d["language"] == "en" and d["text"] and d["title"]
        assert d["url"].startswith("https://en.wikipedia.org/wiki/")
        assert " " not in d["url"]
    assert not any("&quot;" in d["text"] or "<ref" in d["text"] for d in docs)


def test_demo_query_returns_relevant_passages(demo_index: Path) -> None:
    r = CliRunner().invoke(cli, ["search", str(demo_index), DEMO_QUERY, "--json", "-k", "10"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    hits = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(hits) == 10
    relevant = [h for h in hits[:5] if re.search(r"\bbird", h["text"], re.I) and re.search(r"migrat", h["text"], re.I)]
    assert len(relevant) >= 3, [h["title"] for h in hits]


def test_demo_readable_search_and_inspect(demo_index: Path) -> None:
    r = CliRunner().invoke(cli, ["search", str(demo_index), DEMO_QUERY, "-k", "3"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "  1. " in r.stdout and "https://en.wikipedia.org/wiki/" in r.stdout
    r = CliRunner().invoke(cli, ["inspect", str(demo_index), "--term", "migration"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "segments (1):" in r.stdout
    assert re.search(r"text\s+'migrat'\s+doc freq [1-9]", r.stdout)
    with heron.Index.open(demo_index) as idx:
        assert idx.stats().doc_count >= 3000


@pytest.mark.data
def test_eval_scifact_via_cli(shared_data: Path, tmp_path: Path) -> None:
    run_file = tmp_path / "scifact.run"
    r = CliRunner().invoke(
        cli, ["eval", "--dataset", str(shared_data / "beir" / "scifact"), "--run-out", str(run_file), "--json"],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["num_queries"] == 300
    assert res["mean"]["ndcg@10"] > 0.62  # BEIR's published BM25: 0.665 (flat) / 0.679 (multifield)
    assert res["mean"]["recall@100"] > 0.85
    lines = run_file.read_text().splitlines()
    assert len({x.split()[0] for x in lines}) == 300
    assert 299 * 100 < len(lines) <= 300 * 100  # a query matching fewer than 100 docs has a shorter list
