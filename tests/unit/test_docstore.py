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


def _store(d: MemoryDirectory, name: str, docs: list[dict[str, object]]) -> StoreReader:
    write_store(d, name, [orjson.dumps(x) for x in docs])
    return StoreReader(d, name)


def test_copy_live_copies_whole_live_blocks_compressed_and_reblocks_the_rest() -> None:
    """A merge's store: blocks whose documents all live are taken as they are (not decoded);
    blocks with deletes give their live records, blocked anew; blocks of the older array layout
    are always decoded. The result reads back as the live documents in order, whichever mix."""
    from heron.codec.store import DOCS_PER_BLOCK, StoreBuilder

    d = MemoryDirectory()
    a = _store(d, "a.doc", DOCS[:70])  # blocks of 32, 32, 6
    b = _store(d, "b.doc", DOCS[70:])  # 30 documents: one short block
    cctx = zstandard.ZstdCompressor()
    old = [DOCS[i] for i in range(40)]
    chunks = [cctx.compress(orjson.dumps(old[i : i + 32])) for i in range(0, 40, 32)]
    write_container(d, "old.doc", KIND, {"data": np.frombuffer(b"".join(chunks), dtype=np.uint8),
                                         "offsets": np.cumsum([0] + [len(c) for c in chunks]).astype(np.int64)},
                    {"docs": 40, "docs_per_block": 32})
    arr = StoreReader(d, "old.doc")
    rng = np.random.default_rng(7)
    for trial in range(30):
        keeps = [np.ones(70, bool), np.ones(30, bool), np.ones(40, bool)] if trial == 0 else \
            [rng.random(n) < rng.choice([0.3, 0.9, 1.0]) for n in (70, 30, 40)]
        out = StoreBuilder()
        for src, keep in zip((a, b, arr), keeps, strict=True):
            src.copy_live(out, keep)
        want = [x for x, k in zip(DOCS[:70], keeps[0], strict=True) if k] + \
            [x for x, k in zip(DOCS[70:], keeps[1], strict=True) if k] + [x for x, k in zip(old, keeps[2], strict=True) if k]
        name = f"m{trial}.doc"
        out.write(d, name)
        m = StoreReader(d, name)
        assert m.docs == len(want)
        assert [m.get(i) for i in range(len(want))] == want
        assert [orjson.loads(x) for x in m.raw_records()] == want
        whole = sum(int(k[s : s + DOCS_PER_BLOCK].all()) for src, k in zip((a, b), keeps[:2], strict=True)
                    for s in range(0, len(k), DOCS_PER_BLOCK))
        assert out.copied_blocks == whole  # exactly the all-live blocks of line-layout stores
    assert m._variable or out.copied_blocks == 0


def test_a_store_of_full_blocks_keeps_the_fixed_layout() -> None:
    """Only a store with short blocks inside needs its block table: the plain writer's files
    (every block full but the last) are the same bytes as before the table existed."""
    from heron.codec.store import StoreBuilder

    d = MemoryDirectory()
    src = _store(d, "a.doc", DOCS[:64])
    out = StoreBuilder()
    src.copy_live(out, np.ones(64, bool))
    out.add_records([orjson.dumps(x) for x in DOCS[64:]])
    out.write(d, "m.doc")
    assert out.copied_blocks == 2
    write_store(d, "plain.doc", [orjson.dumps(x) for x in DOCS])
    assert bytes(d.open_input("m.doc")) == bytes(d.open_input("plain.doc"))
    assert not StoreReader(d, "m.doc")._variable


def test_a_block_table_that_does_not_add_up_is_corruption() -> None:
    d = MemoryDirectory()
    cctx = zstandard.ZstdCompressor()
    chunks = [cctx.compress(b"\n".join(orjson.dumps(x) for x in DOCS[:3])), cctx.compress(orjson.dumps(DOCS[3]))]
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    offsets = np.array([0, len(chunks[0]), len(data)], dtype=np.int64)
    meta = {"docs": 4, "docs_per_block": 32, "layout": "lines"}
    good = np.array([0, 3, 4], dtype=np.int64)
    write_container(d, "ok.doc", KIND, {"data": data, "offsets": offsets, "first": good}, meta)
    assert [StoreReader(d, "ok.doc").get(i) for i in range(4)] == DOCS[:4]
    with pytest.raises(CorruptIndexError, match=r"ok\.doc.*no stored document 4"):
        StoreReader(d, "ok.doc").get(4)  # a document its segment has and the store lacks
    for bad in ([0, 3, 5], [0, 4, 4], [1, 3, 4], [0, 4]):
        write_container(d, "bad.doc", KIND, {"data": data, "offsets": offsets, "first": np.array(bad, np.int64)}, meta)
        with pytest.raises(CorruptIndexError, match=r"bad\.doc.*block table"):
            StoreReader(d, "bad.doc")
    # a table that adds up but disagrees with a block's content: found at the first read of it
    write_container(d, "bad.doc", KIND, {"data": data, "offsets": offsets, "first": np.array([0, 2, 4], np.int64)}, meta)
    r = StoreReader(d, "bad.doc")
    with pytest.raises(CorruptIndexError, match=r"bad\.doc.*block 0 holds 3 documents, not 2"):
        r.get(0)
