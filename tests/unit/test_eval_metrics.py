"""heron.eval: hand-computed metrics, agreement with pytrec_eval, TREC/BEIR file handling."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from heron.eval import (
    EvalDataError,
    bag_of_words,
    compare_runs,
    evaluate,
    evaluated_queries,
    load_beir,
    mrr_at_k,
    ndcg_at_k,
    plot_deltas,
    read_qrels,
    read_queries,
    read_run,
    recall_at_k,
    write_run,
)
from heron.eval.metrics import dcg, ranked
from heron.search.query import BoolQuery, TermQuery

L3 = math.log2(3)

# -- hand-computed examples -------------------------------------------------------------------------
RUN = {"d1": 3.0, "d2": 2.0, "d3": 1.0}
JUDGED = {"d1": 0, "d2": 2, "d3": 1, "d4": 3}


def test_ranked_breaks_ties_like_trec_eval() -> None:
    assert ranked({"a": 1.0, "b": 1.0, "c": 2.0}) == ["c", "b", "a"]


def test_dcg() -> None:
    assert dcg([3, 2, 1]) == pytest.approx(3 + 2 / L3 + 1 / 2)
    assert dcg([]) == 0.0


def test_ndcg_hand_computed() -> None:
    # ranks: d1 (grade 0), d2 (2), d3 (1); ideal: d4 (3), d2 (2), d3 (1)
    expected = (2 / L3 + 1 / 2) / (3 + 2 / L3 + 1 / 2)
    assert ndcg_at_k(RUN, JUDGED, 10) == pytest.approx(expected)
    assert ndcg_at_k(RUN, JUDGED, 10) == pytest.approx(0.37000, abs=1e-5)
    # cut at 2: DCG = 2/log2(3); ideal = 3 + 2/log2(3)
    assert ndcg_at_k(RUN, JUDGED, 2) == pytest.approx((2 / L3) / (3 + 2 / L3))
    assert ndcg_at_k(RUN, JUDGED, 1) == 0.0


def test_ndcg_perfect_and_degenerate() -> None:
    assert ndcg_at_k({"d4": 4.0, "d2": 3.0, "d3": 2.0}, JUDGED) == pytest.approx(1.0)
    assert ndcg_at_k({}, JUDGED) == 0.0
    assert ndcg_at_k(RUN, {"d1": 0}) == 0.0  # no relevant document: ideal DCG is 0
    assert ndcg_at_k({"x": 1.0}, {"x": -1, "y": 1}) == 0.0  # negative grades give no gain


def test_recall_hand_computed() -> None:
    assert recall_at_k(RUN, JUDGED, 100) == pytest.approx(2 / 3)  # d2, d3 of d2, d3, d4
    assert recall_at_k(RUN, JUDGED, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RUN, {"d1": 0}, 10) == 0.0


def test_mrr_hand_computed() -> None:
    assert mrr_at_k(RUN, JUDGED, 10) == pytest.approx(1 / 2)
    assert mrr_at_k({"x": 3.0, "y": 2.0, "d3": 1.0}, JUDGED, 10) == pytest.approx(1 / 3)
    deep = {f"n{i:02d}": 100.0 - i for i in range(10)} | {"d2": 1.0}
    assert mrr_at_k(deep, JUDGED, 10) == 0.0  # first relevant at rank 11
    assert mrr_at_k(deep, JUDGED, 11) == pytest.approx(1 / 11)


def test_bad_cutoff() -> None:
    with pytest.raises(ValueError, match="k must be >= 1"):
        ndcg_at_k(RUN, JUDGED, 0)


def test_evaluated_queries_need_a_positive_judgement() -> None:
    assert evaluated_queries({"q1": {"a": 1}, "q2": {"a": 0}, "q3": {"a": 0, "b": 2}}) == ["q1", "q3"]


def test_evaluate_counts_queries_without_results_as_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
    run = {"q1": {"a": 1.0}, "q2": {}}
    for backend in ("python", "pytrec_eval"):
        if backend == "pytrec_eval":
            pytest.importorskip("pytrec_eval")
        res = evaluate(run, qrels, backend=backend)
        assert res.num_queries == 2
        assert res.empty_queries == ("q2",)
        assert res.per_query["q2"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
        assert res.mean == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}


def test_bag_of_words_has_no_query_syntax() -> None:
    assert bag_of_words('-cats "birds') == BoolQuery(should=(TermQuery("-cats"), TermQuery('"birds')))


# -- agreement with pytrec_eval ---------------------------------------------------------------------
def _random_case(rng: random.Random) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(8):
        qid = f"q{q}"
        pool = [f"d{i}" for i in range(rng.choice([20, 150]))]
        qrels[qid] = {d: rng.choice([0, 0, 1, 1, 2, 3]) for d in rng.sample(pool, rng.randint(1, min(len(pool), 40)))}
        scores = [1.0, 2.0, 3.0]  # plenty of ties, to exercise tie-breaking
        run[qid] = {
            d: rng.choice(scores) if rng.random() < 0.5 else round(rng.uniform(0, 10), 3)
            for d in rng.sample(pool, rng.randint(1, len(pool)))
        }
    return qrels, run


@pytest.mark.parametrize("seed", range(25))
def test_own_metrics_equal_pytrec_eval_on_random_runs(seed: int) -> None:
    pytrec_eval = pytest.importorskip("pytrec_eval")
    qrels, run = _random_case(random.Random(seed))
    qids = evaluated_queries(qrels)
    ev = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10", "recall.100", "recip_rank"})
    ref = ev.evaluate({q: run[q] for q in qids})
    # MRR@10: trec_eval's recip_rank has no cut-off, so compare on runs truncated to their top 10
    top10 = {q: {d: run[q][d] for d in ranked(run[q])[:10]} for q in qids}
    ref10 = ev.evaluate(top10)
    for q in qids:
        assert ndcg_at_k(run[q], qrels[q], 10) == pytest.approx(ref[q]["ndcg_cut_10"], abs=1e-12)
        assert recall_at_k(run[q], qrels[q], 100) == pytest.approx(ref[q]["recall_100"], abs=1e-12)
        assert mrr_at_k(run[q], qrels[q], 10) == pytest.approx(ref10[q]["recip_rank"], abs=1e-12)
    a = evaluate(run, qrels, backend="pytrec_eval")
    b = evaluate(run, qrels, backend="python")
    assert a.per_query.keys() == b.per_query.keys()
    for q in a.per_query:
        for m, v in a.per_query[q].items():
            assert v == pytest.approx(b.per_query[q][m], abs=1e-12)


# -- files ------------------------------------------------------------------------------------------
def test_run_file_round_trip_evaluates_identically(tmp_path: Path) -> None:
    qrels, run = _random_case(random.Random(7))
    run = {q: {d: s + 1e-9 * i for i, (d, s) in enumerate(docs.items())} for q, docs in run.items()}
    path = tmp_path / "x.run"
    n = write_run(path, run, tag="mytag")
    assert n == sum(len(d) for d in run.values())
    first = path.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[3] == "1" and first[5] == "mytag"
    back = read_run(path)
    assert back == run
    assert evaluate(back, qrels, backend="python").mean == evaluate(run, qrels, backend="python").mean


def test_write_run_keeps_given_order_for_ties_and_checks_ids(tmp_path: Path) -> None:
    path = tmp_path / "r.run"
    write_run(path, {"q": {"b": 1.0, "a": 1.0, "c": 2.0}})
    assert [line.split()[2] for line in path.read_text().splitlines()] == ["c", "b", "a"]
    with pytest.raises(EvalDataError, match="whitespace"):
        write_run(path, {"q": {"has space": 1.0}})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("q1 Q0 a 1 2.0\n", ":1: expected 6 columns"),
        ("q1 Q0 a 1 2.0 t\nq1 Q0 b 2 x t\n", ":2: score 'x' is not a number"),
        ("q1 Q0 a 1 2.0 t\nq1 Q0 a 2 1.0 t\n", ":2: document 'a' listed twice"),
        ("q1 Q0 a 1 nan t\n", "not finite"),
    ],
)
def test_read_run_errors(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "bad.run"
    p.write_text(content)
    with pytest.raises(EvalDataError, match=message):
        read_run(p)


def test_read_qrels_beir_and_trec_formats(tmp_path: Path) -> None:
    beir = tmp_path / "test.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\n1\tdoc a\t2\n1\td2\t0\n2\td3\t1\n")
    assert read_qrels(beir) == {"1": {"doc a": 2, "d2": 0}, "2": {"d3": 1}}
    trec = tmp_path / "qrels.txt"
    trec.write_text("1 0 d1 1\n1 0 d2 -1\n")
    assert read_qrels(trec) == {"1": {"d1": 1, "d2": -1}}
    bad = tmp_path / "bad.tsv"
    bad.write_text("query-id\tcorpus-id\tscore\n1\td1\tvery\n")
    with pytest.raises(EvalDataError, match=r"bad.tsv:2: relevance 'very'"):
        read_qrels(bad)


def test_read_queries_and_load_beir(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    (ds / "qrels").mkdir(parents=True)
    (ds / "corpus.jsonl").write_text('{"_id": "d1", "title": "T", "text": "x"}\n\n{"_id": "d2", "text": "y"}\n')
    (ds / "queries.jsonl").write_text('{"_id": "1", "text": "what"}\n{"_id": 2, "text": "who"}\n')
    (ds / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n")
    (ds / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n2\td2\t1\n")
    d = load_beir(ds)
    assert d.name == "ds" and d.splits() == ["test", "train"]
    assert [x["_id"] for x in d.corpus()] == ["d1", "d2"]
    assert d.queries() == {"1": "what", "2": "who"}
    assert d.qrels("train") == {"2": {"d2": 1}}
    with pytest.raises(EvalDataError, match=r"no qrels for split 'dev'.*splits: test, train"):
        d.qrels("dev")
    (ds / "queries.jsonl").write_text('{"_id": "1"}\n')
    with pytest.raises(EvalDataError, match=r"queries\.jsonl:1: a query needs"):
        read_queries(ds / "queries.jsonl")
    with pytest.raises(EvalDataError, match="not a BEIR dataset: missing corpus"):
        load_beir(ds / "qrels")


# -- compare ----------------------------------------------------------------------------------------
def test_compare_runs_and_plot(tmp_path: Path) -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}, "q4": {"x": 0}}
    a = {"q1": {"a": 1.0}, "q2": {"z": 2.0, "b": 1.0}, "q3": {"z": 1.0}}
    b = {"q1": {"a": 1.0}, "q2": {"b": 1.0}, "q3": {"c": 1.0}}
    cmp = compare_runs(a, b, qrels, backend="python")
    assert [(d.qid, round(d.delta, 4)) for d in cmp.deltas] == [("q3", 1.0), ("q2", round(1 - 1 / L3, 4)), ("q1", 0.0)]
    assert (cmp.wins, cmp.losses, cmp.ties) == (2, 0, 1)
    assert cmp.mean_delta == pytest.approx((1.0 + 1 - 1 / L3) / 3)
    assert cmp.mean_b == pytest.approx(1.0)
    out = tmp_path / "deltas.png"
    plot_deltas(cmp, out, "a", "b")
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="unknown metric"):
        compare_runs(a, b, qrels, metric="map")
