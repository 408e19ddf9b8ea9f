"""Unit tests of the benchmark harness's pure pieces (benchmarks/): no peers, no shared data, fast.

Covers: percentile / latency summaries, median pass, query normalisation, seeded query samplers, the
replicated-corpus id scheme and manifest streaming, the timed-pass loop, relevance evaluation (built-in
fallback vs pytrec_eval), CLI list parsing, and markdown report rendering.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import worker  # noqa: E402

# ----------------------------------------------------------------------------- statistics


def test_percentile_matches_linear_interpolation() -> None:
    xs = [float(i) for i in range(1, 101)]
    assert harness.percentile(xs, 50) == pytest.approx(50.5)
    assert harness.percentile(xs, 95) == pytest.approx(95.05)
    assert harness.percentile(xs, 99) == pytest.approx(99.01)
    assert harness.percentile(xs, 0) == 1.0
    assert harness.percentile(xs, 100) == 100.0
    assert harness.percentile([7.0], 99) == 7.0
    assert math.isnan(harness.percentile([], 50))


def test_latency_summary_in_milliseconds_and_order_independent() -> None:
    lat_s = [0.004, 0.001, 0.003, 0.002, 0.010]
    s = harness.latency_summary(lat_s)
    assert s["n"] == 5
    assert s["p50_ms"] == pytest.approx(3.0)
    assert s["max_ms"] == pytest.approx(10.0)
    assert s["mean_ms"] == pytest.approx(4.0)
    assert s["p50_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert harness.latency_summary(list(reversed(lat_s))) == s
    empty = harness.latency_summary([])
    assert empty["n"] == 0 and math.isnan(empty["p99_ms"])


def test_median_pass_is_a_real_pass() -> None:
    passes = [{"wall_s": 3.0, "qps": 1.0}, {"wall_s": 1.0, "qps": 3.0}, {"wall_s": 2.0, "qps": 2.0}]
    assert harness.median_pass(passes) == {"wall_s": 2.0, "qps": 2.0}
    two = [{"wall_s": 1.0}, {"wall_s": 2.0}]
    assert harness.median_pass(two) in two
    assert harness.median_pass([]) == {}
    assert harness.median([3.0, 1.0, 2.0, 10.0]) == 2.5


# ----------------------------------------------------------------------------- queries


def test_query_normalisation() -> None:
    assert harness.normalize_query("What's the Role of p53-Mutations?") == "what s the role of p53 mutations"
    assert harness.query_tokens("snake_case  and\ttabs\n") == ["snake", "case", "and", "tabs"]
    assert harness.query_tokens("Café ÜBER naïve") == ["café", "über", "naïve"]
    assert harness.query_tokens("to be or not to be") == ["to", "be", "or", "not", "to", "be"]  # repeats kept
    assert harness.normalize_query("  --  !! ") == ""
    assert harness.normalize_query("AND OR NOT") == "and or not"  # no engine sees boolean operators


def test_first_words() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    assert harness.first_words(text, 12).split() == [f"w{i}" for i in range(12)]
    assert harness.first_words("short text", 12) == "short text"


def test_title_sampler_deterministic_distinct_and_order_free() -> None:
    titles = [f"Title {i % 500}" for i in range(2000)] + ["", "  ", "!!"]
    a = harness.sample_title_queries(titles, 100, seed=7)
    b = harness.sample_title_queries(list(reversed(titles)), 100, seed=7)
    c = harness.sample_title_queries(titles, 100, seed=8)
    assert a == b
    assert a != c
    assert len(a) == 100 and len(set(a)) == 100
    assert all(harness.query_tokens(t) for t in a)
    assert len(harness.sample_title_queries(titles, 10_000, seed=1)) == 500


def test_prefix_sampler_deterministic() -> None:
    texts = [" ".join(f"d{i}w{j}" for j in range(40)) for i in range(300)] + ["", "..."]
    a = harness.sample_prefix_queries(texts, 50, seed=3)
    assert a == harness.sample_prefix_queries(texts, 50, seed=3)
    assert a != harness.sample_prefix_queries(texts, 50, seed=4)
    assert len(a) == 50
    assert all(len(q.split()) == 12 for q in a)
    assert harness.sample_indices(10, 20, seed=1) == harness.sample_indices(10, 20, seed=1)
    assert sorted(harness.sample_indices(10, 20, seed=1)) == list(range(10))
    assert harness.sample_indices(0, 5, seed=1) == []


# ----------------------------------------------------------------------------- corpora


def test_replica_id_scheme() -> None:
    assert harness.replica_id("doc-1", 0) == "doc-1"
    assert harness.replica_id("doc-1", 1) == "doc-1#r1"
    assert harness.replica_id("doc-1", 12) == "doc-1#r12"
    assert harness.flat_text("Title", "body") == "Title body"
    assert harness.flat_text(None, "body") == " body"


def _write_gz(path: Path, docs: list[dict[str, Any]]) -> str:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    return str(path)


def test_manifest_streams_replicas_with_unique_ids(tmp_path: Path) -> None:
    a = _write_gz(tmp_path / "a.jsonl.gz", [{"_id": f"a{i}", "title": "T", "text": f"x{i}"} for i in range(3)])
    b = _write_gz(tmp_path / "b.jsonl.gz", [{"_id": f"b{i}", "title": None, "text": "y"} for i in range(2)])
    docs = list(harness.iter_manifest_docs({"sources": [a, b], "replicas": 3}))
    ids = [d[0] for d in docs]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert ids[:5] == ["a0", "a1", "a2", "b0", "b1"]
    assert ids[5:10] == ["a0#r1", "a1#r1", "a2#r1", "b0#r1", "b1#r1"]
    assert docs[3][1] == ""  # a null title streams as ""
    assert [d[2] for d in docs[:3]] == [d[2] for d in docs[5:8]]  # replicas repeat the texts
    limited = list(harness.iter_manifest_docs({"sources": [a, b], "replicas": 3, "limit": 7}))
    assert [d[0] for d in limited] == ids[:7]
    # a sample keeps exactly the documents in_sample picks, in stream order, whatever the limit counts
    sampled = [d[0] for d in harness.iter_manifest_docs({"sources": [a, b], "replicas": 3, "sample": 0.5})]
    assert sampled == [i for i in ids if harness.in_sample(i, 0.5)]
    assert 0 < len(sampled) < len(ids)
    assert all(harness.in_sample(i, 1.0) for i in ids) and not any(harness.in_sample(i, 0.0) for i in ids)
    assert [len(x) for x in harness.batched(range(25), 10)] == [10, 10, 5]


def test_a_sampled_corpus_streams_its_documents_from_a_file_written_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import corpora

    _write_gz(tmp_path / "a.jsonl.gz", [{"_id": f"a{i}", "title": f"T{i}", "text": f"x{i}"} for i in range(40)])
    monkeypatch.setattr(corpora, "SAMPLES", tmp_path / "samples")
    spec = corpora.CorpusSpec("s", "s", ("a.jsonl.gz",), replicas=2, sample=0.5)
    m = corpora.manifest(spec, tmp_path)
    assert m["replicas"] == 1 and m["sources"] == [str(tmp_path / "samples" / "s.jsonl.gz")]
    full = {"sources": [str(tmp_path / "a.jsonl.gz")], "replicas": 2, "sample": 0.5}
    assert list(harness.iter_manifest_docs(m)) == list(harness.iter_manifest_docs(full))

    def no_stream(_manifest: dict[str, Any]) -> None:
        raise AssertionError("the sample file was written again")

    with monkeypatch.context() as mp:  # kept: the corpus is not streamed again
        mp.setattr(harness, "iter_manifest_docs", no_stream)
        assert corpora.manifest(spec, tmp_path) == m
    other = corpora.CorpusSpec("s", "s", ("a.jsonl.gz",), replicas=2, sample=0.25)
    fewer = list(harness.iter_manifest_docs(corpora.manifest(other, tmp_path)))  # another sample: rewritten
    assert fewer == list(harness.iter_manifest_docs({**full, "sample": 0.25}))


def test_replicated_corpus_spec_is_labelled() -> None:
    import corpora

    spec = corpora.CORPORA["replicated-1m"]
    assert spec.replicated and spec.replicas >= 2 and spec.approx_docs >= 1_000_000
    assert "REPLICATED" in spec.label
    assert not any(s.replicated for n, s in corpora.CORPORA.items() if not n.startswith("replicated-1m"))
    sample = corpora.CORPORA["replicated-1m-sample"]
    assert sample.replicated and sample.sample is not None and 0 < sample.sample < 1
    assert corpora.SAMPLE_OF["replicated-1m-sample"] == "replicated-1m"
    assert (sample.sources, sample.replicas) == (spec.sources, spec.replicas)
    assert set(corpora.QUICK) == {"scifact", "cranfield"}


# ----------------------------------------------------------------------------- worker loop, relevance, CLI


def test_timed_pass_records_hits_and_counts() -> None:
    calls: list[tuple[str, int]] = []

    def search(q: str, k: int) -> list[tuple[str, float]]:
        calls.append((q, k))
        return [(f"{q}-{i}", 1.0 / (i + 1)) for i in range(k)]

    stats, lat, out = worker.timed_pass(search, ["a", "b", "c"], 2)
    assert calls == [("a", 2), ("b", 2), ("c", 2)]
    assert len(lat) == 3 and all(x >= 0 for x in lat)
    assert out[1] == [("b-0", 1.0), ("b-1", 0.5)]
    assert stats["qps"] > 0 and stats["wall_s"] >= sum(lat) * 0.5
    assert set(worker.ENGINES) >= {"heron", "tantivy", "tantivy-lean", "bm25s", "pyserini", "xapian", "fts5",
                                   "rank_bm25"}


def test_relevance_fallback_agrees_with_pytrec_eval() -> None:
    qrels = {"q1": {"d1": 2, "d2": 1, "d9": 0}, "q2": {"d5": 1}, "q3": {"d7": 1}}
    rn = {"q1": {"d2": 3.0, "d1": 2.0, "d3": 1.0}, "q2": {"d4": 2.0, "d5": 1.0}}  # q3: no results
    fb = run._evaluate_fallback(qrels, rn)
    assert fb["queries"] == 3
    assert 0 < fb["ndcg@10"] < 1
    assert fb["recall@100"] == pytest.approx(2 / 3)
    pytest.importorskip("pytrec_eval")
    ref, impl = run.evaluate(qrels, rn)
    assert "pytrec_eval" in impl
    assert ref["ndcg@10"] == pytest.approx(fb["ndcg@10"], abs=1e-6)
    assert ref["recall@100"] == pytest.approx(fb["recall@100"], abs=1e-6)


def test_parse_list_groups_and_errors() -> None:
    got = run.parse_list("heron,peers", run.ENGINE_SPECS, {"peers": run.PEERS})
    assert got[0] == "heron" and set(got[1:]) == set(run.PEERS)
    assert run.parse_list("bm25s,bm25s", run.ENGINE_SPECS, {}) == ["bm25s"]
    with pytest.raises(SystemExit):
        run.parse_list("lucene9000", run.ENGINE_SPECS, {})
    assert run.ENGINE_SPECS["rank_bm25"]["max_docs"] <= 20_000
    assert run.ENGINE_SPECS["rank_bm25"]["max_queries"] <= 100


# ----------------------------------------------------------------------------- report rendering


def test_markdown_table_and_number_formats() -> None:
    t = harness.markdown_table(["engine", "QPS"], [["a|b", 1], ["c", 2]])
    lines = t.splitlines()
    assert lines[0] == "| engine | QPS |"
    assert lines[1] == "|---|---:|"
    assert lines[2] == "| a\\|b | 1 |"
    with pytest.raises(ValueError):
        harness.markdown_table(["a", "b"], [[1]])
    assert harness.fmt_num(12345.6) == "12,346"
    assert harness.fmt_num(0.6789, 3) == "0.679"
    assert harness.fmt_num(None) == "-" and harness.fmt_num(float("nan")) == "-"
    assert harness.fmt_sig(0.012345) == "0.0123"
    assert harness.fmt_sig(1234.5) == "1,234"
    assert harness.ratio(1.0, 0.0) is None and harness.ratio(3.0, 2.0) == 1.5


def _result(engine: str, corpus: str, qps10: float, p99: float, ndcg: float | None = None,
            **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "engine": engine, "corpus": corpus, "ok": True, "index_bytes": 3 * 1024 * 1024, "index_note": "on disk",
        "build": {"docs": 1000, "wall_s": 1.0, "docs_per_s": 1000.0},
        "rss_mb": {"after_build": 90.0, "peak": 100.0},
        "search": {"10": {"qps": qps10, "cpu_ms_per_q": 1000 / qps10, "queries": 10, "queries_total": 10,
                          "latency": {"p50_ms": p99 / 2, "p95_ms": p99 * 0.9, "p99_ms": p99}},
                   "100": {"qps": qps10 / 2, "cpu_ms_per_q": 2000 / qps10,
                           "latency": {"p50_ms": p99, "p95_ms": p99, "p99_ms": p99 * 2}}},
    }
    if ndcg is not None:
        r["relevance"] = {"ndcg@10": ndcg, "recall@100": 0.9}
    r.update(extra)
    return r


def test_report_tables_ratios_and_missing_peers() -> None:
    res = {
        "meta": {"started": "now", "passes": 3, "warmup": 100},
        "engines": {"heron": {"label": "heron", "status": "ok", "version": "0.1"},
                    "tantivy-lean": {"label": "tantivy-lean", "status": "ok", "version": "0.27"},
                    "rank_bm25": {"label": "rank_bm25", "status": "ok", "version": "0.2.2"},
                    "pyserini": {"label": "Pyserini", "status": "not installed", "reason": "no Java 21"}},
        "corpora": {"scifact": {"label": "SciFact", "n_docs": 1000, "n_queries": 10, "judged": True},
                    "replicated-1m": {"label": "1M replicated", "n_docs": 2000, "n_queries": 10,
                                      "replicated": True, "notes": ["every text occurs twice"]}},
        "results": [
            _result("heron", "scifact", 2000.0, 1.0, 0.70),
            _result("tantivy-lean", "scifact", 1000.0, 2.0, 0.68),
            _result("rank_bm25", "scifact", 50000.0, 0.1, 0.60, capped="capped: 100 of 1000 docs"),
            _result("heron", "replicated-1m", 500.0, 4.0),
            {"engine": "tantivy-lean", "corpus": "replicated-1m", "ok": False, "error": "worker exited with -9"},
        ],
    }
    rows = report.corpus_rows(res["results"], "scifact")
    assert rows[0]["engine"] == "heron"
    # the capped engine never counts as the best peer, even when its numbers look best
    assert report.best_peer(rows, "qps10") == ("tantivy-lean", 1000.0)
    assert report.best_peer(rows, "p99") == ("tantivy-lean", 2.0)
    table = report.corpus_table(rows, res["engines"], judged=True)
    assert table.splitlines()[0].startswith("| engine | QPS@10 | QPS@100 | p50@10 ms | p95@10 ms | p99@10 ms")
    assert "nDCG@10" in table and "| **heron** | 2,000 | 1,000 |" in table
    assert "rank_bm25*" in table
    line = report.ratio_line(rows, res["engines"])
    assert line is not None and "QPS@10 **2.00x** (tantivy-lean)" in line and "p99@10 **0.50x**" in line
    md = report.render(res)
    assert "**Pyserini** was NOT measured: not installed: no Java 21" in md
    assert "failed on replicated-1m: worker exited with -9" in md
    assert "## 1M replicated — REPLICATED" in md
    assert "every text occurs twice" in md
    assert "0.700 / 0.900" in md  # relevance matrix
    summary = report.summary_table(res)
    assert summary is not None and "2.00x (tantivy-lean)" in summary


def test_report_cost_growth_pairs_a_sample_with_its_corpus() -> None:
    res = {
        "meta": {"started": "now"},
        "engines": {"heron": {"label": "heron", "status": "ok"}, "bm25s": {"label": "bm25s", "status": "ok"}},
        "corpora": {"replicated-1m-sample": {"label": "sample", "n_docs": 100, "sample_of": "replicated-1m"},
                    "replicated-1m": {"label": "1M", "n_docs": 1000}},
        "results": [
            _result("heron", "replicated-1m-sample", 1000.0, 2.0),   # p50@10 1.0 ms, p50@100 2.0 ms
            _result("heron", "replicated-1m", 1000.0, 10.0),         # p50@10 5.0 ms, p50@100 10.0 ms
            _result("bm25s", "replicated-1m-sample", 1000.0, 2.0),
            {"engine": "bm25s", "corpus": "replicated-1m", "ok": False, "error": "killed"},
        ],
    }
    table = report.cost_growth_table(res)
    assert table is not None
    lines = table.splitlines()
    assert len(lines) == 3  # header, rule, heron only: a failed run on either corpus gives no ratio
    assert lines[2].startswith("| heron | 1,000 / 100 |") and "**5.00x**" in lines[2]
    assert "## Cost growth (like for like)" in report.render(res)
    del res["corpora"]["replicated-1m"]
    assert report.cost_growth_table(res) is None


def test_interleaved_worker_past_its_timeout_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker of an interleaved run that does not report within the job timeout is killed (so it
    cannot run beside the other engines' passes) and its job ends as a timeout."""
    import argparse
    import time

    monkeypatch.setattr(run, "worker_cmd", lambda py, args: [sys.executable, "-c", "import time; time.sleep(60)"])
    j = run.Job("heron", "cranfield", {"env": "heron"}, {"ks": [10]}, tmp_path / "job.json", tmp_path / "res.json",
                tmp_path / "log.txt", tmp_path / "idx", 10, None, None)
    w = run._Live(j, sys.executable, argparse.Namespace(taskset=None))
    t0 = time.perf_counter()
    assert w.step(0.5, go=False) is False
    assert w.close(10) == "timeout"
    assert time.perf_counter() - t0 < 5  # killed, not waited out


def test_paired_ratio_compares_passes_of_the_same_rotation() -> None:
    """An interleaved run's paired ratio is the median of heron / peer over passes run in the
    same rotation: a machine that is fast for some rotations and slow for others cancels out,
    where the ratio of the two median passes need not."""
    h = {"passes10": [9000.0, 9000.0, 9000.0, 12000.0, 12000.0]}
    p = {"passes10": [4500.0, 4500.0, 8000.0, 8000.0, 8000.0]}  # the peer's fast rotations start earlier
    assert report.paired_ratio(h, p, 10) == 1.5  # ratios 2, 2, 1.125, 1.5, 1.5
    assert report.paired_ratio({"passes10": [1.0, 3.0]}, {"passes10": [1.0, 1.0]}, 10) == 2.0  # even count: mean of the middle two
    assert report.paired_ratio(h, {"passes10": [1.0]}, 10) is None  # unequal pass counts: not paired
    res = {"meta": {"interleave": True},
           "engines": {"heron": {"label": "heron", "status": "ok"}, "bm25s": {"label": "bm25s", "status": "ok"}},
           "corpora": {"scifact": {"label": "SciFact", "n_docs": 1000}},
           "results": [_result("heron", "scifact", 9000.0, 1.0), _result("bm25s", "scifact", 8000.0, 2.0)]}
    for r, passes in zip(res["results"], (h["passes10"], p["passes10"]), strict=True):
        r["search"]["10"]["passes"] = [{"qps": q} for q in passes]
        r["search"]["100"]["passes"] = [{"qps": q / 2} for q in passes]
    summary = report.summary_table(res)
    assert summary is not None and "QPS@10 paired" in summary.splitlines()[0]
    assert summary.splitlines()[2].endswith("| 1.50x | 1.50x | - |")  # one build each: no build pairing


def test_paired_build_ratio_compares_builds_of_the_same_round() -> None:
    """With several build rounds, the summary's *build paired* cell is the median over rounds of the
    fastest-building peer's build time / heron's in the same round."""
    h = {"build_rounds": [4.0, 6.0, 4.0]}
    p = {"build_rounds": [5.0, 6.6, 3.6]}  # ratios 1.25, 1.1, 0.9
    assert report.paired_build_ratio(h, p) == pytest.approx(1.1)
    assert report.paired_build_ratio({"build_rounds": [1.0]}, {"build_rounds": [2.0]}) is None  # one round
    assert report.paired_build_ratio(h, {"build_rounds": [1.0, 2.0]}) is None  # unequal counts
    res = {"meta": {"interleave": True, "build_rounds": 3},
           "engines": {"heron": {"label": "heron", "status": "ok"}, "tantivy-lean": {"label": "t", "status": "ok"}},
           "corpora": {"enwiki": {"label": "enwiki", "n_docs": 1000}},
           "results": [_result("heron", "enwiki", 9000.0, 1.0), _result("tantivy-lean", "enwiki", 8000.0, 2.0)]}
    for r, rounds in zip(res["results"], (h["build_rounds"], p["build_rounds"]), strict=True):
        r["build"] = {"docs": 1000, "wall_s": sorted(rounds)[1], "docs_per_s": 1000 / sorted(rounds)[1],
                      "rounds_wall_s": rounds}
    summary = report.summary_table(res)
    assert summary is not None and summary.splitlines()[0].endswith("| build paired |")
    assert summary.splitlines()[2].endswith("| 1.10x |")
    assert "each index built 3 times" in report.render(res)


class _FileEngine(worker.Engine):
    """A stand-in engine whose index is one file of the documents' ids."""

    name = "file-engine"

    def begin(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True)
        self.dir, self.ids = index_dir, []  # type: ignore[var-annotated]

    def add_batch(self, docs: list[tuple[str, str, str]]) -> None:
        self.ids += [d[0] for d in docs]

    def finish(self) -> None:
        (self.dir / "ids").write_text("\n".join(self.ids))


def test_build_rounds_in_forked_children_leave_nothing_behind(tmp_path: Path) -> None:
    """An extra build round runs in a forked child: it reports the child's timings, deletes its
    index, and leaves the adapter unbuilt for the kept build."""
    a = _write_gz(tmp_path / "a.jsonl.gz", [{"_id": f"a{i}", "title": "T", "text": f"x{i}"} for i in range(25)])
    manifest = {"sources": [a], "replicas": 2}
    eng = _FileEngine()
    rec = worker.build_in_child(eng, manifest, tmp_path / "idx.round")
    assert rec["docs"] == 50 and rec["wall_s"] > 0 and rec["cpu_s"] >= 0
    assert not (tmp_path / "idx.round").exists()
    assert not hasattr(eng, "ids")  # built in the child only
    kept = worker.build_index(eng, manifest, tmp_path / "idx")
    assert kept["docs"] == 50 and (tmp_path / "idx" / "ids").read_text().count("\n") == 49


def test_a_failing_build_round_is_an_error(tmp_path: Path) -> None:
    class Broken(_FileEngine):
        def finish(self) -> None:
            raise OSError("disk full")

    a = _write_gz(tmp_path / "a.jsonl.gz", [{"_id": "a", "title": "", "text": "x"}])
    with pytest.raises(RuntimeError, match="build round in a forked child failed"):
        worker.build_in_child(Broken(), {"sources": [a], "replicas": 1}, tmp_path / "idx.round")
