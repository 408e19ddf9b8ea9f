from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import heron
from heron.cli.main import cli

BASE = ("The grey heron is a long-legged predatory wading bird of the heron family, native throughout temperate "
        "Europe and Asia and also parts of Africa. It is resident in much of its range, but some populations "
        "from the more northern parts migrate southwards in autumn.")
OTHER = ("The domestic cat is a small carnivorous mammal. It is the only domesticated species of the family "
         "Felidae and is commonly kept as a house pet, valued by humans for companionship.")


def _write(p: Path, rows: list[dict[str, object]]) -> Path:
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_jsonl_dedup_within_run_and_against_index(tmp_path: Path) -> None:
    src = _write(tmp_path / "a.jsonl", [
        {"key": "1", "body": BASE, "link": "https://birds.example.co.uk/heron", "when": "2020-01-02"},
        {"key": "2", "body": BASE.replace("autumn", "the autumn") + " Updated.", "link": "https://m.example.org/h"},
        {"key": "3", "body": OTHER},
        {"key": "4", "body": BASE.upper()},  # exact duplicate after normalisation
        {"key": "5"},  # no text: still a valid (empty) document
    ])
    idx = tmp_path / "idx"
    rep = tmp_path / "r.json"
    args = ["--index", str(idx), "--field", "id=key", "--field", "text=body", "--field", "url=link",
            "--field", "date=when", "--report-json", str(rep)]
    res = CliRunner().invoke(cli, ["ingest", str(src), *args, "--no-progress"])
    assert res.exit_code == 0, res.output
    r = json.loads(rep.read_text())
    assert (r["written"], r["exact_duplicates"], r["near_duplicates"]) == (4, 1, 1)
    with heron.Index.open(idx) as index:
        d1, d2 = index.get("1"), index.get("2")
        assert d1 is not None and d2 is not None
        assert d1["date"] == "2020-01-02" and d1["metadata"]["registrable_domain"] == "example.co.uk"
        assert d2["metadata"]["near_dup_of"] == "1"
    # same texts under new ids (a new file: the first one is marked done for --resume), second run: duplicates of what the index already holds
    again = _write(tmp_path / "b.jsonl", [{"key": "9", "body": BASE}, {"key": "10", "body": OTHER + " More."}])
    res = CliRunner().invoke(cli, ["ingest", str(again), *args, "--no-progress"])
    assert res.exit_code == 0, res.output
    r = json.loads(rep.read_text())
    assert (r["written"], r["exact_duplicates"], r["near_duplicates"]) == (1, 1, 1)
    with heron.Index.open(idx) as index:
        d10 = index.get("10")
        assert index.get("9") is None and d10 is not None and d10["metadata"]["near_dup_of"] == "3"


def test_user_errors(tmp_path: Path) -> None:
    src = _write(tmp_path / "a.jsonl", [{"id": "1", "text": BASE}])
    not_index = tmp_path / "stuff"
    not_index.mkdir()
    (not_index / "file.txt").write_text("x")
    cases = [
        (["--index", str(not_index)], "is not a heron index"),
        (["--index", str(tmp_path / "i"), "--field", "bogus"], "TARGET=COLUMN"),
        (["--index", "http://127.0.0.1:9/web"], "/v1/indexes/"),
        (["--index", "http://127.0.0.1:9/v1/indexes/web"], "cannot reach"),
    ]
    for extra, message in cases:
        res = CliRunner().invoke(cli, ["ingest", str(src), *extra, "--no-progress"])
        assert res.exit_code == 2, res.output
        assert message in res.output
    res = CliRunner().invoke(cli, ["ingest", str(tmp_path / "missing.warc"), "--index", str(tmp_path / "j")])
    assert res.exit_code == 2


def test_bad_rows_are_counted_not_fatal(tmp_path: Path) -> None:
    src = _write(tmp_path / "a.jsonl", [{"id": "1", "text": BASE, "metadata": "not an object"},
                                        {"text": "no id at all"}, {"id": "3", "text": OTHER}])
    rep = tmp_path / "r.json"
    res = CliRunner().invoke(cli, ["ingest", str(src), "--index", str(tmp_path / "i"), "--no-progress",
                                   "--report-json", str(rep)])
    assert res.exit_code == 0, res.output
    r = json.loads(rep.read_text())
    assert r["written"] == 1 and r["skipped"] == {"bad-document": 2}
    assert "a.jsonl:1" in r["skip_examples"]["bad-document"] or "a.jsonl:2" in r["skip_examples"]["bad-document"]


def test_an_interrupted_run_marks_only_fully_committed_sources(tmp_path: Path) -> None:
    """Batches span source files; a source counts as done only once a commit holds all its documents."""
    from heron.config import IndexSettings
    from heron.ingest import IngestOptions, ResumeState, run_ingest

    files = [_write(tmp_path / f"s{i}.jsonl", [{"id": f"{i}-{j}", "text": f"document {j} of source {i} says {i * j}"}
                                               for j in range(3)]) for i in range(6)]

    class FailingSink:
        settings = IndexSettings()

        def __init__(self, fail_at: int) -> None:
            self.pending: list[str] = []
            self.committed: set[str] = set()
            self.commits = 0
            self.fail_at = fail_at

        def add(self, doc: heron.Document) -> None:
            self.pending.append(doc.id)

        def commit(self) -> None:
            self.commits += 1
            if self.commits == self.fail_at:
                raise OSError("disk full")
            self.committed.update(self.pending)
            self.pending = []

        def close(self) -> None:
            return None

    state_path = tmp_path / "state.json"
    sink = FailingSink(fail_at=3)
    options = IngestOptions(batch_records=4, commit_every_docs=4, commit_every_s=1e9)
    with pytest.raises(OSError, match="disk full"):
        run_ingest(files, sink, options, state=ResumeState(state_path))
    done = ResumeState(state_path).done
    assert 0 < len(done) < len(files)
    for f in files:
        if ResumeState(state_path).is_done(f):
            assert {f"{f.stem[1:]}-{j}" for j in range(3)} <= sink.committed
    again = FailingSink(fail_at=0)
    report = run_ingest(files, again, options, state=ResumeState(state_path))
    assert report.sources_skipped_done == len(done)
    assert sink.committed | again.committed == {f"{i}-{j}" for i in range(6) for j in range(3)}
