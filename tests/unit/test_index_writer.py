"""Writer and index lifecycle: add/replace/delete, commit visibility, rollback, locks, merges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import heron
from heron import DocumentError, IndexExistsError, IndexNotFoundError, LockError


def ids(hits: list[heron.Hit]) -> list[str]:
    return [h.id for h in hits]


def test_add_search_get(make_index: Callable[..., heron.Index], tiny_docs: list[dict[str, Any]]) -> None:
    idx = make_index(tiny_docs)
    hits = idx.search("heron", k=10)
    assert set(ids(hits)) == {"a", "d"}
    assert hits[0].fields is not None and hits[0].title
    assert idx.get("c") is not None and idx.get("c")["title"] == "Domestic cat"  # type: ignore[index]
    assert idx.get("zzz") is None
    assert idx.stats().doc_count == 5


def test_changes_invisible_until_commit_and_rollback_discards(tiny_docs: list[dict[str, Any]]) -> None:
    idx = heron.Index.in_memory()
    w = idx.writer()
    for d in tiny_docs:
        w.add(d)
    w.flush()
    assert idx.search("heron") == []
    w.rollback()
    w.commit()
    assert idx.stats().doc_count == 0
    w.add(tiny_docs[0])
    w.commit()
    w.close()
    assert ids(idx.search("heron")) == ["a"]


def test_exception_in_writer_context_rolls_back(tiny_docs: list[dict[str, Any]]) -> None:
    idx = heron.Index.in_memory()
    with pytest.raises(RuntimeError), idx.writer() as w:
        w.add(tiny_docs[0])
        raise RuntimeError("boom")
    assert idx.stats().doc_count == 0
    with idx.writer() as w:  # the lock was released
        w.add(tiny_docs[1])
    assert idx.stats().doc_count == 1


def test_replace_and_delete_across_segments(tiny_docs: list[dict[str, Any]]) -> None:
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        for d in tiny_docs:
            w.add(d)
    with idx.writer() as w:
        w.add({"id": "c", "title": "Heron cat", "text": "a cat that hunts like a heron"})
        assert w.delete("a")
        assert not w.delete("nope")
    got = ids(idx.search("heron", k=10))
    assert "a" not in got and "c" in got and "d" in got
    assert idx.get("c")["title"] == "Heron cat"  # type: ignore[index]
    st = idx.stats()
    # 2 of the first segment's 5 docs are gone: over the 30 % threshold, so it was rewritten
    assert st.doc_count == 4 and st.deleted_count == 0


def test_replace_within_one_buffer() -> None:
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        w.add({"id": "x", "text": "first version apples"})
        w.add({"id": "x", "text": "second version pears"})
    assert ids(idx.search("apples")) == []
    assert ids(idx.search("pears")) == ["x"]
    assert idx.stats().doc_count == 1


def test_one_writer_at_a_time() -> None:
    idx = heron.Index.in_memory()
    w = idx.writer()
    with pytest.raises(LockError):
        idx.writer()
    w.close()
    idx.writer().close()


def test_bad_documents_get_clear_errors_and_lose_nothing(tiny_docs: list[dict[str, Any]]) -> None:
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        w.add(tiny_docs[0])
    bad_docs: list[Any] = [
        {"title": "no id"},
        {"id": ["x"]},
        {"id": "x", "text": 5},
        {"id": "x", "date": "yesterday"},
        {"id": "x", "metadata": [1]},
        {"id": "a\x00b"},
        "not an object",
    ]
    for bad in bad_docs:
        with idx.writer() as w, pytest.raises(DocumentError):
            w.add(bad, source="input.jsonl:7")
    assert ids(idx.search("heron")) == ["a"]


def test_fs_index_create_open_and_errors(tmp_path: Path, tiny_docs: list[dict[str, Any]]) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        for d in tiny_docs:
            w.add(d)
    with pytest.raises(IndexExistsError):
        heron.Index.create(p)
    with pytest.raises(IndexNotFoundError):
        heron.Index.open(tmp_path / "missing")
    again = heron.Index.open(p)
    assert ids(again.search("cat")) == ["c"]


def test_corrupt_segment_file_raises_naming_the_file(tmp_path: Path, tiny_docs: list[dict[str, Any]]) -> None:
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    with idx.writer() as w:
        for d in tiny_docs:
            w.add(d)
    seg = next(p.glob("*.seg"))
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0x55
    seg.write_bytes(bytes(data))
    with pytest.raises(heron.CorruptIndexError) as e:
        heron.Index.open(p).search("heron")
    assert seg.name in str(e.value)


def test_corrupt_manifest(tmp_path: Path) -> None:
    p = tmp_path / "idx"
    heron.Index.create(p)
    m = p / "manifest.json"
    m.write_text(m.read_text().replace('"generation": 0', '"generation": 7'))
    with pytest.raises(heron.CorruptIndexError, match="manifest"):
        heron.Index.open(p)


def test_merges_preserve_results_and_drop_deletes(tiny_docs: list[dict[str, Any]]) -> None:
    """Many segments with deletes, force-merged, score exactly like a fresh index of the survivors."""
    idx = heron.Index.in_memory()
    all_docs = [{**d, "id": f"{d['id']}{i}"} for i in range(40) for d in tiny_docs]
    w = idx.writer()
    for n, d in enumerate(all_docs):
        w.add(d)
        if n % 17 == 16:
            w.commit(merge=False)
    w.commit(merge=False)
    dead = {f"a{i}" for i in range(0, 40, 3)} | {f"d{i}" for i in range(0, 40, 7)}
    for x in sorted(dead):
        w.delete(x)
    w.commit(merge=False)
    assert idx.stats().segment_count > 5 and idx.stats().deleted_count == len(dead)
    w.force_merge(1)
    w.close()
    st = idx.stats()
    assert st.segment_count == 1 and st.deleted_count == 0 and st.doc_count == len(all_docs) - len(dead)
    fresh = heron.Index.in_memory()
    with fresh.writer() as fw:
        for d in all_docs:
            if d["id"] not in dead:
                fw.add(d)
    for q in ["heron", "cat mammal", "bird migration stars", "reef island heron", "graureiher vogel"]:
        got = [(h.id, h.score) for h in idx.search(q, k=100)]
        want = [(h.id, h.score) for h in fresh.search(q, k=100)]
        assert got == want and got


def test_merged_stored_documents_equal_a_fresh_index(tiny_docs: list[dict[str, Any]]) -> None:
    """Merges copy whole live blocks of stored documents compressed and re-block the others:
    after merges of merges, with deletes in some blocks, every document reads back as in an
    index that never merged."""
    idx = heron.Index.in_memory()
    fresh = heron.Index.in_memory()
    docs = [{**d, "id": f"{d['id']}{i}", "text": f"{d['text']} n{i}"} for i in range(60) for d in tiny_docs]
    w = idx.writer()
    dead: set[str] = set()
    for rnd in range(3):
        for n, d in enumerate(docs[rnd * 100 : (rnd + 1) * 100]):
            w.add(d)
            if n % 70 == 69:
                w.commit(merge=False)
        w.commit(merge=False)
        for x in [d["id"] for d in docs[rnd * 100 : (rnd + 1) * 100 : 41]]:
            w.delete(x)
            dead.add(x)
        w.commit(merge=False)
        w.force_merge(1)  # the second and third rounds merge a merged segment again
    w.close()
    with fresh.writer() as fw:
        for d in docs[:300]:
            if d["id"] not in dead:
                fw.add(d)
    assert idx.stats().segment_count == 1 and idx.stats().doc_count == 300 - len(dead)
    for d in docs[:300]:
        assert idx.get(d["id"]) == fresh.get(d["id"])
    got = [(h.id, h.fields) for h in idx.search("heron bird n7", k=50)]
    assert got and got == [(h.id, h.fields) for h in fresh.search("heron bird n7", k=50)]


def test_segmented_search_equals_single_segment(tiny_docs: list[dict[str, Any]]) -> None:
    """Differential: the cross-segment top-k (with threshold hand-over) == one merged segment."""
    docs = [{**d, "id": f"{d['id']}{i}", "text": d["text"] + " extra" * (i % 4)} for i in range(30) for d in tiny_docs]
    many = heron.Index.in_memory()
    w = many.writer()
    for n, d in enumerate(docs):
        w.add(d)
        if n % 11 == 10:
            w.commit(merge=False)
    w.commit(merge=False)
    w.close()
    one = heron.Index.in_memory()
    with one.writer() as w1:
        for d in docs:
            w1.add(d)
        w1.force_merge(1)
    assert many.stats().segment_count > 5 and one.stats().segment_count == 1
    for q in ["heron", "cat", "bird stars extra", "island reef", "extra"]:
        for k in (1, 5, 40):
            for algorithm in ("maxscore", "exhaustive"):
                a = [(h.id, h.score) for h in many.search(q, k=k, algorithm=algorithm)]
                b = [(h.id, h.score) for h in one.search(q, k=k, algorithm=algorithm)]
                assert a == b


def test_merge_policy_keeps_segment_count_bounded(tiny_docs: list[dict[str, Any]]) -> None:
    idx = heron.Index.in_memory()
    for i in range(25):
        with idx.writer() as w:
            w.add({**tiny_docs[i % 5], "id": str(i)})
    assert idx.stats().segment_count < 10
    assert idx.stats().doc_count == 25


def test_reader_snapshot_survives_concurrent_merge(tmp_path: Path, tiny_docs: list[dict[str, Any]]) -> None:
    """A searcher opened before a merge keeps answering from its snapshot after the merged-away
    files are deleted; a new searcher sees the merged index."""
    p = tmp_path / "idx"
    idx = heron.Index.create(p)
    w = idx.writer()
    for i in range(6):
        for d in tiny_docs:
            w.add({**d, "id": f"{d['id']}{i}"})
        w.commit(merge=False)
    reader_idx = heron.Index.open(p)
    old = reader_idx.searcher()
    before = [(h.id, h.score) for h in old.search("heron", k=20)]
    n_before = len(list(p.glob("*.seg")))
    w.force_merge(1)
    w.close()
    assert len(list(p.glob("*.seg"))) == 1 < n_before
    assert [(h.id, h.score) for h in old.search("heron", k=20)] == before  # old snapshot still works
    reader_idx.refresh()
    assert reader_idx.stats().segment_count == 1
    assert [(h.id, h.score) for h in reader_idx.search("heron", k=20)] == before  # same stats, same order


def test_add_parallel_equals_serial_build(tmp_path: Path) -> None:
    """Worker-process segment building (several chunks, ids replaced across chunks) answers
    exactly like a serial build of the same documents."""
    docs = [{"id": f"d{i % 450}", "title": f"t{i % 5}", "text": f"word{i % 17} shared {i} v{i // 450}"} for i in range(500)]
    serial = heron.Index.create(tmp_path / "serial")
    with serial.writer() as w:
        for d in docs:
            w.add(d)
        w.force_merge(1)
    par = heron.Index.create(tmp_path / "par")
    with par.writer() as w:
        assert w.add_parallel(docs, processes=2, chunk_docs=120) == 500
        w.force_merge(1)
    assert par.stats().doc_count == serial.stats().doc_count == 450
    for q in ["word3 shared", "t1", "v1", "shared"]:
        assert sorted((h.id, h.score) for h in par.search(q, k=500)) == sorted(
            (h.id, h.score) for h in serial.search(q, k=500)
        )


def test_term_lookups_find_every_term_of_the_sorted_dictionary(tmp_path: Path) -> None:
    """``SegmentReader.term_ords`` (through the dictionary's hash table; no Python dictionary)
    gives each term its ordinal in ``term_list()`` and -1 to absent terms — multi-byte
    characters, prefixes and neighbours included — as does the binary search of the UTF-8
    dictionary bytes, with both kernel backends, on a segment read from disk (read-only
    arrays); both backends build the same table."""
    from heron.index.segment import encode_terms
    from heron.kernels import compiled, reference

    words = [f"w{i:05d}" for i in range(700)] + ["ünïcödé", "中文", "z", "zz", "bb", "éa", "q", "ｆｕｌｌ"]
    idx = heron.Index.create(tmp_path / "i")
    with idx.writer() as w:
        for i in range(0, len(words), 40):
            w.add({"id": str(i), "text": " ".join(words[i:i + 40])})
    reader = idx.searcher().segments[0].reader
    terms = reader.term_list()
    assert terms == sorted(terms) and len(terms) > 700
    absent = ["", "w", "w0000", "w007000", "zzz", "中", "ünïcöd", "\U0001f600", "a" * 300, "\ud800", "bb\x00"]
    assert not set(absent) & set(terms)
    queries = terms[::-1] + absent
    want = [terms.index(t) if t in terms else -1 for t in queries]
    assert reader.term_ords(queries).tolist() == want
    q = encode_terms(queries)
    table = compiled.term_hash_table(reader._terms_blob, reader._terms_off)
    assert table.tolist() == reference.term_hash_table(reader._terms_blob, reader._terms_off).tolist()
    assert len(table) >= 2 * len(terms) and sorted(t for t in table.tolist() if t >= 0) == list(range(len(terms)))
    assert reference.lookup_terms(reader._terms_blob, reader._terms_off, q).tolist() == want
    for k in (compiled, reference):
        got = k.lookup_terms_hashed(reader._terms_blob, reader._terms_off, table, q)
        assert got.tolist() == want, k.__name__
    assert [reader.term_ord(t) for t in ("bb", "zzz")] == [terms.index("bb"), -1]


def test_live_writers_merge_in_smaller_groups_than_transactions(tmp_path: Path) -> None:
    """Live writers (searches run while they write) use the live merge policy; transactions the default."""
    from heron.index.merge import LIVE_MERGE_POLICY, TieredMergePolicy

    idx = heron.Index.create(tmp_path / "i")
    with idx.writer() as tx:
        assert tx._policy == TieredMergePolicy()
    live = idx.writer(durability="request", refresh_interval_s=None)
    try:
        assert live._policy == LIVE_MERGE_POLICY
        assert LIVE_MERGE_POLICY.merge_factor < TieredMergePolicy().merge_factor
        for i in range(6):  # six small committed segments: the live policy folds four of them
            live.add({"id": str(i), "text": f"heron {i}"})
            live.commit(merge=False)
        assert len(idx.searcher().segments) == 6
        live.maybe_merge()
        assert len(idx.searcher().segments) == 3
        assert {h.id for h in idx.search("heron", k=10)} == {str(i) for i in range(6)}
    finally:
        live.close()


def test_matching_ids_are_the_live_documents_passing_the_filters() -> None:
    from heron.search.filters import SearchFilters

    idx = heron.Index.in_memory()
    docs = [
        {"id": "a", "text": "x", "url": "https://en.wikipedia.org/a", "date": "2020-01-02", "language": "en"},
        {"id": "b", "text": "x", "url": "https://de.wikipedia.org/b", "date": "2021-01-02", "language": "de"},
        {"id": "c", "text": "x", "url": "https://example.com/c", "date": "2022-01-02", "language": "en"},
    ]
    with idx.writer() as w:
        w.add_many(docs[:2])
    with idx.writer() as w:  # a second segment, and a deleted document in the first
        w.add(docs[2])
        w.delete("b")
    s = idx.searcher()
    assert len(s.segments) == 2
    assert s.matching_ids(SearchFilters(domains=["wikipedia.org"])) == ["a"]
    assert sorted(s.matching_ids(SearchFilters(languages=["en"]))) == ["a", "c"]
    assert s.matching_ids(SearchFilters(domains=["-wikipedia.org"], published_after="2021-06-01")) == ["c"]
    with pytest.raises(heron.QueryError, match="no filter"):
        s.matching_ids(SearchFilters())


def test_the_memory_budget_flushes_before_the_document_count() -> None:
    """``writer_buffer_mb`` bounds the buffer's estimated RAM: 1 MiB of buffered text and ids
    flushes segments long before ``writer_buffer_docs``, and the index is the same."""
    docs = [{"id": f"doc-{i}", "title": f"title {i % 97}", "text": f"word{i} " * 30 + "heron " * (i % 5)}
            for i in range(6000)]
    small = heron.Index.in_memory(heron.IndexSettings(writer_buffer_mb=1))
    big = heron.Index.in_memory(heron.IndexSettings())
    for idx in (small, big):
        w = idx.writer()
        for d in docs:
            w.add(d)
        w.commit(merge=False)
        w.close()
    assert big.stats().segment_count == 1
    assert small.stats().segment_count > 2
    for q in ["heron", "word17 title", "title 5"]:
        assert [(h.id, h.score) for h in small.search(q, k=50)] == [(h.id, h.score) for h in big.search(q, k=50)]
    with pytest.raises(heron.ConfigError, match="writer_buffer_mb must be >= 1"):
        heron.IndexSettings(writer_buffer_mb=0)
    assert heron.IndexSettings.from_dict(heron.IndexSettings(writer_buffer_mb=7).to_dict()).writer_buffer_mb == 7
    # the default is not written, so indexes that keep it stay readable by earlier versions
    assert "writer_buffer_mb" not in heron.IndexSettings().to_dict()
    assert heron.IndexSettings.from_dict(heron.IndexSettings().to_dict()).writer_buffer_mb == 256


def test_fielded_merges_keep_every_field_list(tiny_docs: list[dict[str, Any]]) -> None:
    """Merging segments of a title + text index (two posting lists per term) scores exactly
    like one segment built at once, deletes dropped."""
    settings = heron.IndexSettings.fielded(store_documents=False)
    docs = [{**d, "id": f"{d['id']}{i}", "title": f"{d.get('title', '')} {i % 3}"} for i in range(12)
            for d in tiny_docs]
    merged = heron.Index.in_memory(settings)
    w = merged.writer()
    for n, d in enumerate(docs):
        w.add(d)
        if n % 7 == 6:
            w.commit(merge=False)
    w.delete(docs[3]["id"])
    w.commit(merge=False)
    assert merged.stats().segment_count > 3
    w.force_merge(1)
    w.close()
    fresh = heron.Index.in_memory(settings)
    with fresh.writer() as fw:
        for d in docs:
            if d["id"] != docs[3]["id"]:
                fw.add(d)
    assert merged.stats().segment_count == 1
    for q in ["heron", "title:heron", "cat 1", "bird 2 migration"]:
        got = [(h.id, h.score) for h in merged.search(q, k=100, fields=False)]
        assert got == [(h.id, h.score) for h in fresh.search(q, k=100, fields=False)] and got


def test_add_many_validates_every_document_before_adding_any() -> None:
    idx = heron.Index.in_memory()
    with idx.writer() as w:
        assert w.add_many([{"id": "a", "text": "heron"}, {"id": "b", "text": "egret"}]) == 2
        with pytest.raises(DocumentError, match="missing 'id'"):
            w.add_many([{"id": "c", "text": "stork"}, {"text": "no id"}])
    assert sorted(h.id for h in idx.search("heron egret stork")) == ["a", "b"]


@pytest.mark.parametrize("fielded", [False, True])
def test_bulk_adds_build_the_same_index_as_single_adds(fielded: bool) -> None:
    """Differential: ``add_many`` (column-wise batches) and ``add`` one document at a time give
    the same documents, columns and scores — with ids repeated inside a batch and across batches,
    stored documents, dates, urls, a date filter field, and a buffer that flushes mid-batch."""
    filt = (heron.FilterField("published", "date"), heron.FilterField("tag", "keyword"))
    kw: dict[str, Any] = {"writer_buffer_docs": 7, "filter_fields": filt}
    settings = heron.IndexSettings.fielded(**kw) if fielded else heron.IndexSettings(**kw)
    docs = [{"id": f"d{i % 23}", "title": f"title {i % 5}", "text": f"heron egret {i} marsh {i % 3}",
             **({"url": f"https://site{i % 4}.example.org/a/{i}", "date": f"2024-01-{1 + i % 28:02d}"} if i % 2 else {}),
             **({"metadata": {"published": "2023-05-06", "tag": ["x", f"t{i % 3}"]}} if i % 3 == 0 else {})}
            for i in range(60)]
    one, bulk = heron.Index.in_memory(settings), heron.Index.in_memory(settings)
    with one.writer() as w:
        for d in docs:
            w.add(d)
    with bulk.writer() as w:
        for b in range(0, len(docs), 13):
            w.add_many(docs[b:b + 13])
    assert one.stats().doc_count == bulk.stats().doc_count == 23
    for q in ["heron", "marsh 2", "title 3 egret"]:
        for filters in (None, heron.SearchFilters(domains=["site1.example.org"]),
                        heron.SearchFilters(metadata={"tag": "t1"}), heron.SearchFilters(published_after="2024-01-10")):
            got = [(h.id, h.score) for h in bulk.search(q, k=30, filters=filters)]
            assert got == [(h.id, h.score) for h in one.search(q, k=30, filters=filters)]
    for i in range(23):
        assert bulk.get(f"d{i}") == one.get(f"d{i}")
