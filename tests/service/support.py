"""Shared data and helpers of the service tests (fixtures live in conftest.py)."""

from __future__ import annotations

from typing import Any

import heron
from heron.service import ApiKey, ServiceConfig

KEYS = {
    "search": "sk-search-0000",
    "write": "sk-write-00000",
    "admin": "sk-admin-00000",
}

DOCS: list[dict[str, Any]] = [
    {"id": "a", "title": "Grey heron", "url": "https://en.wikipedia.org/wiki/Grey_heron", "date": "2020-05-01",
     "last_updated": "2024-01-10", "language": "en", "metadata": {"topic": "birds", "year": 2020},
     "text": "# Grey heron\nThe grey heron is a long-legged wading bird of the heron family.\n\n"
             "## Behaviour\nIt hunts fish in shallow water. Herons migrate in winter."},
    {"id": "b", "title": "Bird migration", "url": "https://birds.example.org/migration", "date": "2021-03-10",
     "language": "en", "metadata": {"topic": "birds", "year": 2021},
     "text": "Many birds migrate south in winter, navigating by the stars."},
    {"id": "c", "title": "Domestic cat", "url": "https://cats.example.com/cat", "date": "2019-12-31",
     "language": "en", "metadata": {"topic": "mammals", "year": 2019},
     "text": "The cat is a small domesticated carnivorous mammal."},
    {"id": "d", "title": "Heron Island", "url": "https://www.travel.example.net/au/heron-island",
     "date": "2022-07-04", "language": "en", "metadata": {"topic": "places", "year": 2022},
     "text": "Heron Island is a coral cay in the Great Barrier Reef."},
    {"id": "e", "title": "Graureiher", "url": "https://de.wikipedia.org/wiki/Graureiher", "date": "2018-01-01",
     "language": "de", "metadata": {"topic": "birds", "year": 2018},
     "text": "Der Graureiher ist ein Vogel aus der Familie der Reiher."},
]

SETTINGS = heron.IndexSettings(
    filter_fields=(heron.FilterField("topic"), heron.FilterField("year", "numeric")),
)


def build_index(docs: list[dict[str, Any]] | None = None) -> heron.Index:
    idx = heron.Index.in_memory(SETTINGS)
    with idx.writer() as w:
        for d in DOCS if docs is None else docs:
            w.add(d)
    return idx


def keyed_config(**kw: Any) -> ServiceConfig:
    keys = tuple(ApiKey(scope, key, frozenset({scope})) for scope, key in KEYS.items())
    return ServiceConfig(api_keys=keys, warmup=False, **kw)


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[scope]}"}
