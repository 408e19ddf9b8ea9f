"""Main-content extraction quality and speed on the article-extraction benchmark.

    .venv/bin/python benchmarks/ingest_extraction.py [--data ../shared/data] [--json out.json]

For each candidate — heron's extractor (resiliparse DOM + heron's line filter), resiliparse's
own main-content mode, and trafilatura (default and precision mode) — prints the benchmark's
official metric (scrapinghub/article-extraction-benchmark ``evaluate.py``: 4-word shingles,
per-page precision/recall averaged, F1 of the averages), a plain token-level F1 (bag of
``\\w+`` tokens) and pages/s on one core (parse + extract, pages already in memory).

Published figures on this benchmark (its README, 181 pages): AutoExtract F1 0.970,
Diffbot 0.951, readability 0.922, newspaper 0.912, dragnet 0.907, boilerpipe 0.860,
html-text (all text) 0.665.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from helpers import _TOKEN, load_benchmark, prf, tp_fp_fn  # noqa: E402
from resiliparse.parse.html import HTMLTree  # noqa: E402

from heron.ingest.extract import extract_text  # noqa: E402


def _token_prf(true: str, pred: str) -> tuple[float, float, float]:
    a, b = Counter(_TOKEN.findall(true)), Counter(_TOKEN.findall(pred))
    tp, fp, fn = sum((a & b).values()), sum((b - a).values()), sum((a - b).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def heron_extract(html: bytes) -> str:
    tree = HTMLTree.parse_from_bytes(html, "utf-8")
    h1 = tree.body.query_selector("h1") if tree.body is not None else None
    return extract_text(tree, "heron", (h1.text if h1 is not None else "") or tree.title or "")


def resiliparse_extract(html: bytes) -> str:
    return extract_text(HTMLTree.parse_from_bytes(html, "utf-8"), "resiliparse")


def trafilatura_default(html: bytes) -> str:
    import trafilatura

    return str(trafilatura.extract(html.decode("utf-8", "replace")) or "")


def trafilatura_precision(html: bytes) -> str:
    return extract_text(html.decode("utf-8", "replace"), "trafilatura")


CANDIDATES: dict[str, Callable[[bytes], str]] = {
    "heron": heron_extract,
    "resiliparse": resiliparse_extract,
    "trafilatura": trafilatura_default,
    "trafilatura-precision": trafilatura_precision,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    gt, pages = load_benchmark(args.data / "web/html/article-extraction-benchmark")
    results = {}
    for name, fn in CANDIDATES.items():
        fn(next(iter(pages.values())))  # warm up (imports, models)
        t0 = time.perf_counter()
        outs = {k: fn(h) for k, h in pages.items()}
        dt = time.perf_counter() - t0
        p, r, f1 = prf([tp_fp_fn(gt[k]["articleBody"], outs[k]) for k in gt])
        tp_, tr_, tf_ = prf([_token_prf(gt[k]["articleBody"], outs[k]) for k in gt])
        results[name] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                         "token_precision": round(tp_, 4), "token_recall": round(tr_, 4), "token_f1": round(tf_, 4),
                         "pages_per_s": round(len(pages) / dt, 1)}
        print(f"{name:<22} shingle P={p:.3f} R={r:.3f} F1={f1:.3f}   token P={tp_:.3f} R={tr_:.3f} F1={tf_:.3f}"
              f"   {len(pages) / dt:7.1f} pages/s", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"pages": len(pages), "results": results}, indent=2))


if __name__ == "__main__":
    main()
