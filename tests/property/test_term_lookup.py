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
