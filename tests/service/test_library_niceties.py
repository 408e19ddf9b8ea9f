"""Library pieces the service relies on: ``heron.make_document`` is public, and ``Index.stats``
is computed once per snapshot (metrics scrapes and status pages call it often)."""

from __future__ import annotations

from typing import Any

import pytest

import heron

from .support import SETTINGS, build_index


def test_make_document_is_exported() -> None:
    doc = heron.make_document({"_id": 7, "title": "T", "text": "x", "extra": 1}, SETTINGS)
    assert isinstance(doc, heron.Document) and doc.id == "7"
    with pytest.raises(heron.DocumentError, match="missing 'id'"):
        heron.make_document({"text": "x"}, SETTINGS)


def test_stats_cached_per_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    idx = build_index()
    listed = 0
    real_list = idx.directory.list

    def counting_list() -> Any:
        nonlocal listed
        listed += 1
        return real_list()

    monkeypatch.setattr(idx.directory, "list", counting_list)
    first = idx.stats()
    assert idx.stats() is first and listed == 1  # no second walk over the files
    with idx.writer() as w:
        w.add({"id": "new", "title": "N", "text": "another heron"})
    idx.refresh()
    listed = 0
    after = idx.stats()
    assert after.doc_count == first.doc_count + 1 and after.generation > first.generation
    assert listed == 1 and idx.stats() is after  # recomputed once for the new snapshot
