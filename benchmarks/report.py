"""Render heron's benchmark results (``results.json``) as a markdown report with PNG plots.

What is shown: per corpus one table (engine, QPS@10, QPS@100, p50/p95/p99 latency @10, CPU ms/query @10,
build docs/s, index MB, peak RSS MB, and nDCG@10 / Recall@100 on judged sets), the ratios heron / fastest peer,
a cross-corpus summary, a relevance matrix, peers that could not be installed or run (which, why), and two plots:
latency vs corpus size, and QPS per engine per corpus.

Corpus model: whatever ``benchmarks/run.py`` measured (see ``benchmarks/corpora.py``); the replicated 1M corpus
is labelled REPLICATED wherever it appears.

How to run: ``benchmarks/run.py`` calls it after every job; to re-render an existing run:
``.venv/bin/python benchmarks/report.py benchmarks/results/<timestamp>/results.json``.
The table code is stdlib-only; plots need matplotlib (project .venv).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import fmt_num, fmt_sig, markdown_table, ratio

MB = 1024 * 1024
HERON = "heron"


def _get(d: Any, *path: Any) -> Any:
    for p in path:
        if d is None:
            return None
        d = d.get(p) if isinstance(d, dict) else None
    return d


def metrics(r: dict[str, Any]) -> dict[str, Any]:
    """Flatten one worker result into the numbers the tables show."""
    s10, s100 = _get(r, "search", "10") or {}, _get(r, "search", "100") or {}
    lat10 = s10.get("latency") or {}
    return {
        "qps10": s10.get("qps"), "qps100": s100.get("qps"),
        "p50": lat10.get("p50_ms"), "p95": lat10.get("p95_ms"), "p99": lat10.get("p99_ms"),
        "p99_100": _get(s100, "latency", "p99_ms"), "p50_100": _get(s100, "latency", "p50_ms"),
        "cpu10": s10.get("cpu_ms_per_q"), "cpu100": s100.get("cpu_ms_per_q"),
        "cpu_p50": _get(s10, "cpu_latency", "p50_ms"), "cpu_p99": _get(s10, "cpu_latency", "p99_ms"),
        "load": _get(r, "loadavg_1m", "end"),
        "build_dps": _get(r, "build", "docs_per_s"), "build_s": _get(r, "build", "wall_s"),
        "build_rounds": _get(r, "build", "rounds_wall_s") or [],
        "docs": _get(r, "build", "docs"),
        "index_mb": (r["index_bytes"] / MB) if r.get("index_bytes") is not None else None,
        "rss_mb": _get(r, "rss_mb", "peak"), "rss_build_mb": _get(r, "rss_mb", "after_build"),
        "ndcg10": _get(r, "relevance", "ndcg@10"), "recall100": _get(r, "relevance", "recall@100"),
        "queries10": s10.get("queries"), "queries_total": s10.get("queries_total"),
        "passes10": [p.get("qps") for p in s10.get("passes") or []],
        "passes100": [p.get("qps") for p in s100.get("passes") or []],
    }


def _paired_median(a: list[float], b: list[float]) -> float | None:
    """Median of ``a[i] / b[i]`` over the pairs; None when the lists differ in length or hold no pair."""
    if len(a) != len(b):
        return None
    rs = [x / y for x, y in zip(a, b, strict=True) if x and y]
    return statistics.median(rs) if rs else None


def paired_ratio(h: dict[str, Any], peer: dict[str, Any], k: int) -> float | None:
    """Median over passes of heron's QPS / the peer's in the same pass. In an interleaved run
    pass i of every engine runs in the same rotation, seconds apart, so each ratio compares the
    engines on the same state of the machine (whose speed here drifts by up to 1.5x over
    seconds, which a ratio of each engine's own median pass does not cancel)."""
    return _paired_median(h.get(f"passes{k}") or [], peer.get(f"passes{k}") or [])


def paired_build_ratio(h: dict[str, Any], peer: dict[str, Any]) -> float | None:
    """Median over build rounds of the peer's build time / heron's in the same round (> 1: heron
    faster), when both built the same number of times more than once."""
    a, b = h.get("build_rounds") or [], peer.get("build_rounds") or []
    return _paired_median(b, a) if len(a) > 1 else None


def engine_label(name: str, engines: dict[str, Any]) -> str:
    return str(_get(engines, name, "label") or name)


HIGHER_BETTER = {"qps10": True, "qps100": True, "p99": False, "cpu10": False, "build_dps": True, "index_mb": False,
                 "rss_mb": False, "ndcg10": True}
RATIO_NAMES = {"qps10": "QPS@10", "qps100": "QPS@100", "p99": "p99@10", "cpu10": "CPU ms/q", "build_dps": "build docs/s",
               "index_mb": "index MB", "rss_mb": "peak RSS", "ndcg10": "nDCG@10"}


def best_peer(rows: list[dict[str, Any]], key: str) -> tuple[str, float] | None:
    """The peer (not heron*, not capped) with the best value of ``key``."""
    cands = [(r["engine"], r["m"][key]) for r in rows
             if not r["engine"].startswith(HERON) and not r.get("capped") and r["m"].get(key) is not None
             and not (isinstance(r["m"][key], float) and math.isnan(r["m"][key]))]
    if not cands:
        return None
    return (max if HIGHER_BETTER[key] else min)(cands, key=lambda c: c[1])


def ratio_line(rows: list[dict[str, Any]], engines: dict[str, Any], heron_name: str = HERON) -> str | None:
    h = next((r for r in rows if r["engine"] == heron_name), None)
    if h is None:
        return None
    parts = []
    for key in ("qps10", "qps100", "p99", "cpu10", "build_dps", "index_mb", "rss_mb", "ndcg10"):
        bp = best_peer(rows, key)
        hv = h["m"].get(key)
        rv = ratio(hv, bp[1]) if bp else None
        if rv is None or bp is None:
            continue
        if key == "ndcg10":
            parts.append(f"{RATIO_NAMES[key]} {hv - bp[1]:+.3f} vs {engine_label(bp[0], engines)}")
        else:
            parts.append(f"{RATIO_NAMES[key]} **{rv:.2f}x** ({engine_label(bp[0], engines)})")
    if not parts:
        return None
    return (f"{engine_label(heron_name, engines)} / best peer — " + "; ".join(parts)
            + ". (QPS, build: > 1 means heron is faster; p99, CPU, index, RSS: < 1 means heron is better.)")


def corpus_rows(results: list[dict[str, Any]], corpus: str) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        if r.get("corpus") != corpus:
            continue
        rows.append({"engine": r["engine"], "ok": r.get("ok", False), "m": metrics(r) if r.get("ok") else {},
                     "capped": r.get("capped"), "error": r.get("error"), "notes": r.get("notes") or [],
                     "index_note": r.get("index_note", "")})
    rows.sort(key=lambda x: (not x["engine"].startswith(HERON), -(x["m"].get("qps10") or 0)))
    return rows


def corpus_table(rows: list[dict[str, Any]], engines: dict[str, Any], judged: bool) -> str:
    headers = ["engine", "QPS@10", "QPS@100", "p50@10 ms", "p95@10 ms", "p99@10 ms", "CPU ms/q@10",
               "CPU p50 / p99@10 ms", "build docs/s", "index MB", "peak RSS MB build / end", "load"]
    if judged:
        headers += ["nDCG@10", "R@100"]
    body = []
    for r in rows:
        label = engine_label(r["engine"], engines)
        if r["engine"].startswith(HERON):
            label = f"**{label}**"
        if not r["ok"]:
            body.append([label, f"failed: {(r['error'] or '?')[:80]}"] + [""] * (len(headers) - 2))
            continue
        m = r["m"]
        star = "*" if r.get("capped") else ""
        mem = " (mem)" if "in memory" in (r.get("index_note") or "") else ""
        row = [label + star, fmt_num(m["qps10"]), fmt_num(m["qps100"]), fmt_sig(m["p50"]), fmt_sig(m["p95"]),
               fmt_sig(m["p99"]), fmt_sig(m["cpu10"]), f"{fmt_sig(m['cpu_p50'])} / {fmt_sig(m['cpu_p99'])}",
               fmt_num(m["build_dps"]),
               (fmt_sig(m["index_mb"]) + mem) if m["index_mb"] is not None else "-",
               f"{fmt_num(m['rss_build_mb'])} / {fmt_num(m['rss_mb'])}", fmt_num(m["load"], 1)]
        if judged:
            row += [fmt_num(m["ndcg10"], 3) if not r.get("capped") else "-",
                    fmt_num(m["recall100"], 3) if not r.get("capped") else "-"]
        body.append(row)
    return markdown_table(headers, body)


def summary_table(res: dict[str, Any]) -> str | None:
    engines = res.get("engines", {})
    paired = bool(_get(res, "meta", "interleave"))
    rows = []
    for cname, c in res.get("corpora", {}).items():
        crow = corpus_rows(res.get("results", []), cname)
        h = next((r for r in crow if r["engine"] == HERON and r["ok"]), None)
        if h is None:
            continue
        cells = [c.get("label", cname), fmt_num(c.get("n_docs"))]
        for key in ("qps10", "qps100", "p99", "cpu10", "build_dps", "index_mb"):
            bp = best_peer(crow, key)
            rv = ratio(h["m"].get(key), bp[1]) if bp else None
            cells.append(f"{fmt_sig(rv)}x ({engine_label(bp[0], engines)})" if rv is not None and bp else "-")
        if paired:
            for key, pair in (("qps10", lambda a, b: paired_ratio(a, b, 10)),
                              ("qps100", lambda a, b: paired_ratio(a, b, 100)), ("build_dps", paired_build_ratio)):
                bp = best_peer(crow, key)
                peer = next((r for r in crow if bp and r["engine"] == bp[0]), None)
                pr = pair(h["m"], peer["m"]) if peer else None
                cells.append(f"{fmt_sig(pr)}x" if pr is not None else "-")
        rows.append(cells)
    if not rows:
        return None
    return markdown_table(["corpus", "docs", "QPS@10", "QPS@100", "p99@10", "CPU ms/q@10", "build docs/s", "index MB"]
                          + (["QPS@10 paired", "QPS@100 paired", "build paired"] if paired else []), rows)


def cost_growth_table(res: dict[str, Any]) -> str | None:
    """Per engine, median latency on a corpus divided by that on its uniform sample (same queries): the
    like-for-like cost growth, wall p50 at k=10 and 100 and the per-query CPU p50 at k=10."""
    corp = res.get("corpora", {})
    rows = []
    for sname, sc in corp.items():
        full = sc.get("sample_of")
        if not full or full not in corp:
            continue
        srows = {r["engine"]: r for r in corpus_rows(res.get("results", []), sname) if r["ok"]}
        for fr in corpus_rows(res.get("results", []), full):
            sr = srows.get(fr["engine"])
            if not fr["ok"] or sr is None or fr.get("capped") or sr.get("capped"):
                continue
            f, s = fr["m"], sr["m"]
            cells = [engine_label(fr["engine"], res.get("engines", {})),
                     f"{fmt_num(corp[full].get('n_docs'))} / {fmt_num(sc.get('n_docs'))}"]
            for key in ("p50", "p50_100", "cpu_p50"):
                rv = ratio(f.get(key), s.get(key))
                cells.append(f"{fmt_sig(s.get(key))} → {fmt_sig(f.get(key))} ms: **{fmt_sig(rv)}x**"
                             if rv is not None else "-")
            rows.append(cells)
    if not rows:
        return None
    return markdown_table(["engine", "docs (corpus / sample)", "p50@10", "p50@100", "CPU p50@10"], rows)


def relevance_matrix(res: dict[str, Any]) -> str | None:
    judged = [c for c, v in res.get("corpora", {}).items() if v.get("judged")]
    if not judged:
        return None
    engines = res.get("engines", {})
    names = [e for e in engines if any(r.get("engine") == e and r.get("corpus") in judged for r in res["results"])]
    rows = []
    for e in names:
        row = [engine_label(e, engines)]
        for c in judged:
            r = next((x for x in res["results"] if x.get("engine") == e and x.get("corpus") == c and x.get("ok")), None)
            rel = (r or {}).get("relevance")
            row.append(f"{rel['ndcg@10']:.3f} / {rel['recall@100']:.3f}" if rel else "-")
        rows.append(row)
    return markdown_table(["engine"] + [f"{res['corpora'][c].get('label', c)}" for c in judged], rows)


def render(res: dict[str, Any], plots: list[str] | None = None) -> str:
    meta, engines = res.get("meta", {}), res.get("engines", {})
    out = [f"# heron benchmark — {meta.get('started', '?')}", ""]
    if meta.get("quick"):
        out += ["_Quick mode (`--quick`): SciFact + Cranfield, fewer passes. Numbers are indicative._", ""]
    out += [
        f"- Command: `{meta.get('command', '?')}`",
        f"- Machine: {meta.get('machine', '?')}; load average at start {meta.get('loadavg_start', '?')}, "
        f"at end {meta.get('loadavg_end', '?')} (the machine may be shared: compare ratios, not absolute times)",
        f"- Procedure: single-threaded; build timed; {meta.get('warmup', '?')} warm-up queries, then "
        f"{meta.get('passes', '?')} timed passes per k in {{10, 100}}"
        + ("; passes interleaved across engines (every worker kept alive, one pass at a time, the order rotating "
           "per pass)" if meta.get("interleave") else "")
        + (f"; a query list shorter than {meta['min_pass_queries']:,} is cycled within each pass to at least that "
           "many queries" if meta.get("min_pass_queries") else "")
        + (f"; each index built {meta['build_rounds']} times, build docs/s from the median build (all but the last "
           "in a forked child whose index is discarded"
           + (", the rounds alternating across engines like the passes" if meta.get("interleave") else "") + ")"
           if (meta.get("build_rounds") or 1) > 1 else "")
        + "; QPS and CPU ms/query from the median pass; "
        "latency percentiles over every query of every timed pass. Queries: lowercase, split on non-alphanumerics, "
        "OR of the tokens. Index: one flat field `title + \" \" + text` per document.",
        f"- Seed {meta.get('seed', '?')}, {meta.get('queries', '?')} sampled queries for query-less corpora; "
        f"relevance via {meta.get('relevance_impl', '?')} from each engine's top-100 run of the first timed pass.",
        f"- Duration: {fmt_num(meta.get('duration_s'))} s", "",
    ]
    # --- peers that are missing
    missing = [(n, e) for n, e in engines.items() if e.get("status") != "ok"]
    failed_jobs = [r for r in res.get("results", []) if not r.get("ok")]
    out += ["## Peers not measured", ""]
    if not missing and not failed_jobs:
        out += ["None: every selected engine installed and ran.", ""]
    for n, e in missing:
        out.append(f"- **{engine_label(n, engines)}** was NOT measured: {e.get('status')}: {e.get('reason') or '?'}")
    for r in failed_jobs:
        out.append(f"- **{engine_label(r['engine'], engines)}** failed on {r['corpus']}: {r.get('error', '?')}")
    if missing or failed_jobs:
        out.append("")
    # --- engines
    out += ["## Engines", ""]
    erows = [[engine_label(n, engines), e.get("version", "-"), e.get("config", "-")] for n, e in engines.items()
             if e.get("status") == "ok"]
    if erows:
        out += [markdown_table(["engine", "version", "configuration"], erows, ["l", "l", "l"]), ""]
    # --- summary
    st = summary_table(res)
    if st:
        out += ["## heron / fastest peer, per corpus", "",
                "Each cell: heron's value divided by the best peer's (named). QPS and build: > 1 = heron faster; "
                "p99, CPU ms/q and index size: < 1 = heron better. Capped engines (rank_bm25 on large corpora) are not "
                "counted as best peer."
                + (" Interleaved run: the paired columns give the median over passes of heron's QPS / that peer's "
                   "QPS in the same pass (the same rotation, seconds apart), which cancels the machine's drift "
                   "between rotations; *build paired*: the median over build rounds of the fastest-building "
                   "peer's build time / heron's in the same round." if _get(res, "meta", "interleave") else ""),
                "", st, ""]
    # --- per corpus
    for cname, c in res.get("corpora", {}).items():
        rows = corpus_rows(res.get("results", []), cname)
        if not rows:
            continue
        title = c.get("label", cname)
        if c.get("replicated") and "REPLICATED" not in title:
            title += " — REPLICATED"
        out += [f"## {title}", "",
                f"{fmt_num(c.get('n_docs'))} documents; {fmt_num(c.get('n_queries'))} queries ({c.get('query_model', '')})."]
        for n in c.get("notes", []):
            out.append(f"_{n}_")
        out += ["", corpus_table(rows, engines, bool(c.get("judged"))), ""]
        rl = ratio_line(rows, engines)
        if rl:
            out += [rl, ""]
        if any(r["engine"].startswith(HERON) and r["engine"] != HERON for r in rows):
            for hv in [r for r in rows if r["engine"].startswith(HERON) and r["engine"] != HERON]:
                line = ratio_line(rows, engines, hv["engine"])
                if line:
                    out += [line, ""]
        notes = []
        for r in rows:
            if r.get("capped"):
                notes.append(f"{engine_label(r['engine'], engines)}*: {r['capped']}")
            for n in r["notes"]:
                notes.append(f"{engine_label(r['engine'], engines)}: {n}")
            if r["ok"] and "in memory" in (r.get("index_note") or ""):
                notes.append(f"{engine_label(r['engine'], engines)} index size: {r['index_note']}")
        if notes:
            out += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    cg = cost_growth_table(res)
    if cg:
        out += ["## Cost growth (like for like)", "",
                "Median latency on the full corpus divided by that on its uniform sample, the same queries on both "
                "(issue 2's bar for heron: <= 4x at >= 1M documents). Each cell: sample → full, and the ratio.",
                "", cg, ""]
    rm = relevance_matrix(res)
    if rm:
        out += ["## Relevance (nDCG@10 / Recall@100, judged queries only)", "", rm, ""]
    if plots:
        out += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    out += ["## Method details", "",
            "- Every engine runs in its own subprocess (heron with the project .venv; peers with "
            "`benchmarks/.peers-venv`; Xapian with Debian's `/usr/bin/python3`), one job at a time, with "
            "OMP/MKL/OpenBLAS/NUMBA/RAYON threads = 1; builds use one indexing thread.",
            "- Build time counts the engine's own indexing calls only (documents are parsed from the shared "
            "files in batches outside the timer); opening the built index is timed separately (in results.json)."
            + (f" Each index was built {meta['build_rounds']} times (every round's time is in results.json, "
               "`build.rounds_wall_s`); the builds before the last ran in a forked child of the engine's worker and "
               "their indexes were discarded, so the worker's memory and peak RSS are those of one build."
               if (meta.get("build_rounds") or 1) > 1 else ""),
            "- The timed search call takes the normalised query string and returns `(external_id, score)` "
            "pairs: it includes building the engine's query object and mapping hits to ids.",
            "- Peak RSS: `getrusage(RUSAGE_SELF).ru_maxrss` of the engine's process after build and after queries "
            "(the table shows both: after build / at the end). In-memory engines (bm25s, rank_bm25) are sized by saving/pickling "
            "untimed, marked `(mem)`.",
            "- Wall-clock numbers (QPS, p50/p95/p99) include time the OS gave to other processes; on a shared "
            "machine (see the load column: 1-minute load average when the job ended, on "
            f"{os.cpu_count()} CPUs) they are inflated, typically by multiples of the 4 ms scheduler tick in the "
            "tail. CPU ms/q (`time.process_time` of the whole process over the median pass) and the per-query CPU "
            "percentiles (`time.thread_time` of the searching thread) are not, and are the steadier comparison.",
            "- A pass on a slow engine over a large query-less corpus may be cut to a prefix of the (random) "
            "query list to bound run time; such caps are listed under the table.",
            "- rank_bm25 scores every document in Python, so it is capped (documents and queries); on larger corpora "
            "its numbers are for the capped subset, with a linear extrapolation in the notes.", ""]
    return "\n".join(out)


def make_plots(res: dict[str, Any], out_dir: Path) -> list[str]:
    """latency_vs_size.png and qps_per_engine.png; returns the paths written (empty without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    engines = res.get("engines", {})
    corpora = res.get("corpora", {})
    ok = [r for r in res.get("results", []) if r.get("ok") and not r.get("capped")]
    if not ok:
        return []
    names = [e for e in engines if any(r["engine"] == e for r in ok)]
    written = []
    # 1) latency vs corpus size
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, title in ((axes[0], "p50_ms", "median latency @10"), (axes[1], "p99_ms", "p99 latency @10")):
        for e in names:
            pts = sorted((corpora.get(r["corpus"], {}).get("n_docs") or r["build"]["docs"],
                          r["search"]["10"]["latency"][key], r["corpus"]) for r in ok if r["engine"] == e)
            if not pts:
                continue
            lw = 2.6 if e.startswith(HERON) else 1.2
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", lw=lw, label=engine_label(e, engines))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("documents in corpus (log; the 1M point is the REPLICATED corpus)")
        ax.set_ylabel("ms per query (log)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=min(6, max(1, len(labels))))
    fig.suptitle("Latency vs corpus size (single thread; each corpus has its own query set)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    p = out_dir / "latency_vs_size.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(str(p))
    # 2) QPS per engine per corpus
    cnames = sorted({r["corpus"] for r in ok}, key=lambda c: corpora.get(c, {}).get("n_docs") or 0)
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.6 * len(cnames) + 4), 9))
    width = 0.8 / max(1, len(names))
    for ax, k in ((axes[0], "10"), (axes[1], "100")):
        for j, e in enumerate(names):
            vals = []
            for c in cnames:
                r = next((x for x in ok if x["engine"] == e and x["corpus"] == c), None)
                vals.append(r["search"][k]["qps"] if r else 0)
            xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(cnames))]
            bars = ax.bar(xs, vals, width, label=engine_label(e, engines),
                          edgecolor="black" if e.startswith(HERON) else None, linewidth=1.5 if e.startswith(HERON) else 0)
            del bars
        ax.set_xticks(range(len(cnames)))
        ax.set_xticklabels([corpora.get(c, {}).get("label", c).replace(" (", "\n(") for c in cnames], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel(f"QPS @{k} (log)")
        ax.set_title(f"Queries per second, top-{k}, single thread")
        ax.grid(True, axis="y", which="both", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=min(5, len(names)))
    fig.tight_layout()
    p = out_dir / "qps_per_engine.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(str(p))
    return written


def write_report(res: dict[str, Any], out_dir: Path, plots: bool = True) -> Path:
    files = make_plots(res, out_dir) if plots else []
    path = out_dir / "report.md"
    path.write_text(render(res, files), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    rp = Path(sys.argv[1])
    print(write_report(json.loads(rp.read_text()), rp.parent))
