"""CJK analysis on real Chinese Wikipedia text (``shared/data/large/zhwiki-sample-articles.jsonl.gz``)."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import unicodedata
from pathlib import Path

import pytest

from heron.analysis import Analyzer, AnalyzerSpec, get_analyzer
from heron.analysis.tokenizer import CJK_RUN_RE, is_cjk

ZHWIKI = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "large"
    / "zhwiki-sample-articles.jsonl.gz"
)
N_ARTICLES = 200


def _data_file(path: Path) -> Path:
    """``path`` if it exists; otherwise skip (or fail when HERON_REQUIRE_DATA=1)."""
    if not path.is_file():
        if os.environ.get("HERON_REQUIRE_DATA") == "1":
            pytest.fail(f"HERON_REQUIRE_DATA=1 but {path} is missing")
        pytest.skip(f"needs {path}")
    return path


@pytest.fixture(scope="module")
def articles() -> list[str]:
    out: list[str] = []
    with gzip.open(_data_file(ZHWIKI), "rt", encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            out.append(f"{doc['title']}\n{doc['text']}")
            if len(out) == N_ARTICLES:
                break
    assert len(out) == N_ARTICLES
    return out


@pytest.mark.data
def test_bigram_analyzer_produces_bigrams_with_offsets_into_the_text(articles: list[str]) -> None:
    a = get_analyzer("cjk")
    n_bigrams = 0
    n_cjk = 0
    for text in articles:
        toks = a.tokens(text)
        assert a.terms(text) == [t.term for t in toks]
        expected_units = 0
        for run in CJK_RUN_RE.findall(text):
            expected_units += max(len(run) - 1, 1)
        cjk_toks = [t for t in toks if is_cjk(text[t.start : t.end])]
        # no stopwords, no length limit hit: every run yields len-1 bigrams (or its one char)
        assert len(cjk_toks) == expected_units
        for t in toks:
            surface = text[t.start : t.end]
            assert surface
            if is_cjk(surface):
                assert t.end - t.start in (1, 2)
                assert t.term == unicodedata.normalize("NFKC", surface).casefold()
                n_cjk += 1
                n_bigrams += t.end - t.start == 2
        # bigrams overlap by one character inside a run
        for prev, nxt in itertools.pairwise(cjk_toks):
            if prev.end - prev.start == 2 and nxt.start == prev.start + 1:
                assert text[prev.start + 1] == text[nxt.start]
    assert n_cjk > 50_000
    assert n_bigrams / n_cjk > 0.95


@pytest.mark.data
def test_known_title_bigrams_and_phrase_consistency(articles: list[str]) -> None:
    a = get_analyzer("english")  # the default analyzer also bigrams CJK runs
    title = articles[0].split("\n", 1)[0]
    assert title == "妄想女友"
    assert a.terms(title) == ["妄想", "想女", "女友"]
    # a query for a word is a phrase of consecutive bigrams that occurs in the document terms
    doc_terms = a.terms(articles[0])
    q = a.terms("女友")
    assert any(doc_terms[i : i + len(q)] == q for i in range(len(doc_terms)))


@pytest.mark.data
def test_mixed_latin_and_digits_in_chinese_text(articles: list[str]) -> None:
    a = get_analyzer("english")
    latin = [t for text in articles for t in a.tokens(text) if not is_cjk(text[t.start : t.end])]
    assert latin, "expected some Latin/digit tokens (years, SNS, names) in the sample"
    for text in articles[:20]:
        for t in a.tokens(text):
            assert not any(c.isspace() for c in text[t.start : t.end])


@pytest.mark.data
def test_unigram_mode_and_cache_bounds_on_real_text(articles: list[str]) -> None:
    spec = AnalyzerSpec(stopwords=None, stemmer=None, cjk="unigram")
    small = Analyzer(spec, cache_size=1000)
    fresh = Analyzer(spec)
    for text in articles[:50]:
        terms = small.terms(text)
        assert terms == fresh.terms(text)
        n_cjk_chars = sum(len(run) for run in CJK_RUN_RE.findall(text))
        assert sum(1 for term in terms if is_cjk(term)) >= n_cjk_chars * 0.99
    assert len(small._cache) <= 1000
