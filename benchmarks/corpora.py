"""Benchmark corpora and their query sets (stdlib only).

What is measured: nothing; this module defines *what* every engine is measured on.
  * judged sets (relevance + speed): ``scifact`` (BEIR SciFact, test split), ``cranfield``, ``cisi``, ``lisa``
    (classic collections in BEIR layout). Queries = the test queries that have at least one positive qrel.
  * speed-only sets: ``enwiki`` (107,280 Wikipedia passages; queries = a seeded sample of article titles),
    ``imdb`` (99,992 long reviews; queries = the first 12 words of seeded-sampled reviews), ``blog``
    (300,133 blog passages; queries = the first 12 words of seeded-sampled passages).
  * ``replicated-1m``: enwiki + imdb + blog streamed twice (copy k >= 1 gets ids ``f"{_id}#r{k}"``), 1,014,810
    documents. It is REPLICATED data (every text occurs twice), labelled so in every report; its queries are a
    seeded mix of the three query models above (1/3 titles, 1/3 IMDb prefixes, 1/3 blog prefixes).
  * ``replicated-1m-sample``: a uniform ~107k-document sample of ``replicated-1m`` (a document is kept when
    ``crc32(id) % 100000 < 10570``) with the same queries: run beside ``replicated-1m`` it gives every engine's
    cost growth like for like (same mixture of documents, same queries; the report's "Cost growth" section).

Corpus model: documents are ``{"_id", "title", "text"}`` lines in the shared gzip files under the data root
(``../shared/data`` from the repository, or ``$HERON_DATA``); workers stream them through a manifest.
Sampled query sets are cached under ``benchmarks/.work/queries/``.

How to run: used by ``benchmarks/run.py``; ``python benchmarks/corpora.py [--data DIR]`` prints every corpus
with its document and query counts (reads the files once).
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = HERE / ".work" / "queries"
SAMPLES = HERE / ".work" / "samples"

ENWIKI = "large/enwiki-sample-passages.jsonl.gz"
IMDB = "large/imdb-reviews.jsonl.gz"
BLOG = "large/blog-authorship-passages-300k.jsonl.gz"


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    label: str
    sources: tuple[str, ...]          # relative to the data root
    judged_dir: str | None = None     # BEIR dir with queries + qrels/test.tsv
    query_model: str = "test queries"
    replicas: int = 1
    replicated: bool = False
    approx_docs: int = 0
    sample: float | None = None       # keep a document when crc32(id) % 100000 < sample * 100000
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def judged(self) -> bool:
        return self.judged_dir is not None


CORPORA: dict[str, CorpusSpec] = {c.name: c for c in (
    CorpusSpec("cranfield", "Cranfield", ("classic/cranfield/corpus.jsonl.gz",), "classic/cranfield",
               "225 judged test queries", approx_docs=1_400),
    CorpusSpec("cisi", "CISI", ("classic/cisi/corpus.jsonl.gz",), "classic/cisi",
               "76 judged test queries", approx_docs=1_460),
    CorpusSpec("scifact", "SciFact (BEIR)", ("beir/scifact/corpus.jsonl.gz",), "beir/scifact",
               "300 BEIR test queries", approx_docs=5_183),
    CorpusSpec("lisa", "LISA", ("classic/lisa/corpus.jsonl.gz",), "classic/lisa",
               "35 judged test queries", approx_docs=5_999),
    CorpusSpec("imdb", "IMDb reviews (long docs)", (IMDB,), None,
               "first 12 words of seeded-sampled reviews", approx_docs=99_992),
    CorpusSpec("enwiki", "enwiki passages", (ENWIKI,), None,
               "seeded sample of article titles", approx_docs=107_280),
    CorpusSpec("blog", "Blog Authorship passages", (BLOG,), None,
               "first 12 words of seeded-sampled passages", approx_docs=300_133),
    CorpusSpec("replicated-1m", "1M REPLICATED (enwiki+IMDb+blog x2)", (ENWIKI, IMDB, BLOG), None,
               "seeded mix: 1/3 enwiki titles, 1/3 IMDb 12-word prefixes, 1/3 blog 12-word prefixes",
               replicas=2, replicated=True, approx_docs=1_014_810,
               notes=("Replicated corpus: the 507,405 real documents of enwiki + IMDb + blog, streamed twice; "
                      "copy 1 has ids suffixed '#r1'. Every text occurs twice, so document frequencies are "
                      "doubled and term statistics are not those of a real 1M corpus.",)),
    CorpusSpec("replicated-1m-sample", "1M REPLICATED, ~107k sample", (ENWIKI, IMDB, BLOG), None,
               "the queries of replicated-1m", replicas=2, replicated=True, approx_docs=106_851, sample=0.1057,
               notes=("A uniform sample of the replicated 1M corpus (crc32 of the id), with that corpus's queries: "
                      "beside it, the like-for-like base of cost growth (median latency at 1M / here).",)),
)}

#: a sample corpus -> the corpus it samples (the report's cost growth pairs them)
SAMPLE_OF = {"replicated-1m-sample": "replicated-1m"}

QUICK = ("scifact", "cranfield")
ALL = tuple(CORPORA)


def data_root(explicit: str | None = None) -> Path:
    for cand in (explicit, os.environ.get("HERON_DATA"), str(REPO.parent / "shared" / "data"),
                 str(REPO / "shared" / "data")):
        if cand and (Path(cand) / "README.md").exists():
            return Path(cand)
    raise FileNotFoundError("shared data not found: pass --data DIR or set HERON_DATA (expected ../shared/data)")


def manifest(spec: CorpusSpec, root: Path, limit: int | None = None) -> dict[str, Any]:
    """What a worker streams. A sampled corpus streams its documents from a file written once
    (:func:`sample_file`), so that every engine reads only the sample's documents: streaming the
    whole corpus and dropping nine in ten between the timed batches would give an engine that indexes
    in a background thread (tantivy) that time off the clock."""
    if spec.sample is not None:
        return {"sources": [str(sample_file(spec, root))], "replicas": 1, "limit": limit}
    return {"sources": [str(root / s) for s in spec.sources], "replicas": spec.replicas, "limit": limit}


def sample_file(spec: CorpusSpec, root: Path) -> Path:
    """``SAMPLES/<name>.jsonl.gz``: the documents of ``spec``'s sources and replicas that
    ``harness.in_sample`` keeps, with their final ids, in stream order; written once per data root."""
    path = SAMPLES / f"{spec.name}.jsonl.gz"
    stamp = path.with_name(path.name + ".source")
    source = json.dumps({"root": str(root), "sources": list(spec.sources), "replicas": spec.replicas,
                         "sample": spec.sample})
    if path.exists() and stamp.exists() and stamp.read_text() == source:
        return path
    SAMPLES.mkdir(parents=True, exist_ok=True)
    full = {"sources": [str(root / s) for s in spec.sources], "replicas": spec.replicas, "sample": spec.sample}
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as f:
        for doc_id, title, text in harness.iter_manifest_docs(full):
            f.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    tmp.replace(path)
    stamp.write_text(source)
    return path


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(r["query-id"], {})[r["corpus-id"]] = int(r["score"])
    return qrels


def _count_docs(src: Path) -> int:
    return sum(1 for _ in harness.iter_jsonl_gz(str(src)))


def _titles_and_prefixes(src: Path) -> tuple[list[str], list[str]]:
    titles, prefixes = [], []
    for d in harness.iter_jsonl_gz(str(src)):
        titles.append(d.get("title") or "")
        prefixes.append(harness.first_words(d.get("text") or "", 12))
    return titles, prefixes


def build_queries(spec: CorpusSpec, root: Path, n: int, seed: int) -> dict[str, Any]:
    """Queries (``[[qid, normalised text], ...]``), qrels (judged sets) and the document count."""
    if spec.judged:
        d = root / spec.judged_dir  # type: ignore[operator]
        texts = {x["_id"]: x["text"] for x in harness.iter_jsonl_gz(str(d / "queries.jsonl.gz"))}
        qrels = load_qrels(d / "qrels" / "test.tsv")
        qids = [q for q, rels in qrels.items() if any(v > 0 for v in rels.values()) and q in texts]
        return {"queries": [[q, harness.normalize_query(texts[q])] for q in qids],
                "raw": [texts[q] for q in qids],
                "qrels": {q: qrels[q] for q in qids},
                "n_docs": _count_docs(root / spec.sources[0])}
    raw: list[str] = []
    n_docs = 0
    if spec.name == "enwiki":
        titles, _ = _titles_and_prefixes(root / ENWIKI)
        n_docs = len(titles)
        raw = harness.sample_title_queries(titles, n, seed)
    elif spec.name in ("imdb", "blog"):
        _, prefixes = _titles_and_prefixes(root / spec.sources[0])
        n_docs = len(prefixes)
        raw = harness.sample_prefix_queries(prefixes, n, seed)
    elif spec.name in ("replicated-1m", "replicated-1m-sample"):
        parts = [n // 3, n // 3, n - 2 * (n // 3)]
        t, _ = _titles_and_prefixes(root / ENWIKI)
        _, pi = _titles_and_prefixes(root / IMDB)
        _, pb = _titles_and_prefixes(root / BLOG)
        n_docs = (len(t) + len(pi) + len(pb)) * spec.replicas
        if spec.sample is not None:
            n_docs = sum(1 for _ in harness.iter_jsonl_gz(str(sample_file(spec, root))))
        raw = (harness.sample_title_queries(t, parts[0], seed) + harness.sample_prefix_queries(pi, parts[1], seed + 1)
               + harness.sample_prefix_queries(pb, parts[2], seed + 2))
    else:
        raise KeyError(spec.name)
    width = len(str(max(1, len(raw) - 1)))
    return {"queries": [[f"{spec.name}-q{i:0{width}d}", harness.normalize_query(q)] for i, q in enumerate(raw)],
            "raw": raw, "qrels": None, "n_docs": n_docs}


def queries_cached(spec: CorpusSpec, root: Path, n: int, seed: int) -> dict[str, Any]:
    key = f"{spec.name}-n{n}-s{seed}.json" if not spec.judged else f"{spec.name}-test.json"
    path = CACHE / key
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("root") == str(root):
                return cached  # type: ignore[no-any-return]
        except (OSError, ValueError):
            pass
    out = build_queries(spec, root, n, seed)
    out["root"] = str(root)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.replace(path)
    return out


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    r = data_root(a.data)
    for s in CORPORA.values():
        q = queries_cached(s, r, a.queries, a.seed)
        print(f"{s.name:14s} docs={q['n_docs']:>9,} queries={len(q['queries']):>5}  e.g. {q['queries'][0][1]!r}")
