"""``make_document``'s fast path for plain ``{"id", "title", "text"}`` dicts gives exactly the
general path's document — or, for input the fast path does not take, the general path's
error — for any such dict (bad ids, control characters, over-long ids, wrong types, missing
keys)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import heron
from heron.document import MAX_ID_LEN, _make_document, make_document
from heron.errors import DocumentError

_values = st.one_of(st.text(max_size=8), st.just(""), st.just("x" * (MAX_ID_LEN + 1)), st.just("a\x00b"),
                    st.just("ok\x7f"), st.integers(), st.none(), st.booleans(), st.lists(st.text(), max_size=2))
_plain = st.dictionaries(st.sampled_from(["id", "title", "text"]), _values)


@settings(max_examples=400, deadline=None)
@given(obj=_plain)
def test_the_fast_path_equals_the_general_path(obj: dict[str, Any]) -> None:
    s = heron.IndexSettings()
    try:
        want = _make_document(obj, s, None)
    except DocumentError as e:
        with pytest.raises(DocumentError) as got:
            make_document(obj, s)
        assert str(got.value) == str(e)
        return
    got_doc = make_document(obj, s)
    assert got_doc == want
    assert type(got_doc) is heron.Document and got_doc.metadata == {} and got_doc.metadata is not want.metadata
    with pytest.raises(AttributeError):
        got_doc.title = "changed"  # type: ignore[misc]  # still frozen
