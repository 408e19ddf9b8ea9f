"""Term lookups: the hash-table probe (``lookup_terms_hashed``) finds exactly what the binary
search of the sorted UTF-8 dictionary finds, for any dictionary (collisions, long runs of
probes, multi-byte characters, prefixes of terms, the empty dictionary)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.index.segment import encode_terms
from heron.kernels import compiled, reference

_words = st.text(alphabet=st.sampled_from(list("abcxyz01éü中ﬁ-")), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(dictionary=st.sets(_words, max_size=200), others=st.lists(_words, max_size=30))
def test_hashed_lookup_equals_binary_search(dictionary: set[str], others: list[str]) -> None:
    terms = sorted(dictionary, key=lambda t: t.encode())  # UTF-8 byte order = the segment's
    raw = [t.encode() for t in terms]
    blob = np.frombuffer(b"".join(raw), dtype=np.uint8)
    off = np.concatenate([[0], np.cumsum([len(r) for r in raw])]).astype(np.int64)
    table = compiled.term_hash_table(blob, off)
    assert table.tolist() == reference.term_hash_table(blob, off).tolist()
    queries = terms + others
    q = encode_terms(queries)
    want = [terms.index(t) if t in dictionary else -1 for t in queries]
    assert reference.lookup_terms(blob, off, q).tolist() == want  # the binary search: the spec
    assert compiled.lookup_terms_hashed(blob, off, table, q).tolist() == want
    assert reference.lookup_terms_hashed(blob, off, table, q).tolist() == want


@settings(max_examples=300, deadline=None)
@given(runs=st.lists(st.sets(st.text(alphabet=st.sampled_from(list("abz0éü中ﬁ\U0001f600")), max_size=5),
                             max_size=40), max_size=6))
def test_merged_dictionaries_are_the_sorted_union(runs: list[set[str]]) -> None:
    """A merge's term dictionary (``merge_sorted_terms``): the union of the segments' sorted
    dictionaries in byte order — each term once, the empty term and 4-byte characters included
    — and every input term mapped to its ordinal in it, by both backends."""
    sorted_runs = [sorted(r, key=lambda t: t.encode()) for r in runs]
    raw = [t.encode() for r in sorted_runs for t in r]
    blob = np.frombuffer(b"".join(raw), dtype=np.uint8).copy()
    off = np.concatenate([[0], np.cumsum([len(x) for x in raw])]).astype(np.int64)
    bounds = np.concatenate([[0], np.cumsum([len(r) for r in sorted_runs])]).astype(np.int64)
    want = sorted(set().union(*runs), key=lambda t: t.encode())
    for kernels in (compiled, reference):
        out_blob, out_off, remap = kernels.merge_sorted_terms(blob, off, bounds)
        got = [bytes(out_blob[out_off[i]:out_off[i + 1]]).decode() for i in range(len(out_off) - 1)]
        assert got == want
        assert [got[i] for i in remap.tolist()] == [t for r in sorted_runs for t in r]
