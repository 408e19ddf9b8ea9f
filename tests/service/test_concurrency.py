"""Many concurrent searches while documents are rewritten, all through the HTTP API.

A writer replaces the same 10 documents batch after batch (one NDJSON bulk request per
generation, refreshed); searchers query all the time. Every answer must be a 200, and
every search must see one consistent snapshot: exactly the 10 documents, all from the same
generation (a bulk request is atomic), the same one for every query of a multi-query
request, and never older than what the same searcher saw before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import pytest

from heron.service import ServiceConfig, create_app

from .live import LiveServer, serve
from .support import SETTINGS, build_index

N_DOCS = 10
GENERATIONS = 15
SEARCHERS = 4
IDS = [f"doc{i}" for i in range(N_DOCS)]


def batch(gen: int) -> bytes:
    return b"\n".join(orjson.dumps({"id": i, "title": f"gen {gen}", "url": f"https://example.org/{i}",
                                    "text": f"marker document {i} generation g{gen}"}) for i in IDS)


@pytest.fixture
def live() -> Iterator[LiveServer]:
    idx = build_index([orjson.loads(line) for line in batch(0).split(b"\n")])
    assert idx.settings == SETTINGS
    app = create_app(ServiceConfig(warmup=False, access_log=False, refresh_interval_s=0.05,
                                     rate_limit_rps=1e6, rate_limit_burst=1_000_000), {"t": idx})
    with serve(app) as s:
        yield s


def test_searches_during_bulk_rewrites_see_consistent_snapshots(live: LiveServer) -> None:
    done = threading.Event()
    generations_seen: set[int] = set()
    searching = threading.Barrier(SEARCHERS + 1)  # writes start once every searcher has answered once

    def write() -> int:
        searching.wait(timeout=60)
        with httpx.Client(base_url=live.url, timeout=30) as c:
            for gen in range(1, GENERATIONS + 1):
                r = c.post("/v1/indexes/t/documents", params={"refresh": gen % 2 == 0}, content=batch(gen),
                           headers={"content-type": "application/x-ndjson"})
                assert r.status_code == 200, r.text
                assert r.json()["accepted"] == N_DOCS and r.json()["failed"] == 0
        done.set()
        return GENERATIONS

    def search() -> int:
        seen, last = 0, 0
        with httpx.Client(base_url=live.url, timeout=30) as c:
            while not done.is_set() or seen < 5:
                r = c.post("/search", json={"query": ["marker", "document marker"], "max_results": 20,
                                            "snippets": False})
                assert r.status_code == 200, r.text
                gens = set()
                for results in r.json()["results"]:
                    assert sorted(x["doc_id"] for x in results) == IDS
                    gens |= {x["title"] for x in results}
                assert len(gens) == 1, f"mixed generations in one answer: {gens}"
                gen = int(gens.pop().split()[1])
                assert gen >= last, f"went back from generation {last} to {gen}"
                last = gen
                generations_seen.add(gen)
                stats = c.get("/v1/indexes/t")
                assert stats.status_code == 200 and stats.json()["doc_count"] == N_DOCS
                seen += 1
                if seen == 1:
                    searching.wait(timeout=60)
        return seen

    with ThreadPoolExecutor(SEARCHERS + 1) as pool:
        writer = pool.submit(write)
        searchers = [pool.submit(search) for _ in range(SEARCHERS)]
        assert writer.result(timeout=120) == GENERATIONS
        counts = [f.result(timeout=120) for f in searchers]
    assert all(n >= 5 for n in counts)
    assert len(generations_seen) >= 3, f"searches did not overlap the writes: {generations_seen}"
    with httpx.Client(base_url=live.url) as c:
        assert c.post("/v1/indexes/t/refresh").status_code == 200
        final = c.post("/search", json={"query": "marker", "max_results": 20}).json()["results"]
    assert {x["title"] for x in final} == {f"gen {GENERATIONS}"} and len(final) == N_DOCS
