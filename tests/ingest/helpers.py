"""The article-extraction benchmark's own scoring (scrapinghub/article-extraction-benchmark,
``evaluate.py``): 4-word shingles, per-page tp/fp/fn normalised, precision and recall averaged
over pages, F1 of the averages. Also used by ``benchmarks/ingest_extraction.py``."""

from __future__ import annotations

import gzip
import json
import re
import statistics
from collections import Counter
from pathlib import Path

_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    toks = _TOKEN.findall(text or "")
    return Counter(tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i : i + n])


def tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    a, b = shingles(true), shingles(pred)
    tp = sum((a & b).values())
    fp = sum((b - a).values())
    fn = sum((a - b).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def prf(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    ps, rs = [], []
    for tp, fp, fn in rows:
        if tp + fp > 0:
            ps.append(1.0 if fp == fn == 0 else tp / (tp + fp))
        if tp + fn > 0:
            rs.append(1.0 if fp == fn == 0 else tp / (tp + fn))
    p, r = statistics.mean(ps), statistics.mean(rs)
    return p, r, 2 * p * r / (p + r)


def load_benchmark(root: Path) -> tuple[dict[str, dict[str, str]], dict[str, bytes]]:
    gt = json.loads(gzip.decompress((root / "ground-truth.json.gz").read_bytes()))
    pages = {k: gzip.decompress((root / "html" / f"{k}.html.gz").read_bytes()) for k in gt}
    return gt, pages
