"""``heron eval --vectors MODEL --mode dense|hybrid``: the CLI path of hybrid retrieval."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

import heron
from heron.cli.main import cli
from heron.embed import register_embedder
from heron.embed.hashing import HashEmbedder

register_embedder("test-hash-cli", HashEmbedder())


def test_eval_modes(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    (ds / "qrels").mkdir(parents=True)
    docs = [{"_id": "a", "title": "Grey heron", "text": "A long-legged wading bird."},
            {"_id": "b", "title": "Cat", "text": "A small domesticated mammal."},
            {"_id": "c", "title": "Heron Island", "text": "A coral cay."}]
    with gzip.open(ds / "corpus.jsonl.gz", "wt") as f:
        f.write("\n".join(json.dumps(d) for d in docs))
    (ds / "queries.jsonl").write_text('{"_id": "q1", "text": "wading heron"}\n{"_id": "q2", "text": "cat"}\n')
    (ds / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t1\n")
    idx = tmp_path / "idx"
    runner = CliRunner()
    r = runner.invoke(cli, ["eval", str(idx), "--dataset", str(ds), "--vectors", "test-hash-cli", "--mode", "hybrid",
                            "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["num_queries"] == 2
    with heron.Index.open(idx) as i:
        assert i.settings.vectors is not None and i.settings.vectors.model == "test-hash-cli"
    for mode in ("dense", "lexical"):
        r = runner.invoke(cli, ["eval", str(idx), "--dataset", str(ds), "--mode", mode, "--json"])
        assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["eval", "--dataset", str(ds), "--mode", "dense"])
    assert r.exit_code != 0 and "no vectors" in r.output
