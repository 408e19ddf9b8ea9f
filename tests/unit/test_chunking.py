"""Sentence-aware chunking: passages map back to exact char spans and cover every word."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from heron.embed import chunk_text
from heron.errors import ConfigError

words = st.text(alphabet="abcdefgh", min_size=1, max_size=8)
sentence = st.lists(words, min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
document = st.lists(sentence, max_size=30).map(" ".join)


@given(document, st.integers(8, 60), st.integers(0, 7))
def test_passages_are_exact_spans_covering_every_word(text: str, size: int, overlap: int) -> None:
    ps = chunk_text(text, size, overlap)
    for p in ps:
        assert text[p.start : p.end] == p.text
        assert p.text == p.text.strip() and p.text
    covered = set()
    for p in ps:
        covered.update(m.start() + p.start for m in re.finditer(r"\S+", p.text))
    assert covered == {m.start() for m in re.finditer(r"\S+", text)}
    starts = [p.start for p in ps]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # always advances


@given(document, st.integers(8, 60))
def test_passages_respect_the_size_and_end_at_sentences(text: str, size: int) -> None:
    for p in chunk_text(text, size, 0):
        assert len(p.text.split()) <= size
    # without overlap, passages tile the text in order
    ps = chunk_text(text, size, 0)
    for a, b in itertools.pairwise(ps):
        assert a.end <= b.start


def test_sentence_boundaries_and_overlap() -> None:
    s = [f"Sentence {i} has exactly six words." for i in range(10)]
    text = " ".join(s)
    ps = chunk_text(text, 20, 0)
    assert ps[0].text == " ".join(s[:3])
    assert all(p.text.endswith(".") for p in ps)
    over = chunk_text(text, 20, 6)
    assert over[1].text.startswith(s[2])  # one sentence repeated
    assert len(over) > len(ps)


def test_long_sentence_is_cut_at_words_and_empty_text_gives_nothing() -> None:
    text = " ".join(f"w{i}" for i in range(50))
    ps = chunk_text(text, 20)
    assert [len(p.text.split()) for p in ps] == [20, 20, 10]
    assert chunk_text("") == [] and chunk_text("   \n ") == []
    assert len(chunk_text("short text")) == 1


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="chunk size"):
        chunk_text("x", 2)
    with pytest.raises(ConfigError, match="overlap"):
        chunk_text("x", 10, 10)
