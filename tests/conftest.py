"""Shared fixtures: the shared-data location, tiny corpora, memory-directory indexes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import heron
from heron import kernels
from heron.index.process_writer import prestart

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.data`` tests skip without ../shared/data, or fail when HERON_REQUIRE_DATA=1."""
    if item.get_closest_marker("data") is None or SHARED_DATA.is_dir():
        return
    if os.environ.get("HERON_REQUIRE_DATA") == "1":
        pytest.fail(f"HERON_REQUIRE_DATA=1 but shared data is missing at {SHARED_DATA}")
    pytest.skip(f"needs shared data at {SHARED_DATA}")


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels() -> None:
    """Compile every numba kernel once before any test (or load it from numba's cache). On a fresh
    checkout the first compile takes tens of seconds on 2 cores, which must not be charged to a
    test that runs searches under a request deadline (the service warms up at start the same way)."""
    kernels.warmup()
    prestart()  # the forkserver that indexer processes (service writers) fork from, warm


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("HERON_REQUIRE_DATA") == "1":
            pytest.fail(f"HERON_REQUIRE_DATA=1 but shared data is missing at {SHARED_DATA}")
        pytest.skip(f"needs shared data at {SHARED_DATA}")
    return SHARED_DATA


TINY = [
    {"id": "a", "title": "Grey heron", "text": "The grey heron is a long-legged wading bird of the heron family.",
     "url": "https://en.wikipedia.org/wiki/Grey_heron", "date": "2020-05-01", "language": "en"},
    {"id": "b", "title": "Bird migration", "text": "Many birds migrate south in winter, navigating by the stars.",
     "url": "https://birds.example.org/migration", "date": "2021-03-10", "language": "en"},
    {"id": "c", "title": "Domestic cat", "text": "The cat is a small domesticated carnivorous mammal.",
     "url": "https://cats.example.com/cat", "date": "2019-12-31", "language": "en"},
    {"id": "d", "title": "Heron Island", "text": "Heron Island is a coral cay in the Great Barrier Reef.",
     "url": "https://www.travel.example.net/au/heron-island", "date": "2022-07-04", "language": "en"},
    {"id": "e", "title": "Graureiher", "text": "Der Graureiher ist ein Vogel aus der Familie der Reiher.",
     "url": "https://de.wikipedia.org/wiki/Graureiher", "date": "2018-01-01", "language": "de"},
]


@pytest.fixture
def tiny_docs() -> list[dict[str, Any]]:
    return [dict(d) for d in TINY]


@pytest.fixture
def make_index() -> Callable[..., heron.Index]:
    def make(docs: Iterable[dict[str, Any]], settings: heron.IndexSettings | None = None) -> heron.Index:
        idx = heron.Index.in_memory(settings)
        with idx.writer() as w:
            for d in docs:
                w.add(d)
        return idx

    return make
