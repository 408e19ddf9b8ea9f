"""Pure, stdlib-only pieces of heron's benchmark harness (shared by the runner and every engine worker).

What is measured: nothing here runs an engine. This module holds the parts every engine must see identically:
query normalisation (lowercase, split on non-alphanumerics, OR of the tokens), deterministic seeded query
sampling for query-less corpora, the replicated-corpus id scheme (``f"{_id}#r{k}"``), corpus streaming from
the shared BEIR-layout files, latency percentile summaries, and markdown table rendering.

Corpus model: documents are ``{"id", "title", "text"}``; every engine indexes one flat field
``title + " " + text`` (see ``flat_text``). Corpus *manifests* (plain JSON dicts) name the source files, how
many replicas to stream, and an optional document cap, so every worker subprocess streams exactly the same
documents without a big intermediate file.

How to run: imported by ``benchmarks/run.py`` (the ``make bench`` entry point) and ``benchmarks/worker.py``;
unit-tested by ``tests/unit/test_bench_harness.py``. It must stay importable by any Python >= 3.11 with no
third-party packages (the Xapian worker runs under Debian's /usr/bin/python3).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# ----------------------------------------------------------------------------- queries

_TOKEN_RE = re.compile(r"[^\W_]+", re.UNICODE)


def query_tokens(text: str) -> list[str]:
    """Lowercase and split on non-alphanumerics (Unicode letters and digits; ``_`` counts as a separator).

    Repeated words are kept: each engine decides what to do with them.
    """
    return _TOKEN_RE.findall(text.lower())


def normalize_query(text: str) -> str:
    """The query string every engine receives: its tokens joined by single spaces (an OR of the tokens)."""
    return " ".join(query_tokens(text))


def first_words(text: str, n: int = 12) -> str:
    """The first ``n`` whitespace-separated words of ``text`` (query model for review/blog corpora)."""
    return " ".join(text.split()[:n])


def sample_indices(population: int, n: int, seed: int) -> list[int]:
    """``n`` distinct indices from ``range(population)``, deterministic for a seed, in sampled order."""
    if population <= 0 or n <= 0:
        return []
    return random.Random(seed).sample(range(population), min(n, population))


def sample_title_queries(titles: Iterable[str], n: int, seed: int) -> list[str]:
    """Seeded sample of distinct non-empty titles (sorted first, so input order does not matter)."""
    uniq = sorted({t.strip() for t in titles if t and query_tokens(t)})
    return [uniq[i] for i in sample_indices(len(uniq), n, seed)]


def sample_prefix_queries(texts: Sequence[str], n: int, seed: int, words: int = 12) -> list[str]:
    """Seeded sample of documents, each turned into a query of its first ``words`` words.

    Documents whose prefix has no token are skipped (the sample is drawn with a margin, in a fixed order).
    """
    out: list[str] = []
    for i in sample_indices(len(texts), min(len(texts), n + max(10, n // 10)), seed):
        q = first_words(texts[i], words)
        if query_tokens(q):
            out.append(q)
            if len(out) == n:
                break
    return out


# ----------------------------------------------------------------------------- corpora

def replica_id(doc_id: str, k: int) -> str:
    """Id of replica ``k`` of a document: copy 0 keeps the original id, copy k >= 1 is ``f"{id}#r{k}"``."""
    return doc_id if k == 0 else f"{doc_id}#r{k}"


def flat_text(title: str | None, text: str | None) -> str:
    """The one flat field every engine indexes: ``title + " " + text``."""
    return f"{title or ''} {text or ''}"


def iter_jsonl_gz(path: str) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def iter_manifest_docs(manifest: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Stream ``(id, title, text)`` for a corpus manifest.

    ``manifest = {"sources": [path, ...], "replicas": R, "limit": N | None, "sample": f | None}``: replica 0 of
    every source, then replica 1 of every source, ..., keeping only the documents ``in_sample(id, f)`` (if
    ``sample`` is set) and stopping after ``limit`` documents (if set).
    """
    limit = manifest.get("limit")
    sample = manifest.get("sample")
    n = 0
    for k in range(int(manifest.get("replicas", 1))):
        for src in manifest["sources"]:
            for d in iter_jsonl_gz(src):
                if limit is not None and n >= limit:
                    return
                doc_id = replica_id(str(d["_id"]), k)
                if sample is not None and not in_sample(doc_id, sample):
                    continue
                yield doc_id, d.get("title") or "", d.get("text") or ""
                n += 1


def in_sample(doc_id: str, fraction: float) -> bool:
    """Whether a document belongs to the uniform ``fraction`` sample of a corpus: ``crc32(id) % 100000 <
    fraction * 100000`` (deterministic, independent of order; the replicas of a text are drawn independently)."""
    return zlib.crc32(doc_id.encode()) % 100_000 < int(fraction * 100_000)


def batched(it: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for x in it:
        batch.append(x)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ----------------------------------------------------------------------------- statistics

def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear-interpolation percentile (numpy's default method) of an already sorted sequence."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    pos = (len(sorted_values) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


def latency_summary(latencies_s: Iterable[float]) -> dict[str, float]:
    """Summary of per-query latencies given in seconds; result in milliseconds."""
    xs = sorted(float(x) * 1000.0 for x in latencies_s)
    if not xs:
        return {"n": 0, "mean_ms": math.nan, "p50_ms": math.nan, "p95_ms": math.nan, "p99_ms": math.nan,
                "max_ms": math.nan}
    return {
        "n": len(xs),
        "mean_ms": sum(xs) / len(xs),
        "p50_ms": percentile(xs, 50),
        "p95_ms": percentile(xs, 95),
        "p99_ms": percentile(xs, 99),
        "max_ms": xs[-1],
    }


def median(values: Sequence[float]) -> float:
    xs = sorted(values)
    if not xs:
        return math.nan
    mid = len(xs) // 2
    return float(xs[mid]) if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def median_pass(passes: Sequence[dict[str, float]], key: str = "wall_s") -> dict[str, float]:
    """The pass whose ``key`` is the median (lower median for an even count, so it is a real pass)."""
    if not passes:
        return {}
    order = sorted(passes, key=lambda p: p[key])
    return order[(len(order) - 1) // 2]


# ----------------------------------------------------------------------------- rendering

def fmt_num(x: Any, digits: int = 0) -> str:
    """Human number: thousands separators; ``digits`` decimals; '-' for missing/NaN."""
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return "-"
    if digits == 0:
        return f"{round(x):,}"
    return f"{x:,.{digits}f}"


def fmt_sig(x: Any, sig: int = 3) -> str:
    """Number with about ``sig`` significant digits (for latencies and ratios spanning decades)."""
    if x is None or isinstance(x, str):
        return "-" if x is None else x
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return "-"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    digits = max(0, sig - 1 - mag)
    return f"{x:,.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    """Render a GitHub markdown table. ``align`` per column: 'l' or 'r' (default: first left, rest right)."""
    if align is None:
        align = ["l"] + ["r"] * (len(headers) - 1)
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    for r in rows:
        if len(r) != len(headers):
            raise ValueError(f"row has {len(r)} cells, table has {len(headers)} columns")
        lines.append("| " + " | ".join(cell(v) for v in r) + " |")
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)) or (
            isinstance(b, float) and math.isnan(b)):
        return None
    return a / b
