"""Sharded vs single: with summed (global) statistics, every shard scores documents exactly as
one index holding all of them would, so a scatter-gather merge returns the same top-k."""

from __future__ import annotations

from typing import Any

import heron
from heron.search.stats import SummedStats


def test_sharded_scores_equal_single_index(tiny_docs: list[dict[str, Any]]) -> None:
    docs = [{**d, "id": f"{d['id']}{i}", "text": d["text"] + " filler" * (i % 5)} for i in range(20) for d in tiny_docs]
    single = heron.Index.in_memory()
    with single.writer() as w:
        for d in docs:
            w.add(d)
    shards = [heron.Index.in_memory(), heron.Index.in_memory()]
    for n, shard in enumerate(shards):
        with shard.writer() as w:
            for i, d in enumerate(docs):
                if i % 2 == n:
                    w.add(d)
    searchers = [s.searcher() for s in shards]
    global_stats = SummedStats([s.stats for s in searchers])
    bound = [s.with_stats(global_stats) for s in searchers]
    for q in ["heron", "bird migration filler", "cat reef island", "graureiher"]:
        want = {h.id: h.score for h in single.search(q, k=200)}
        got: dict[str, float] = {}
        for s in bound:
            got.update({h.id: h.score for h in s.search(q, k=200)})
        assert got == want
        # local statistics alone would not agree (that is what the provider is for)
        local = {h.id: h.score for s in searchers for h in s.search(q, k=200)}
        assert local.keys() == want.keys()
        if len(want) > 1:
            assert local != want
