"""Snippet cost per document: the reference (``scorer=score_passages``) vs the fast path.

Usage::

    python benchmarks/snippets_speed.py            # SciFact, the hits of the first 300 queries

Builds the snippets the service builds (BM25 top-10 per query, default budget of 1,024 tokens
per page) and reports CPU microseconds per document for: the reference; the fast path with
warm caches (documents seen before); with the document cache emptied (chunks known, documents
new: a long-running server meeting a new document); and with an empty matcher (a fresh
process). Each figure is the best of 3 passes (``time.process_time``); on a shared machine
the absolute numbers move, the ratios much less.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> int:
    import loadtest

    import heron
    from heron.service.searching import SNIPPET_FIELD, query_terms, snippet_analyzer
    from heron.snippets import build_snippet, query_term_weights, score_passages
    from heron.snippets.fast import matcher_for

    n_queries = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    idx = heron.Index.open(loadtest.build_scifact_index())
    s = idx.searcher()
    a = snippet_analyzer(s)
    work = []
    for q in loadtest.load_queries(loadtest.SCIFACT / "queries.jsonl.gz")[:n_queries]:
        terms = query_term_weights(query_terms(s.parse(q, "or"), a))
        work += [(str((h.fields or {}).get(SNIPPET_FIELD) or ""), terms) for h in s.search(q, 10)]
    matcher = matcher_for(a)

    def best(fn: Callable[[], object], before: Callable[[], object] = lambda: None) -> float:
        times = []
        for _ in range(3):
            before()
            t0 = time.process_time()
            fn()
            times.append(time.process_time() - t0)
        return min(times) / len(work) * 1e6

    def ref() -> None:
        for text, q in work:
            build_snippet(text, a, q, 1024, scorer=score_passages)

    def fast() -> None:
        for text, q in work:
            build_snippet(text, a, q, 1024)

    assert all(build_snippet(t, a, q, 1024) == build_snippet(t, a, q, 1024, scorer=score_passages) for t, q in work)
    rows = [("reference", best(ref)), ("fast, empty matcher (fresh process)", best(fast, matcher.clear))]
    fast()
    rows.append(("fast, new documents (chunks known)", best(fast, matcher.forget_documents)))
    fast()
    rows.append(("fast, warm", best(fast)))
    print(f"{len(work)} documents ({n_queries} SciFact queries x top 10), CPU µs per document:\n")
    print("| path | µs/doc | vs reference |\n|---|---:|---:|")
    for name, us in rows:
        print(f"| {name} | {us:.0f} | {rows[0][1] / us:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
