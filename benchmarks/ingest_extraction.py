"""Main-content extraction quality and speed on the article-extraction benchmark.

    .venv/bin/python benchmarks/ingest_extraction.py [--data ../shared/data] [--json out.json] [--cv 5]

For each candidate — heron's extractor (resiliparse DOM + heron's line filter), resiliparse's
own main-content mode, and trafilatura (default and precision mode) — prints the benchmark's
official metric (scrapinghub/article-extraction-benchmark ``evaluate.py``: 4-word shingles,
per-page precision/recall averaged, F1 of the averages), a plain token-level F1 (bag of
``\\w+`` tokens) and pages/s on one core (parse + extract, pages already in memory).

``--cv K`` also runs the K-fold cross-validation that chose the ``heron`` extractor's structural
settings (:class:`heron.ingest.extract.FilterParams`): for each fold, the setting with the best
F1 on the other K-1 folds is scored on the held-out fold; the pooled held-out pages give the
held-out P/R/F1, an honest estimate for unseen pages. The full-set best setting is reported too
(the shipped defaults), with its optimistic full-set F1.

Published figures on this benchmark (its README, 181 pages): AutoExtract F1 0.970,
Diffbot 0.951, readability 0.922, newspaper 0.912, dragnet 0.907, boilerpipe 0.860,
html-text (all text) 0.665.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from helpers import _TOKEN, load_benchmark, prf, shingles, tp_fp_fn  # noqa: E402
from resiliparse.parse.html import HTMLTree  # noqa: E402

from heron.ingest.extract import FilterParams, clean_lines, extract_text, html_lines, raw_main_content  # noqa: E402

#: structural rules off: heron's lexical line filter alone over resiliparse's output
NO_STRUCTURE = FilterParams(max_link_share=1.0, bare_p_share=1.0, extra_skip=(), repeats_outside_blocks_only=False)


def _token_prf(true: str, pred: str) -> tuple[float, float, float]:
    a, b = Counter(_TOKEN.findall(true)), Counter(_TOKEN.findall(pred))
    tp, fp, fn = sum((a & b).values()), sum((b - a).values()), sum((a - b).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def heron_extract(html: bytes) -> str:
    tree = HTMLTree.parse_from_bytes(html, "utf-8")
    return extract_text(tree, "heron", _headline(tree))


def _headline(tree: HTMLTree) -> str:
    h1 = tree.body.query_selector("h1") if tree.body is not None else None
    return (h1.text if h1 is not None else "") or tree.title or ""


def heron_lexical_only(html: bytes) -> str:
    tree = HTMLTree.parse_from_bytes(html, "utf-8")
    return clean_lines(html_lines(raw_main_content(tree, NO_STRUCTURE)), _headline(tree), NO_STRUCTURE)


def resiliparse_extract(html: bytes) -> str:
    return extract_text(HTMLTree.parse_from_bytes(html, "utf-8"), "resiliparse")


def trafilatura_default(html: bytes) -> str:
    import trafilatura

    return str(trafilatura.extract(html.decode("utf-8", "replace")) or "")


def trafilatura_precision(html: bytes) -> str:
    return extract_text(html.decode("utf-8", "replace"), "trafilatura")


CANDIDATES: dict[str, Callable[[bytes], str]] = {
    "heron": heron_extract,
    "heron-lexical-only": heron_lexical_only,
    "resiliparse": resiliparse_extract,
    "trafilatura": trafilatura_default,
    "trafilatura-precision": trafilatura_precision,
}


EXTRA_SKIPS: list[tuple[str, ...]] = [
    (),
    ("figure", "[class*=caption]"),
    ("figure", "[class*=caption]", "[class*=related]", "[class*=newsletter]", "[class*=share]"),
    ("figure", "[class*=caption]", "[class*=related]", "[class*=newsletter]", "[class*=share]", "[class*=promo]"),
]


def grid() -> list[FilterParams]:
    """The settings the cross-validation chooses among."""
    out = []
    for rep in (False, True):
        for ls in (1.0, 0.8, 0.5):
            for ps in (1.0, 0.75, 0.6, 0.5, 0.4, 0.3):
                for bm in ([1_000_000] if ps == 1.0 else [1_000_000, 200]):
                    for ex in EXTRA_SKIPS:
                        out.append(FilterParams(max_link_share=ls, bare_p_share=ps, bare_max_chars=bm, extra_skip=ex,
                                                repeats_outside_blocks_only=rep))
    return out


def cross_validate(gt: dict[str, dict[str, str]], pages: dict[str, bytes], k: int, seed: int = 0) -> dict[str, object]:
    keys = sorted(gt)
    trees = {key: HTMLTree.parse_from_bytes(pages[key], "utf-8") for key in keys}
    heads = {key: _headline(t) for key, t in trees.items()}
    lines = {ex: {key: html_lines(raw_main_content(trees[key], FilterParams(extra_skip=ex))) for key in keys}
             for ex in EXTRA_SKIPS}
    truth = {key: shingles(gt[key]["articleBody"]) for key in keys}
    memo: dict[tuple[str, str], tuple[float, float, float]] = {}

    def score(key: str, text: str) -> tuple[float, float, float]:
        got = memo.get((key, text))
        if got is None:
            a, b = truth[key], shingles(text)
            tp, fp, fn = sum((a & b).values()), sum((b - a).values()), sum((a - b).values())
            n = tp + fp + fn
            got = memo[(key, text)] = (tp / n, fp / n, fn / n) if n else (0.0, 0.0, 0.0)
        return got

    settings = grid()
    rows = {prm: {key: score(key, clean_lines(lines[prm.extra_skip][key], heads[key], prm)) for key in keys}
            for prm in settings}

    def f1(prm: FilterParams, ks: list[str]) -> float:
        return prf([rows[prm][key] for key in ks])[2]

    order = keys[:]
    random.Random(seed).shuffle(order)
    folds = [order[i::k] for i in range(k)]
    held: list[tuple[float, float, float]] = []
    chosen = []
    for i in range(k):
        train = [key for j, f in enumerate(folds) if j != i for key in f]
        best = max(settings, key=lambda prm: f1(prm, train))
        held += [rows[best][key] for key in folds[i]]
        chosen.append({"fold": i, "setting": repr(best), "train_f1": round(f1(best, train), 4),
                       "test_f1": round(f1(best, folds[i]), 4)})
        print(f"  fold {i}: train F1 {f1(best, train):.4f}  held-out F1 {f1(best, folds[i]):.4f}  {best}")
    hp, hr, hf = prf(held)
    final = max(settings, key=lambda prm: f1(prm, keys))
    fp_, fr_, ff_ = prf([rows[final][key] for key in keys])
    print(f"cross-validated ({k} folds, {len(settings)} settings): held-out P={hp:.3f} R={hr:.3f} F1={hf:.3f}")
    print(f"full-set best setting: P={fp_:.3f} R={fr_:.3f} F1={ff_:.3f}  {final}")
    print(f"shipped defaults are the full-set best: {final == FilterParams()}")
    return {"folds": chosen, "settings": len(settings), "held_out": {"precision": round(hp, 4), "recall": round(hr, 4),
            "f1": round(hf, 4)}, "full_set_best": {"setting": repr(final), "precision": round(fp_, 4),
            "recall": round(fr_, 4), "f1": round(ff_, 4)}, "defaults_are_full_set_best": final == FilterParams()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--cv", type=int, default=0, metavar="K", help="also run K-fold cross-validation of the settings")
    args = ap.parse_args()
    gt, pages = load_benchmark(args.data / "web/html/article-extraction-benchmark")
    results: dict[str, object] = {}
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
    if args.cv:
        results["cross_validation"] = cross_validate(gt, pages, args.cv)
    if args.json:
        args.json.write_text(json.dumps({"pages": len(pages), "results": results}, indent=2))


if __name__ == "__main__":
    main()
