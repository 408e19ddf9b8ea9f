"""Segment inversion (``count_postings`` + ``fill_postings``: a two-pass counting sort of each
field's term ids into (term, field) posting lists) gives exactly the postings of the plain
definition — the sorted distinct (list, document) pairs of the kept slots, with their counts —
in both kernel backends, with replaced/deleted slots skipped."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.kernels import compiled, reference


@st.composite
def _buffers(draw: st.DrawFn) -> tuple[int, int, list[list[list[int]]], list[bool]]:
    n_terms = draw(st.integers(1, 12))
    n_fields = draw(st.integers(1, 3))
    n_slots = draw(st.integers(0, 15))
    docs = [[draw(st.lists(st.integers(0, n_terms - 1), max_size=9)) for _ in range(n_fields)]
            for _ in range(n_slots)]
    keep = draw(st.lists(st.booleans(), min_size=n_slots, max_size=n_slots))
    return n_terms, n_fields, docs, keep


@settings(max_examples=300, deadline=None)
@given(buf=_buffers(), perm_seed=st.integers(0, 2**16))
def test_counting_sort_inversion_equals_the_definition(buf: tuple[int, int, list[list[list[int]]], list[bool]],
                                                       perm_seed: int) -> None:
    n_terms, n_fields, slots, keep_l = buf
    rank = np.random.default_rng(perm_seed).permutation(n_terms).astype(np.int64)  # term id -> ordinal
    keep = np.array(keep_l, dtype=bool)
    newdoc = np.cumsum(keep) - 1
    n_lists = n_terms * n_fields
    want: dict[tuple[int, int], int] = {}  # (list, doc) -> tf
    for s, fields in enumerate(slots):
        if keep_l[s]:
            for f, tids in enumerate(fields):
                for t in tids:
                    key = (int(rank[t]) * n_fields + f, int(newdoc[s]))
                    want[key] = want.get(key, 0) + 1
    pairs = sorted(want)
    for impl in (compiled, reference):
        df = np.zeros(n_lists, dtype=np.int64)
        last = np.full(n_lists, -1, dtype=np.int64)
        per_field = [(np.array([t for fields in slots for t in fields[f]], dtype=np.uint32),
                      np.array([len(fields[f]) for fields in slots], dtype=np.uint32)) for f in range(n_fields)]
        for f, (tid, lens) in enumerate(per_field):
            impl.count_postings(tid, lens, keep, newdoc, rank * n_fields + f, last, df)
        assert df.tolist() == [sum(1 for lst, _ in pairs if lst == i) for i in range(n_lists)]
        pos = np.concatenate([[0], np.cumsum(df)[:-1]]).astype(np.int64)
        last.fill(-1)
        docs = np.full(int(df.sum()), -1, dtype=np.int64)
        tfs = np.zeros(int(df.sum()), dtype=np.uint32)
        for f, (tid, lens) in enumerate(per_field):
            impl.fill_postings(tid, lens, keep, newdoc, rank * n_fields + f, last, pos, docs, tfs)
        assert docs.tolist() == [d for _, d in pairs]
        assert tfs.tolist() == [want[p] for p in pairs]
