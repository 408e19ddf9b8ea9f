"""Query features end to end over a small in-memory index."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import heron
from heron import FilterError, QueryError, QueryParseError, Range, SearchFilters


@pytest.fixture
def idx(make_index: Callable[..., heron.Index], tiny_docs: list[dict[str, Any]]) -> heron.Index:
    return make_index(tiny_docs)


def ids(hits: list[heron.Hit]) -> list[str]:
    return [h.id for h in hits]


def test_ranked_or_and_and_mode(idx: heron.Index) -> None:
    assert set(ids(idx.search("heron cat"))) == {"a", "c", "d"}
    assert ids(idx.search("heron island", operator="and")) == ["d"]
    assert ids(idx.search("heron cat", operator="and")) == []


def test_required_excluded_and_phrases(idx: heron.Index) -> None:
    assert ids(idx.search("+island heron")) == ["d"]
    assert set(ids(idx.search("heron -island"))) == {"a"}
    assert ids(idx.search('"grey heron"')) == ["a"]
    assert ids(idx.search('"wading heron"')) == []  # words present, not as a phrase
    assert set(ids(idx.search('heron -"coral cay"'))) == {"a"}


def test_site_and_field_syntax(idx: heron.Index) -> None:
    assert ids(idx.search("heron site:wikipedia.org")) == ["a"]
    assert ids(idx.search("heron -site:wikipedia.org")) == ["d"]
    assert ids(idx.search("title:island")) == ["d"]


def test_domain_filters(idx: heron.Index) -> None:
    f = SearchFilters(domains=["example.org", "example.net"])
    assert set(ids(idx.search("heron bird migration", filters=f))) == {"b", "d"}
    f = SearchFilters(domains=["-wikipedia.org"])
    assert set(ids(idx.search("heron", filters=f))) == {"d"}
    f = SearchFilters(domains=["travel.example.net/au"])
    assert ids(idx.search("heron", filters=f)) == ["d"]
    with pytest.raises(FilterError, match=r"mix|both|allow"):
        idx.search("heron", filters=SearchFilters(domains=["a.com", "-b.com"]))


def test_date_and_language_filters(idx: heron.Index) -> None:
    f = SearchFilters(published_after="01/01/2020", published_before="12/31/2021")
    assert set(ids(idx.search("heron bird cat", filters=f))) == {"a", "b"}
    f = SearchFilters(published_after="2022-01-01")
    assert ids(idx.search("heron", filters=f)) == ["d"]
    assert ids(idx.search("graureiher vogel", filters=SearchFilters(languages=["de"]))) == ["e"]
    assert ids(idx.search("graureiher", filters=SearchFilters(languages=["en"]))) == []
    with pytest.raises(FilterError, match="not a date"):
        idx.search("heron", filters=SearchFilters(published_after="soon"))


def test_metadata_filters_inside_the_kernel() -> None:
    st = heron.IndexSettings(
        filter_fields=(heron.FilterField("year", "numeric"), heron.FilterField("tags"), heron.FilterField("seen", "date"))
    )
    idx = heron.Index.in_memory(st)
    with idx.writer() as w:
        for i in range(50):
            w.add({"id": str(i), "text": "common word " + "rare " * (i % 3),
                   "metadata": {"year": 2000 + i, "tags": ["even" if i % 2 == 0 else "odd", "all"],
                                "seen": f"2024-01-{1 + i % 28:02d}"}})
    # a post-filter over a fixed top-k would return fewer than k here
    hits = idx.search("common", k=5, filters=SearchFilters(metadata={"year": Range(gte=2040)}))
    assert len(hits) == 5 and all(int(h.id) >= 40 for h in hits)
    hits = idx.search("common", k=100, filters=SearchFilters(metadata={"tags": "odd"}))
    assert len(hits) == 25 and all(int(h.id) % 2 for h in hits)
    hits = idx.search("common", k=100, filters=SearchFilters(metadata={"year": [2001, 2003]}))
    assert sorted(ids(hits)) == ["1", "3"]
    hits = idx.search("common", k=100, filters=SearchFilters(metadata={"seen": Range(lte="2024-01-02")}))
    assert sorted(int(h.id) for h in hits) == [0, 1, 28, 29]
    with pytest.raises(FilterError, match="undeclared"):
        idx.search("common", filters=SearchFilters(metadata={"color": "red"}))


def test_explain_sums_to_the_score_exactly(idx: heron.Index) -> None:
    """Scores are float32 sums of float32 contributions in scoring order (the kernels'
    arithmetic): adding the explained contributions that way gives the hit's score exactly."""
    for q in ["heron", "grey heron wading bird", "heron island reef"]:
        plain = idx.search(q, k=5)
        explained = idx.search(q, k=5, explain=True)
        assert ids(plain) == ids(explained)
        for p, e in zip(plain, explained, strict=True):
            assert e.explanation is not None
            total = np.float32(0.0)
            for c in e.explanation.contributions:
                assert float(np.float32(c.score)) == c.score  # each contribution is a float32 value
                total = total + np.float32(c.score)
            assert float(total) == e.explanation.score == p.score
            assert "idf" in e.explanation.describe()


def test_offset_pages_are_consistent(make_index: Callable[..., heron.Index]) -> None:
    idx = make_index({"id": str(i), "text": "word " * (1 + i % 7) + f"tag{i % 3}"} for i in range(60))
    full = ids(idx.search("word tag1", k=60))
    pages = [ids(idx.search("word tag1", k=10, offset=o)) for o in range(0, 60, 10)]
    assert [x for page in pages for x in page] == full


def test_id_only_search_matches_full_search(make_index: Callable[..., heron.Index]) -> None:
    """``fields=False`` on a one-segment index takes a short path (no merge by score): same ids,
    scores, addresses and pages as the full path, and as a many-segment index of the same docs."""
    docs = [{"id": str(i), "text": "word " * (1 + i % 7) + f"tag{i % 3} " + "filler " * (i % 5)} for i in range(90)]
    one = make_index(docs)
    assert len(one.searcher().segments) == 1
    many = heron.Index.in_memory()
    for start in range(0, len(docs), 20):  # one segment per writer session
        with many.writer() as w:
            for d in docs[start : start + 20]:
                w.add(d)
    assert len(many.searcher().segments) > 1
    for q in ("word tag1", "filler tag2 word", "nomatch"):
        for o in (0, 3, 40):
            full = one.search(q, k=25, offset=o)
            lean = one.search(q, k=25, offset=o, fields=False)
            assert [(h.id, h.score, h.address) for h in lean] == [(h.id, h.score, h.address) for h in full]
            assert all(h.fields is None for h in lean)
            assert [(h.id, h.score) for h in many.search(q, k=25, offset=o, fields=False)] == \
                [(h.id, h.score) for h in lean]
            # the columnar form: the same ids and scores, one-segment and many-segment paths
            for index in (one, many):
                got = index.search_ids(q, k=25, offset=o)
                assert isinstance(got, heron.ScoredIds)
                assert list(zip(got.ids, got.scores, strict=True)) == [(h.id, h.score) for h in lean]


def test_search_ids_takes_every_search_argument(idx: heron.Index) -> None:
    """``search_ids`` answers like ``search`` for syntax, filters, operators, algorithms and
    pages, and refuses what ``search`` refuses."""
    f = SearchFilters(domains=["-wikipedia.org"])
    cases: list[tuple[str, dict[str, Any]]] = [
        ("heron cat", {}), ("heron island", {"operator": "and"}), ('+island heron -"coral cay"', {}),
        ("heron site:wikipedia.org", {}), ("heron", {"filters": f}), ("bird cat reef", {"algorithm": "maxscore"}),
        ("heron bird", {"k": 2, "offset": 1}), ("heron", {"k": 0}), ("the of and", {}),
    ]
    for q, kw in cases:
        want = [(h.id, h.score) for h in idx.search(q, **kw)]
        got = idx.search_ids(q, **kw)
        assert list(zip(*got, strict=True)) == want, (q, kw)
    with pytest.raises(QueryError):
        idx.search_ids("heron", k=-1)
    with pytest.raises(QueryError):
        idx.search_ids("heron", k=5, offset=heron.index.reader.MAX_K)
    with pytest.raises(QueryParseError):
        idx.search_ids('heron "unclosed')
    with pytest.raises(FilterError):
        idx.search_ids("heron", filters=SearchFilters(domains=["a.com", "-b.com"]))


def test_ids_of_decodes_the_ids_of_chosen_docs(make_index: Callable[..., heron.Index],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """``SegmentReader.ids_of`` (one kernel gathers the id bytes, one decode; segments up to
    SMALL_ID_LIST documents index the decoded list) gives what the decoded id list gives, in
    the order asked, with both kernel backends — multi-byte ids, empty selections, repeats. Ids
    never hold control characters (documents are validated), but a segment whose id bytes hold
    a NUL still decodes right (through the list)."""
    import numpy as np

    from heron.index import segment
    from heron.kernels import compiled, reference

    ext = [f"doc-{i}" for i in range(30)] + ["ünï-中文", "x", "🙂"]
    idx = make_index({"id": e, "text": f"common w{i}"} for i, e in enumerate(ext))
    reader = idx.searcher().segments[0].reader
    ids = reader.all_ids()
    for small in (0, segment.SMALL_ID_LIST):  # the gathering kernel, then the list
        monkeypatch.setattr(segment, "SMALL_ID_LIST", small)
        reader._ids = None
        for docs in ([], [0], [5, 2, 30, 32, 31, 5], list(range(len(ids)))[::-1]):
            d = np.array(docs, dtype=np.int64)
            want = [ids[i] for i in docs]
            assert reader.ids_of(d) == want
            for k in (compiled, reference):
                raw, has_nul = k.gather_ids(reader._ids_blob, reader._ids_off, d)
                assert not has_nul and (raw.tobytes().decode().split("\x00") if docs else []) == want, k.__name__
        assert (reader._ids is None) == (small == 0)  # the kernel path decodes no list
    hits = idx.search("common", k=len(ext), fields=False)
    assert sorted(h.id for h in hits) == sorted(ext)
    # id bytes with a NUL inside (not writable through the API): detected, and decoded by the list
    blob = np.frombuffer(b"ab\x00cxyz", dtype=np.uint8)
    off = np.array([0, 4, 5, 7], dtype=np.int64)
    for k in (compiled, reference):
        assert k.gather_ids(blob, off, np.array([1, 2], dtype=np.int64))[1] is False
        assert bool(k.gather_ids(blob, off, np.array([2, 0], dtype=np.int64))[1]) is True
    reader._ids_blob, reader._ids_off, reader._ids = blob, off, None
    monkeypatch.setattr(segment, "SMALL_ID_LIST", 0)  # the kernel path, which finds the NUL
    assert reader.ids_of(np.array([2, 0], dtype=np.int64)) == ["yz", "ab\x00c"]


def test_ties_break_by_index_order(make_index: Callable[..., heron.Index]) -> None:
    idx = make_index({"id": f"d{i}", "text": "same text"} for i in range(20))
    assert ids(idx.search("same", k=20)) == [f"d{i}" for i in range(20)]


def test_bad_queries(idx: heron.Index) -> None:
    with pytest.raises(QueryParseError) as e:
        idx.search('heron "unclosed')
    assert e.value.position == 6
    with pytest.raises(QueryParseError):
        idx.search("   ")
    with pytest.raises(QueryParseError, match=r"4096|long"):
        idx.search("x" * 5000)
    with pytest.raises(QueryError):
        idx.search("heron", k=-1)
    with pytest.raises(QueryError):
        idx.search("heron", operator="xor")
    assert idx.search("the of and") == []  # only stopwords: nothing to rank, not an error


def test_maxscore_matches_exhaustive(idx: heron.Index) -> None:
    for q in ["heron", "bird cat reef", "+heron island"]:
        a = [(h.id, h.score) for h in idx.search(q, k=10, algorithm="maxscore")]
        b = [(h.id, h.score) for h in idx.search(q, k=10, algorithm="exhaustive")]
        assert a == b
    with pytest.raises(QueryError, match="unknown algorithm"):
        idx.search("heron", algorithm="magic")


def test_phrases_on_fielded_and_custom_fields() -> None:
    st = heron.IndexSettings(
        text_fields=(heron.TextField("title"), heron.TextField("text"), heron.TextField("summary")),
    )
    idx = heron.Index.in_memory(st)
    with idx.writer() as w:
        w.add({"id": "1", "title": "grey heron", "text": "a bird", "metadata": {"summary": "wading bird of europe"}})
        w.add({"id": "2", "title": "bird", "text": "heron grey", "metadata": {"summary": "europe wading"}})
    assert ids(idx.search('"grey heron"')) == ["1"]
    assert ids(idx.search('"wading bird"')) == ["1"]
    assert ids(idx.search('title:"grey heron"')) == ["1"]
    assert ids(idx.search('"heron grey"')) == ["2"]
