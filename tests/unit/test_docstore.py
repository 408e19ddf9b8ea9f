"""Stored-document blocks: the line layout, the older array layout, the byte-bounded cache."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
import zstandard

from heron.codec.store import KIND, StoreReader, write_store
from heron.errors import CorruptIndexError
from heron.storage.container import write_container
from heron.storage.memory import MemoryDirectory

DOCS = [{"id": str(i), "title": f"doc {i}", "text": "line one\nline two " * (i % 7), "n": i} for i in range(100)]


def test_line_layout_round_trips_every_document_and_merges_re_read_them() -> None:
    d = MemoryDirectory()
    write_store(d, "s.doc", [orjson.dumps(x) for x in DOCS])
    r = StoreReader(d, "s.doc")
    assert [r.get(i) for i in range(len(DOCS))] == DOCS
    assert [orjson.loads(x) for x in r.raw_records()] == DOCS
    r.get(5)["title"] = "changed by a caller"  # each read is a fresh dict: the cache is not mutated
    assert r.get(5)["title"] == "doc 5"


def test_a_record_with_a_raw_newline_is_stored_as_one_line() -> None:
    d = MemoryDirectory()
    pretty = orjson.dumps(DOCS[3], option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    write_store(d, "s.doc", [orjson.dumps(DOCS[0]), pretty, orjson.dumps(DOCS[1])])
    r = StoreReader(d, "s.doc")
    assert [r.get(i) for i in range(3)] == [DOCS[0], DOCS[3], DOCS[1]]


def test_older_array_layout_is_still_readable() -> None:
    d = MemoryDirectory()
    cctx = zstandard.ZstdCompressor()
    chunks = [cctx.compress(orjson.dumps(DOCS[i : i + 32])) for i in range(0, len(DOCS), 32)]
    offsets = np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    write_container(d, "old.doc", KIND, {"data": data, "offsets": offsets}, {"docs": len(DOCS), "docs_per_block": 32})
    r = StoreReader(d, "old.doc")
    assert [r.get(i) for i in range(len(DOCS))] == DOCS


def test_cache_stays_within_its_byte_budget() -> None:
    d = MemoryDirectory()
    write_store(d, "s.doc", [orjson.dumps(x) for x in DOCS])
    r = StoreReader(d, "s.doc", cache_bytes=1)  # at most one block is kept
    for i in range(len(DOCS)):
        assert r.get(i) == DOCS[i]
    assert len(r._cache) == 1


def test_undecodable_block_names_the_file() -> None:
    d = MemoryDirectory()
    garbage = np.frombuffer(b"not zstd at all", dtype=np.uint8)
    write_container(d, "bad.doc", KIND, {"data": garbage, "offsets": np.array([0, garbage.size], dtype=np.int64)},
                    {"docs": 1, "docs_per_block": 32, "layout": "lines"})
    with pytest.raises(CorruptIndexError, match=r"bad\.doc"):
        StoreReader(d, "bad.doc").get(0)
