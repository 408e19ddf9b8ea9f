"""Codec round trips: bit-packed postings (compiled == reference), norms, container arrays."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.document import Document
from heron.kernels import compiled, reference
from heron.storage import MemoryDirectory
from heron.storage.container import read_container, write_container


@st.composite
def lists(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_lists = draw(st.integers(0, 6))
    docs, tfs, starts = [], [], [0]
    for _ in range(n_lists):
        n_docs = draw(st.sampled_from([1, 5, 1000, 70_000, 2**32 - 1]))
        size = draw(st.integers(0, min(n_docs, 400)))
        d = sorted(draw(st.sets(st.integers(0, n_docs - 1), min_size=size, max_size=size)))
        docs += d
        tfs += draw(st.lists(st.sampled_from([1, 1, 2, 3, 255, 65535]), min_size=size, max_size=size))
        starts.append(len(docs))
    return np.array(docs, dtype=np.uint32), np.array(tfs, dtype=np.uint16), np.array(starts, dtype=np.int64)


@settings(max_examples=150, deadline=None)
@given(lists())
def test_postings_pack_round_trip(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    docs, tfs, starts = data
    packed = compiled.pack_postings(docs, tfs, starts)
    ref = reference.pack_postings(docs, tfs, starts)
    for a, b in zip(packed, ref, strict=True):
        assert np.array_equal(a, b)
    d2, t2 = compiled.unpack_postings(*packed, starts)
    assert np.array_equal(d2, docs) and np.array_equal(t2, tfs)
    d3, t3 = reference.unpack_postings(*ref, starts)
    assert np.array_equal(d3, docs) and np.array_equal(t3, tfs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["u1", "<u2", "<u4", "<i8", "<f8"]), st.integers(0, 300)), max_size=6))
def test_container_round_trip(spec: list[tuple[str, int]]) -> None:
    d = MemoryDirectory()
    rng = np.random.default_rng(len(spec))
    arrays = {f"a{i}": (rng.random(n) * 200).astype(dt) for i, (dt, n) in enumerate(spec)}
    write_container(d, "x", "k", arrays, {"n": len(spec)})
    meta, got = read_container(d, "x", "k")
    assert meta == {"n": len(spec)}
    assert set(got) == set(arrays)
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and np.array_equal(got[k], v)


_json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.builds(
    Document, id=st.text(min_size=1, max_size=30), title=st.text(max_size=50), text=st.text(max_size=200),
    url=st.text(max_size=30), date=st.none() | st.just("2024-03-01"), last_updated=st.none() | st.just("2025-01-02"),
    language=st.sampled_from(["", "en", "de"]),
    metadata=st.dictionaries(st.text(max_size=10), st.recursive(_json_leaf, lambda c: st.lists(c, max_size=3)
                                                                 | st.dictionaries(st.text(max_size=5), c, max_size=3),
                                                                 max_leaves=8), max_size=4)))
def test_document_pickles_to_an_equal_document(doc: Document) -> None:
    """What every write sends to the indexer process (``Document.__reduce__``): every field back,
    for any protocol."""
    for protocol in (2, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(doc, protocol))
        assert back == doc and type(back) is Document
