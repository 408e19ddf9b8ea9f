"""``heron eval``: evaluate an index on a BEIR dataset, or compare two run files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
import orjson

from heron.api import Index
from heron.cli.index_cmd import MalformedInputError, create_index, fail_message, fill, make_progress
from heron.cli.options import (
    UserError,
    build_settings,
    describe_settings,
    given_settings_options,
    progress_option,
    settings_options,
)
from heron.eval.beir import BeirDataset, load_beir
from heron.eval.compare import compare_runs, plot_deltas
from heron.eval.runner import (
    METRIC_LABELS,
    EvalResult,
    evaluate,
    evaluated_queries,
    has_pytrec_eval,
    run_queries,
)
from heron.eval.trec import read_run, write_run
from heron.search.hybrid import HybridParams

LABELS = METRIC_LABELS


def _open_or_build(
    path: Path | None, ds: BeirDataset, rebuild: bool, progress: bool | None, settings_kw: dict[str, Any]
) -> tuple[Index, str]:
    """The index to evaluate, and how it was obtained (for the report)."""
    given = given_settings_options(settings_kw)
    if path is not None and (path / "manifest.json").is_file() and not rebuild:
        if given:
            raise UserError(
                f"{', '.join(given)} only apply when eval builds the index; {str(path)!r} already exists "
                "(add --rebuild to rebuild it with these settings)"
            )
        return Index.open(path), f"{path} (existing)"
    settings = build_settings(**settings_kw)
    try:
        if path is None:
            idx = Index.in_memory(settings)
            fill(idx, [ds.corpus_path], on_error="fail", progress=progress, force_merge=True)
            return idx, f"in memory, built from {ds.corpus_path.name}"
        create_index(path, settings, [ds.corpus_path], overwrite=rebuild, on_error="fail", progress=progress)
    except MalformedInputError as e:
        raise UserError(fail_message(e)) from None
    return Index.open(path), f"{path} (built from {ds.corpus_path.name})"


def _print_result(res: EvalResult, header: list[str]) -> None:
    for line in header:
        click.echo(line)
    width = max(len(v) for v in LABELS.values())
    for name, value in res.mean.items():
        click.echo(f"  {LABELS.get(name, name):<{width}}  {value:.4f}")


def _compare(ds: BeirDataset, split: str, runs: tuple[Path, Path], plot: Path | None, as_json: bool) -> None:
    qrels = ds.qrels(split)
    a, b = (read_run(p) for p in runs)
    cmp = compare_runs(a, b, qrels)
    la, lb = runs[0].name, runs[1].name
    if as_json:
        click.echo(orjson.dumps({
            "metric": cmp.metric, "a": str(runs[0]), "b": str(runs[1]), "mean_a": cmp.mean_a, "mean_b": cmp.mean_b,
            "mean_delta": cmp.mean_delta, "wins": cmp.wins, "losses": cmp.losses, "ties": cmp.ties,
            "per_query": [{"qid": d.qid, "a": d.a, "b": d.b, "delta": d.delta} for d in cmp.deltas],
        }).decode("utf-8"))
    else:
        label = LABELS.get(cmp.metric, cmp.metric)
        click.echo(f"{label} per query: A = {runs[0]}, B = {runs[1]} (delta = B - A)")
        click.echo(f"{'query':<16} {'A':>8} {'B':>8} {'delta':>8}")
        for d in cmp.deltas:
            click.echo(f"{d.qid:<16} {d.a:8.4f} {d.b:8.4f} {d.delta:+8.4f}")
        click.echo(
            f"{len(cmp.deltas)} queries: B wins {cmp.wins}, loses {cmp.losses}, ties {cmp.ties}; "
            f"mean {label} A {cmp.mean_a:.4f}, B {cmp.mean_b:.4f}, mean delta {cmp.mean_delta:+.4f}"
        )
    if plot is not None:
        plot_deltas(cmp, plot, la, lb)
        click.echo(f"plot written to {plot}", err=as_json)


@click.command("eval")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--dataset", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="BEIR dataset directory (corpus.jsonl[.gz], queries.jsonl[.gz], qrels/<split>.tsv).")
@click.option("--split", default="test", show_default=True, help="qrels split to evaluate.")
@click.option("--run-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the run as a TREC run file (qid Q0 docid rank score heron).")
@click.option("--k", "k", type=click.IntRange(min=1, max=10_000), default=100, show_default=True,
              help="Results retrieved per query.")
@click.option("--query-syntax", is_flag=True,
              help="Parse queries with heron's query syntax (default: plain bag of words).")
@click.option("--rebuild", is_flag=True, help="Rebuild the index at PATH from the dataset's corpus.")
@click.option("--compare", nargs=2, type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="RUN_A RUN_B", help="Compare two TREC run files per query (nDCG@10) instead of searching.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --compare: write a sorted per-query delta bar chart (PNG).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object.")
@click.option("--mode", type=click.Choice(["lexical", "dense", "hybrid"]), default="lexical", show_default=True,
              help="Retrieval mode (dense/hybrid need an index with vectors: build it with --vectors MODEL).")
@click.option("--fusion", type=click.Choice(["rrf", "weighted"]), default="rrf", show_default=True,
              help="Hybrid fusion method.")
@click.option("--rerank", default=None, metavar="NAME", help="Hybrid second stage, e.g. 'learned'.")
@settings_options
@progress_option
def eval_command(
    path: Path | None,
    dataset: Path,
    split: str,
    run_out: Path | None,
    k: int,
    query_syntax: bool,
    rebuild: bool,
    compare: tuple[Path, Path] | None,
    plot: Path | None,
    as_json: bool,
    progress: bool | None,
    mode: str = "lexical",
    fusion: str = "rrf",
    rerank: str | None = None,
    **settings_kw: Any,
) -> None:
    """Evaluate the index at PATH on a BEIR dataset: nDCG@10, Recall@100, MRR@10.

    Only queries with at least one positive judgement in qrels/<split>.tsv are evaluated.
    Without PATH (or when PATH holds no index yet) the index is built from the dataset's
    corpus with the given settings (in memory when PATH is omitted). Examples:

        heron eval --dataset path/to/beir/scifact --flat
        heron eval idx --dataset DIR --run-out bm25.run
        heron eval --dataset DIR --compare a.run b.run --plot deltas.png
    """
    ds = load_beir(dataset)
    if compare is not None:
        if path is not None:
            raise UserError("--compare reads two run files; do not pass an index PATH with it")
        _compare(ds, split, compare, plot, as_json)
        return
    if plot is not None:
        raise UserError("--plot needs --compare RUN_A RUN_B")
    qrels = ds.qrels(split)
    all_queries = ds.queries()
    qids = evaluated_queries(qrels)
    missing = [q for q in qids if q not in all_queries]
    if missing:
        click.echo(f"warning: {len(missing)} judged queries have no text in {ds.queries_path.name} "
                   f"and are not evaluated (first: {missing[0]!r})", err=True)
    queries = {q: all_queries[q] for q in qids if q in all_queries}
    if not queries:
        raise UserError(f"no query of split {split!r} has a positive judgement and a text; nothing to evaluate")
    if k < 100:
        click.echo(f"warning: --k {k} < 100, so Recall@100 only sees the top {k}", err=True)

    t_build = time.perf_counter()
    idx, origin = _open_or_build(path, ds, rebuild, progress, settings_kw)
    build_s = time.perf_counter() - t_build
    with idx:
        searcher = idx.searcher()
        bar = make_progress(progress, " queries", "searching", total=len(queries))
        t0 = time.perf_counter()
        try:
            hp = HybridParams(fusion=fusion, rerank=rerank) if mode == "hybrid" else None
            run = run_queries(searcher, queries, k, query_syntax=query_syntax, on_query=lambda _q: bar.update(1),
                              mode=mode, hybrid=hp)
        finally:
            bar.close()
        search_s = time.perf_counter() - t0
        n_docs = searcher.doc_count()
        settings = describe_settings(idx.settings)
    if run_out is not None:
        write_run(run_out, run)
    res = evaluate(run, qrels, list(queries))
    if as_json:
        click.echo(orjson.dumps({
            "dataset": str(dataset), "split": split, "index": origin, "settings": idx.settings.to_dict(),
            "docs": n_docs, "k": k, "search_seconds": search_s, **res.to_dict(),
            "run_file": None if run_out is None else str(run_out),
        }).decode("utf-8"))
        return
    header = [
        f"dataset: {ds.name} ({split}): {res.num_queries} queries with positive judgements",
        f"index:   {origin}: {n_docs:,} docs; {settings}",
        f"search:  {len(queries)} queries in {search_s:.2f} s ({len(queries) / max(search_s, 1e-9):,.0f} q/s), "
        f"k={k}" + (f"; index built in {build_s:.1f} s" if "built" in origin else ""),
        f"metrics ({'pytrec_eval' if res.backend == 'pytrec_eval' else 'heron.eval.metrics'}"
        f"{'' if has_pytrec_eval() else '; pip install pytrec-eval-terrier to cross-check'}; MRR@10 computed by heron):",
    ]
    _print_result(res, header)
    if res.empty_queries:
        click.echo(f"note: {len(res.empty_queries)} queries retrieved nothing (scored 0)", err=True)
    if run_out is not None:
        click.echo(f"run written to {run_out}")
