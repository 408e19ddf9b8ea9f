"""The ``heron`` CLI end to end over small indexes in tmp_path (click's CliRunner)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import heron
from heron.cli import bench_cmd
from heron.cli.main import cli

DOCS: list[dict[str, Any]] = [
    {"id": "a", "title": "Grey heron", "text": "The grey heron is a long-legged wading bird of the heron family.",
     "url": "https://en.wikipedia.org/wiki/Grey_heron", "date": "2020-05-01", "language": "en"},
    {"id": "b", "title": "Bird migration", "text": "Many birds migrate south in winter, navigating by the stars.",
     "url": "https://birds.example.org/migration", "date": "2021-03-10", "language": "en"},
    {"id": "c", "title": "Domestic cat", "text": "The cat is a small domesticated carnivorous mammal.",
     "url": "https://cats.example.com/cat", "date": "2019-12-31", "language": "en"},
    {"id": "d", "title": "Heron Island", "text": "Heron Island is a coral cay in the Great Barrier Reef.",
     "url": "https://www.travel.example.net/au/heron-island", "date": "2022-07-04", "language": "en"},
    {"id": "e", "title": "Graureiher", "text": "Der Graureiher ist ein Vogel aus der Familie der Reiher. Größe: 90 cm.",
     "url": "https://de.wikipedia.org/wiki/Graureiher", "date": "2018-01-01", "language": "de"},
]


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_jsonl(path: Path, rows: Sequence[dict[str, Any] | str | bytes]) -> Path:
    """Write objects as JSON lines; ``str``/``bytes`` rows are written verbatim (malformed lines)."""
    out = bytearray()
    for r in rows:
        if isinstance(r, bytes):
            out += r
        elif isinstance(r, str):
            out += r.encode("utf-8")
        else:
            out += json.dumps(r, ensure_ascii=False).encode("utf-8")
        out += b"\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(bytes(out)))
    else:
        path.write_bytes(bytes(out))
    return path


def doc_count(path: Path) -> int:
    with heron.Index.open(path) as idx:
        return idx.stats().doc_count


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".heron-" in p.name)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "docs.jsonl", DOCS)


@pytest.fixture
def index(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "idx"
    r = run("index", path, "--input", corpus)
    assert r.exit_code == 0, r.output
    return path


# -- index --------------------------------------------------------------------------------------
def test_index_then_search_json(tmp_path: Path, corpus: Path) -> None:
    path = tmp_path / "idx"
    r = run("index", path, "--input", corpus)
    assert r.exit_code == 0, r.output
    assert "indexed 5 docs" in r.stdout
    assert "docs/s" in r.stdout
    assert "index: 5 docs, 1 segment" in r.stdout
    assert leftovers(tmp_path) == []

    r = run("search", path, "wading birds", "--json")
    assert r.exit_code == 0, r.output
    hits = [json.loads(line) for line in r.stdout.splitlines()]
    assert [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0]["id"] in {"a", "b"}
    assert {h["id"] for h in hits} >= {"a", "b"}
    assert all(h["score"] > 0 for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])
    first = next(h for h in hits if h["id"] == "a")
    assert first["title"] == "Grey heron"
    assert first["url"] == "https://en.wikipedia.org/wiki/Grey_heron"


def test_search_readable_output_and_paging(index: Path) -> None:
    r = run("search", index, "heron", "-k", "2")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].lstrip().startswith("1.")
    assert "Grey heron" in r.stdout or "Heron Island" in r.stdout
    assert "2 results in" in r.stdout
    full = [json.loads(x)["id"] for x in run("search", index, "heron", "--json").stdout.splitlines()]
    paged = [json.loads(x) for x in run("search", index, "heron", "--json", "-k", "1", "--offset", "1").stdout.splitlines()]
    assert [h["id"] for h in paged] == full[1:2]
    assert paged[0]["rank"] == 2


def test_search_query_from_several_words_and_and_operator(index: Path) -> None:
    r = run("search", index, "heron", "island", "--and", "--json")
    assert [json.loads(x)["id"] for x in r.stdout.splitlines()] == ["d"]


def test_search_explain(index: Path) -> None:
    r = run("search", index, "heron", "--explain", "-k", "1")
    assert r.exit_code == 0, r.output
    assert "sum of:" in r.stdout and "idf=" in r.stdout
    r = run("search", index, "heron", "--explain", "-k", "1", "--json")
    hit = json.loads(r.stdout.splitlines()[0])
    assert hit["explanation"]["score"] == pytest.approx(hit["score"])
    assert hit["explanation"]["contributions"][0]["term"] == "heron"


def test_search_filters(index: Path) -> None:
    def ids(*extra: str) -> set[str]:
        r = run("search", index, "heron bird cat reiher", "--json", *extra)
        assert r.exit_code == 0, r.output
        return {json.loads(x)["id"] for x in r.stdout.splitlines()}

    assert ids("--domain", "wikipedia.org") == {"a", "e"}
    assert ids("--domain=-example.com") == {"a", "b", "d", "e"}  # only cats.example.com is excluded
    assert ids("--domain", "-example.com", "--domain", "-wikipedia.org") == {"b", "d"}
    assert ids("--language", "de") == {"e"}
    assert ids("--after", "2020-01-01", "--before", "2021-12-31") == {"a", "b"}


def test_search_no_results(index: Path) -> None:
    r = run("search", index, "zeppelin")
    assert r.exit_code == 0
    assert "no results" in r.stdout


def test_search_parse_error_exit_2_with_position(index: Path) -> None:
    r = run("search", index, 'wading "birds')
    assert r.exit_code == 2
    assert "unterminated quote" in r.stderr
    assert "position 7" in r.stderr
    assert '  wading "birds\n         ^' in r.stderr
    assert "Traceback" not in r.output


def test_search_missing_index_is_a_clean_user_error(tmp_path: Path) -> None:
    r = run("search", tmp_path / "nope", "x")
    assert r.exit_code == 2
    assert "no heron index" in r.stderr
    assert "Traceback" not in r.output


def test_bad_filter_is_a_clean_user_error(index: Path) -> None:
    r = run("search", index, "heron", "--after", "yesterday")
    assert r.exit_code == 2
    assert "is not a date" in r.stderr


def test_malformed_lines_are_skipped_with_counts_and_locations(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "mixed.jsonl", [
        DOCS[0],
        "{not json",
        "[1, 2, 3]",
        {"id": "x", "title": "bad date", "date": "yesterday"},
        "",
        {"title": "no id"},
        DOCS[1],
    ])
    path = tmp_path / "idx"
    r = run("index", path, "--input", src)
    assert r.exit_code == 0, r.output
    assert "indexed 2 docs" in r.stdout
    assert f"skipped 4 malformed lines; first: {src}:2: invalid JSON" in r.stderr
    assert f"{src}:3: expected a JSON object, got a JSON array" in r.stderr
    assert f"{src}:4: date: 'yesterday' is not an ISO-8601 date" in r.stderr
    assert f"{src}:6: missing 'id'" in r.stderr  # line 5 is blank: skipped silently, still counted as a line
    assert doc_count(path) == 2


def test_non_utf8_line_is_reported_and_valid_utf8_kept(tmp_path: Path) -> None:
    good = json.dumps({"id": "u", "title": "Café crème", "text": "Größe und Bücher"}, ensure_ascii=False)
    src = write_jsonl(tmp_path / "enc.jsonl", [good, b'{"id": "v", "title": "caf\xe9"}', DOCS[2]])
    path = tmp_path / "idx"
    r = run("index", path, "--input", src)
    assert r.exit_code == 0, r.output
    assert f"{src}:2: not valid UTF-8 (byte 0xe9" in r.stderr
    assert "skipped 1 malformed line;" in r.stderr
    with heron.Index.open(path) as idx:
        assert idx.stats().doc_count == 2
        assert idx.get("v") is None
        assert [h.id for h in idx.search("bucher")] == ["u"]  # ascii folding of a multi-byte word


def test_on_error_fail_commits_nothing_for_a_new_index(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "bad.jsonl", [*DOCS, "{oops"])
    path = tmp_path / "idx"
    r = run("index", path, "--input", src, "--on-error", "fail", "--buffer-docs", "2")
    assert r.exit_code == 2
    assert f"{src}:6: invalid JSON" in r.stderr
    assert "nothing was committed" in r.stderr
    assert "Traceback" not in r.output
    with pytest.raises(heron.IndexNotFoundError):
        heron.Index.open(path)
    assert leftovers(tmp_path) == []


def test_on_error_fail_rolls_back_an_append(tmp_path: Path, index: Path) -> None:
    before = sorted(p.name for p in index.iterdir())
    src = write_jsonl(tmp_path / "more.jsonl", [
        {"id": "n1", "title": "New one", "text": "fresh"},
        {"id": "n2", "title": "New two", "text": "fresh"},
        {"id": "a", "title": "Replaced", "text": "replaced heron"},
        {"id": "bad", "date": "not a date"},
    ])
    r = run("index", index, "--input", src, "--append", "--on-error", "fail", "--buffer-docs", "1")
    assert r.exit_code == 2
    assert f"{src}:4: date: 'not a date'" in r.stderr
    with heron.Index.open(index) as idx:
        assert idx.stats().doc_count == 5
        assert idx.get("n1") is None and idx.get("n2") is None
        got = idx.get("a")
        assert got is not None and got["title"] == "Grey heron"
    assert sorted(p.name for p in index.iterdir()) == before  # flushed segments were removed


def test_on_error_fail_succeeds_on_clean_input(tmp_path: Path, corpus: Path) -> None:
    r = run("index", tmp_path / "idx", "--input", corpus, "--on-error", "fail")
    assert r.exit_code == 0, r.output
    assert doc_count(tmp_path / "idx") == 5


def test_buffer_mb_is_an_index_setting(tmp_path: Path, corpus: Path, index: Path) -> None:
    r = run("index", tmp_path / "budget", "--input", corpus, "--buffer-mb", "3")
    assert r.exit_code == 0, r.output
    with heron.Index.open(tmp_path / "budget") as idx:
        assert idx.settings.writer_buffer_mb == 3
    r = run("index", index, "--input", corpus, "--append", "--buffer-mb", "3")
    assert r.exit_code == 2
    assert "--buffer-mb is an index setting" in r.stderr and "--buffer-docs" in r.stderr
    assert doc_count(index) == 5


def test_existing_index_needs_overwrite(tmp_path: Path, index: Path) -> None:
    r = run("index", index, "--input", write_jsonl(tmp_path / "one.jsonl", DOCS[:1]))
    assert r.exit_code == 2
    assert "already exists" in r.stderr and "--overwrite" in r.stderr
    assert doc_count(index) == 5
    r = run("index", index, "--input", tmp_path / "one.jsonl", "--overwrite")
    assert r.exit_code == 0, r.output
    assert doc_count(index) == 1
    assert leftovers(tmp_path) == []


def test_overwrite_refuses_a_directory_that_is_not_an_index(tmp_path: Path, corpus: Path) -> None:
    d = tmp_path / "stuff"
    d.mkdir()
    (d / "keep.txt").write_text("precious")
    r = run("index", d, "--input", corpus, "--overwrite")
    assert r.exit_code == 2
    assert "not a heron index" in r.stderr
    assert (d / "keep.txt").read_text() == "precious"


def test_index_into_an_existing_empty_directory(tmp_path: Path, corpus: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    assert run("index", d, "--input", corpus).exit_code == 0
    assert doc_count(d) == 5


def test_append_adds_and_replaces(tmp_path: Path, index: Path) -> None:
    src = write_jsonl(tmp_path / "more.jsonl", [
        {"id": "f", "title": "Little egret", "text": "A small white heron."},
        {"id": "a", "title": "Grey heron (updated)", "text": "Ardea cinerea."},
    ])
    r = run("index", index, "--input", src, "--append")
    assert r.exit_code == 0, r.output
    with heron.Index.open(index) as idx:
        st = idx.stats()
        assert st.doc_count == 6 and st.segment_count == 1
        got = idx.get("a")
        assert got is not None and got["title"] == "Grey heron (updated)"


def test_append_rejects_settings_and_missing_index(tmp_path: Path, corpus: Path, index: Path) -> None:
    r = run("index", index, "--input", corpus, "--append", "--flat")
    assert r.exit_code == 2 and "--flat" in r.stderr
    r = run("index", tmp_path / "none", "--input", corpus, "--append")
    assert r.exit_code == 2 and "no heron index" in r.stderr


def test_gzip_and_beir_directory_input(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    write_jsonl(ds / "corpus.jsonl.gz", [{"_id": d["id"], "title": d["title"], "text": d["text"]} for d in DOCS])
    r = run("index", tmp_path / "i1", "--input", ds)
    assert r.exit_code == 0, r.output
    assert doc_count(tmp_path / "i1") == 5
    r = run("index", tmp_path / "i2", "--input", ds / "corpus.jsonl.gz", "--input", ds / "corpus.jsonl.gz")
    assert doc_count(tmp_path / "i2") == 5  # same ids twice: replaced
    (tmp_path / "nocorpus").mkdir()
    r = run("index", tmp_path / "i3", "--input", tmp_path / "nocorpus")
    assert r.exit_code == 2 and "without corpus.jsonl" in r.stderr


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    data = gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in DOCS * 50))
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) // 2])
    r = run("index", tmp_path / "idx", "--input", src)
    assert r.exit_code == 0, r.output
    assert "truncated gzip" in r.stderr
    r = run("index", tmp_path / "idx2", "--input", src, "--on-error", "fail")
    assert r.exit_code == 2 and "truncated gzip" in r.stderr


def test_settings_options(tmp_path: Path, corpus: Path) -> None:
    r = run("index", tmp_path / "flat", "--input", corpus, "--flat", "--k1", "0.9", "--b", "0.4",
            "--filter-field", "topic", "--filter-field", "year:numeric", "--analyzer", "english")
    assert r.exit_code == 0, r.output
    with heron.Index.open(tmp_path / "flat") as idx:
        s = idx.settings
        assert s.single_field and [f.name for f in s.text_fields] == ["text"]
        assert (s.bm25.k1, s.bm25.b) == (0.9, 0.4)
        assert [(f.name, f.type) for f in s.filter_fields] == [("topic", "keyword"), ("year", "numeric")]
    r = run("index", tmp_path / "tw", "--input", corpus, "--title-weight", "2.5", "--no-force-merge")
    assert r.exit_code == 0, r.output
    with heron.Index.open(tmp_path / "tw") as idx:
        assert idx.settings.text_field("title").weight == 2.5
        assert [f.name for f in idx.settings.text_fields] == ["title", "text"]
    r = run("index", tmp_path / "fd", "--input", corpus, "--fielded", "--analyzer", "simple")
    assert r.exit_code == 0, r.output
    with heron.Index.open(tmp_path / "fd") as idx:
        assert [(f.name, f.analyzer) for f in idx.settings.text_fields] == [("title", "simple"), ("text", "simple")]
        assert idx.settings.text_field("title").weight == heron.config.DEFAULT_TITLE_WEIGHT
    r = run("index", tmp_path / "df", "--input", corpus)
    with heron.Index.open(tmp_path / "df") as idx:
        assert idx.settings == heron.IndexSettings()  # no option: the library defaults


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flat", "--title-weight", "2"], "--title-weight"),
        (["--k1", "-1"], "k1"),
        (["--b", "2"], "b value"),
        (["--analyzer", "klingon"], "unknown analyzer preset"),
        (["--filter-field", "year:float"], "keyword, numeric or date"),
        (["--filter-field", "Bad-Name"], "invalid filter field name"),
    ],
)
def test_bad_settings_are_user_errors(tmp_path: Path, corpus: Path, args: list[str], message: str) -> None:
    r = run("index", tmp_path / "idx", "--input", corpus, *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output
    assert not (tmp_path / "idx").exists()
    assert leftovers(tmp_path) == []


def test_missing_input_file_is_a_usage_error(tmp_path: Path) -> None:
    r = run("index", tmp_path / "idx", "--input", tmp_path / "missing.jsonl")
    assert r.exit_code == 2
    assert "does not exist" in r.stderr


# -- inspect --------------------------------------------------------------------------------------
def test_inspect(tmp_path: Path, corpus: Path) -> None:
    index = tmp_path / "fielded"
    r = run("index", index, "--input", corpus, "--fielded", "--title-weight", "1", "--analyzer", "english",
            "--k1", "1.2", "--b", "0.75")
    assert r.exit_code == 0, r.output
    r = run("inspect", index, "--term", "Herons", "--term", "the")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "docs: 5 live, 0 deleted" in out
    assert "title+text, analyzer english, k1=1.2 b=0.75" in out
    assert "s0000" in out and "manifest.json" in out
    assert "avgdl" in out
    assert "term 'Herons':" in out
    assert "title      'heron'              doc freq 2" in out
    assert "text       'heron'              doc freq 2" in out
    assert "no index term" in out  # 'the' is a stopword
    j = json.loads(run("inspect", index, "--json", "--term", "heron").stdout)
    assert j["docs"] == 5 and len(j["segments"]) == 1
    assert j["fields"]["title"]["avgdl"] > 0
    assert j["terms"]["heron"][0] == {"field": "title", "terms": [{"term": "heron", "doc_freq": 2}]}
    assert j["files"]["manifest.json"] > 0


def test_inspect_missing_index(tmp_path: Path) -> None:
    r = run("inspect", tmp_path)
    assert r.exit_code == 2 and "no heron index" in r.stderr


# -- eval -----------------------------------------------------------------------------------------
@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    ds = tmp_path / "tinybeir"
    (ds / "qrels").mkdir(parents=True)
    write_jsonl(ds / "corpus.jsonl.gz", [{"_id": d["id"], "title": d["title"], "text": d["text"]} for d in DOCS])
    write_jsonl(ds / "queries.jsonl", [
        {"_id": "q1", "text": "wading heron"},
        {"_id": "q2", "text": "-cat mammal"},  # not query syntax in eval: '-cat' is a word
        {"_id": "q3", "text": "coral reef island"},
        {"_id": "q4", "text": "unjudged query"},
        {"_id": "q5", "text": "only negative judgements"},
    ])
    (ds / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\ta\t2\nq1\td\t1\nq2\tc\t1\nq3\td\t1\nq5\ta\t0\n"
    )
    return ds


def test_eval_in_memory(tmp_path: Path, beir_dir: Path) -> None:
    out = tmp_path / "bm25.run"
    r = run("eval", "--dataset", beir_dir, "--run-out", out)
    assert r.exit_code == 0, r.output
    assert "3 queries with positive judgements" in r.stdout
    for label in ("nDCG@10", "Recall@100", "MRR@10"):
        assert label in r.stdout
    lines = out.read_text().splitlines()
    assert lines[0].split()[:4] == ["q1", "Q0", "a", "1"]
    assert all(len(x.split()) == 6 and x.endswith(" heron") for x in lines)
    assert {x.split()[0] for x in lines} == {"q1", "q2", "q3"}
    j = json.loads(run("eval", "--dataset", beir_dir, "--json").stdout)
    assert j["num_queries"] == 3
    assert j["mean"]["recall@100"] == pytest.approx(1.0)
    assert j["mean"]["mrr@10"] == pytest.approx(1.0)


def test_eval_builds_then_reuses_an_index(tmp_path: Path, beir_dir: Path) -> None:
    path = tmp_path / "idx"
    r = run("eval", path, "--dataset", beir_dir, "--flat")
    assert r.exit_code == 0, r.output
    assert "built from corpus.jsonl.gz" in r.stdout
    with heron.Index.open(path) as idx:
        assert idx.settings.single_field
    r = run("eval", path, "--dataset", beir_dir)
    assert r.exit_code == 0 and "(existing)" in r.stdout
    r = run("eval", path, "--dataset", beir_dir, "--k1", "0.9")
    assert r.exit_code == 2 and "--rebuild" in r.stderr
    r = run("eval", path, "--dataset", beir_dir, "--k1", "0.9", "--fielded", "--rebuild")
    assert r.exit_code == 0, r.output
    with heron.Index.open(path) as idx:
        assert idx.settings.bm25.k1 == 0.9 and not idx.settings.single_field
    r = run("eval", path, "--dataset", beir_dir, "--rebuild")
    assert r.exit_code == 0, r.output
    with heron.Index.open(path) as idx:
        assert idx.settings.text_fields == heron.IndexSettings().text_fields  # library defaults


def test_eval_compare_and_plot(tmp_path: Path, beir_dir: Path) -> None:
    a, b = tmp_path / "a.run", tmp_path / "b.run"
    a.write_text("q1 Q0 c 1 3.0 x\nq1 Q0 a 2 2.0 x\nq2 Q0 c 1 1.0 x\nq3 Q0 d 1 1.0 x\n")
    b.write_text("q1 Q0 a 1 3.0 y\nq1 Q0 d 2 2.0 y\nq2 Q0 b 1 1.0 y\nq3 Q0 d 1 1.0 y\n")
    png = tmp_path / "d.png"
    r = run("eval", "--dataset", beir_dir, "--compare", a, b, "--plot", png)
    assert r.exit_code == 0, r.output
    assert "B wins 1, loses 1, ties 1" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    j = json.loads(run("eval", "--dataset", beir_dir, "--compare", a, b, "--json").stdout)
    assert [q["qid"] for q in j["per_query"]] == ["q1", "q3", "q2"]
    assert j["per_query"][-1]["delta"] == pytest.approx(-1.0)


def test_eval_user_errors(tmp_path: Path, beir_dir: Path) -> None:
    r = run("eval", "--dataset", beir_dir, "--split", "dev")
    assert r.exit_code == 2 and "no qrels for split 'dev'" in r.stderr
    r = run("eval", "--dataset", tmp_path)
    assert r.exit_code == 2 and "not a BEIR dataset" in r.stderr
    bad = tmp_path / "bad.run"
    bad.write_text("q1 Q0 a 1\n")
    r = run("eval", "--dataset", beir_dir, "--compare", bad, bad)
    assert r.exit_code == 2 and f"{bad}:1: expected 6 columns" in r.stderr
    r = run("eval", "--dataset", beir_dir, "--plot", tmp_path / "x.png")
    assert r.exit_code == 2 and "--compare" in r.stderr


# -- bench / misc ---------------------------------------------------------------------------------
def test_bench_without_harness_explains_make_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_cmd, "find_bench_script", lambda: None)
    r = run("bench")
    assert r.exit_code == 2
    assert "make bench" in r.stderr


def test_bench_passes_arguments_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "benchmarks" / "run.py"
    script.parent.mkdir()
    out = tmp_path / "args.json"
    script.write_text(f"import json, sys\njson.dump(sys.argv[1:], open({str(out)!r}, 'w'))\nsys.exit(3)\n")
    monkeypatch.setattr(bench_cmd, "find_bench_script", lambda: script)
    r = run("bench", "--quick", "-n", "5")
    assert r.exit_code == 3
    assert json.loads(out.read_text()) == ["--quick", "-n", "5"]


def test_version_and_help() -> None:
    assert heron.__version__ in run("--version").stdout
    r = run("--help")
    for cmd in ("index", "search", "eval", "inspect", "bench"):
        assert cmd in r.stdout


def test_parallel_index_equals_serial(tmp_path: Path) -> None:
    """--workers 2 builds segments in worker processes; the index answers exactly like a serial build."""
    import json as _json

    from click.testing import CliRunner as _Runner

    import heron as _heron
    from heron.cli.main import cli as _cli

    src = tmp_path / "docs.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i in range(600):
            f.write(_json.dumps({"id": f"d{i}", "title": f"title {i % 7}", "text": f"word{i % 13} common {i}"}) + "\n")
        f.write("{bad json\n")
    runner = _Runner()
    for name, extra in (("serial", []), ("parallel", ["--workers", "2"])):
        r = runner.invoke(_cli, ["index", str(tmp_path / name), "--input", str(src), "--no-progress", *extra])
        assert r.exit_code == 0, r.output
        assert "skipped 1 malformed line" in r.output
    a, b = _heron.Index.open(tmp_path / "serial"), _heron.Index.open(tmp_path / "parallel")
    assert a.stats().doc_count == b.stats().doc_count == 600
    for q in ["word3 common", "title 5", "common"]:
        assert [(h.id, h.score) for h in a.search(q, k=50)] == [(h.id, h.score) for h in b.search(q, k=50)]
