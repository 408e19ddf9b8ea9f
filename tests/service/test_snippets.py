"""heron.snippets: fragmenter, scoring, selection under budgets, highlights, token counting."""

from __future__ import annotations

import itertools

import pytest

from heron.analysis import get_analyzer
from heron.snippets import (
    Passage,
    build_snippet,
    chars_for_tokens,
    count_tokens,
    query_term_weights,
    score_passages,
    share_budget,
    split_passages,
    to_html,
)

A = get_analyzer("english_search")
DOC = (
    "# Herons\n"
    "Herons are long-legged wading birds. They live near water.\n"
    "\n"
    "## Migration\n"
    "Many birds migrate south in winter, navigating by the stars. Herons in the north migrate too.\n"
    "Unrelated paragraph about cats and dogs."
)


def snip(text: str, query: str, max_tokens: int, **kw: int) -> tuple[str, list[str]]:
    s = build_snippet(text, A, query_term_weights(A.terms(query)), max_tokens, **kw)
    return s.text, [s.text[a:b] for a, b in s.highlights]


def test_count_tokens_is_four_chars_per_token_rounded_up() -> None:
    assert count_tokens("") == 0
    assert count_tokens("abcd") == 1
    assert count_tokens("abcde") == 2
    assert chars_for_tokens(3) == 12
    assert chars_for_tokens(-1) == 0


def test_share_budget_is_fair_share_capped_per_item() -> None:
    assert share_budget(100, 1024, 4) == 25
    assert share_budget(10_000, 1024, 4) == 1024
    assert share_budget(0, 1024, 4) == 0
    assert share_budget(100, 1024, 0) == 0


def test_passages_keep_headings_and_lines() -> None:
    ps = split_passages(DOC)
    texts = [DOC[p.start:p.end] for p in ps]
    assert texts[0] == "# Herons" and ps[0].heading
    assert texts[2] == "## Migration" and ps[2].heading
    assert not ps[1].heading
    assert texts[-1] == "Unrelated paragraph about cats and dogs."
    for a, b in itertools.pairwise(ps):
        assert a.end <= b.start and DOC[a.end:b.start].strip() == ""


def test_long_paragraph_split_at_sentences_then_words() -> None:
    text = "One short sentence. " * 30 + "x" * 50 + " " + "word " * 200
    ps = split_passages(text, max_chars=100)
    assert all(p.end - p.start <= 100 for p in ps)
    assert text[ps[0].start:ps[0].end].endswith(".")
    covered = "".join(text[p.start:p.end] for p in ps).replace(" ", "")
    assert covered == text.replace(" ", "")


def test_split_rejects_bad_size() -> None:
    with pytest.raises(ValueError):
        split_passages("x", 0)


def test_scoring_prefers_coverage_then_density() -> None:
    text = "heron heron heron heron\nheron migration\nnothing here"
    ps = split_passages(text)
    scored = score_passages(text, ps, A, query_term_weights(A.terms("heron migration")))
    assert scored[1].score > scored[0].score > scored[2].score == 0.0
    assert [text[a:b] for a, b in scored[1].matches] == ["heron", "migration"]


def test_best_passage_first_with_its_heading_under_a_small_budget() -> None:
    text, hl = snip(DOC, "heron migration", 40)
    assert "## Migration\nMany birds migrate" in text
    assert count_tokens(text) <= 40
    assert {h.lower() for h in hl} >= {"migration", "migrate", "herons"}


def test_whole_document_when_budget_allows() -> None:
    text, _ = snip(DOC, "heron", 1000)
    assert text.replace("\n", "") == DOC.replace("\n", "")


def test_gaps_are_marked_and_order_is_document_order() -> None:
    doc = "Alpha heron here.\n" + "\n".join(f"Filler line number {i} about nothing." for i in range(20)) + \
          "\nOmega heron there."
    text, hl = snip(doc, "heron", 20)
    assert text.index("Alpha") < text.index("Omega")
    assert "\n...\n" in text
    assert hl == ["heron", "heron"]


def test_trimmed_window_around_first_match_respects_budget() -> None:
    doc = "lorem ipsum " * 100 + "the heron stands still " + "lorem ipsum " * 100
    for budget in (1, 3, 10, 30):
        text, hl = snip(doc, "heron", budget)
        assert 0 < count_tokens(text) <= budget
    text, hl = snip(doc, "heron", 10)
    assert hl == ["heron"]


def test_no_match_gives_the_lead() -> None:
    text, hl = snip(DOC, "zebra", 5)
    assert DOC.startswith(text) and hl == []


def test_empty_text_and_zero_budget() -> None:
    assert snip("", "heron", 10) == ("", [])
    assert snip(DOC, "heron", 0) == ("", [])


def test_highlights_point_into_snippet_text() -> None:
    s = build_snippet(DOC, A, query_term_weights(A.terms("water birds")), 1000)
    assert [s.text[a:b] for a, b in s.highlights] == ["birds", "water", "birds"]
    assert to_html(s).count("<mark>") == 3
    assert "<mark>water</mark>" in to_html(s)


def test_html_rendering_escapes() -> None:
    text = "a <b> heron & co"
    s = build_snippet(text, A, {"heron": 1.0}, 100)
    assert to_html(s) == "a &lt;b&gt; <mark>heron</mark> &amp; co"


def test_passage_is_plain_data() -> None:
    assert Passage(0, 1) == Passage(0, 1, heading=False)
