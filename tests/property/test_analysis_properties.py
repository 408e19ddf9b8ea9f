"""Property tests for heron.analysis over arbitrary Unicode text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from heron.analysis import Analyzer, AnalyzerSpec, get_analyzer
from heron.analysis.tokenizer import is_cjk

SPECS = [
    AnalyzerSpec(),
    AnalyzerSpec(stopwords=None, stemmer=None),
    AnalyzerSpec(stopwords="lucene", stemmer=None, cjk="unigram"),
    AnalyzerSpec(lowercase=False, ascii_folding=False, stopwords=None, stemmer=None, cjk="none"),
    AnalyzerSpec(stopwords="french", stemmer="french", ascii_folding=False, max_token_len=8),
]
UNSTEMMED = [s for s in SPECS if s.stemmer is None]

# characters that exercise the tricky paths: accents (composed and combining), apostrophes,
# CJK (Han, kana incl. halfwidth, Hangul), compatibility forms, separators, digits, underscores
TRICKY = (
    "aAzZ09_'’-.,;:()\"  \t\n\u00a0\u3000"
    "éÉßẞæØœŁłþðıĳﬁﬀＡｚ１①½Ⅻ"
    "\u0301\u0308\u0327\u093f\u094d"
    "中文分词東京々〆ひらがなカタカナｶﾀｶﾅﾞ한국어ㄱ"
    "йЖσΣςάhीन्द"
)
text_strategy = st.one_of(
    st.text(),
    st.text(alphabet=TRICKY, max_size=80),
    st.lists(
        st.sampled_from(["the", "Running", "café", "中文", "l'homme", "O’Brien", "x_y", " ", ", ", "\u0301"]),
        max_size=20,
    ).map("".join),
)
spec_strategy = st.sampled_from(SPECS)


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, spec=spec_strategy)
def test_offsets_in_range_ordered_and_non_overlapping_for_words(text: str, spec: AnalyzerSpec) -> None:
    toks = get_analyzer(spec).tokens(text)
    last_start = -1
    last_word_end = 0
    for t in toks:
        assert 0 <= t.start < t.end <= len(text)
        surface = text[t.start : t.end]
        assert surface and not any(c.isspace() for c in surface)
        assert t.start >= last_start
        last_start = t.start
        if not is_cjk(surface):
            assert t.start >= last_word_end  # word tokens never overlap anything before them
            last_word_end = t.end
    assert [t.position for t in toks] == list(range(len(toks)))


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, spec=spec_strategy)
def test_terms_equal_token_terms(text: str, spec: AnalyzerSpec) -> None:
    a = get_analyzer(spec)
    expected = [t.term for t in a.tokens(text)]
    assert a.terms(text) == expected
    assert a.terms(text) == expected  # again, now from the cache
    assert all(term and not any(c.isspace() for c in term) for term in expected)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(text_strategy, min_size=1, max_size=5), spec=spec_strategy)
def test_deterministic_regardless_of_cache_state(texts: list[str], spec: AnalyzerSpec) -> None:
    shared = get_analyzer(spec)
    tiny = Analyzer(spec, cache_size=16)
    for text in texts:
        fresh = Analyzer(spec).terms(text)
        assert shared.terms(text) == fresh
        assert tiny.terms(text) == fresh


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, spec=st.sampled_from(UNSTEMMED))
def test_analysis_is_idempotent_on_unstemmed_terms(text: str, spec: AnalyzerSpec) -> None:
    a = get_analyzer(spec)
    for term in a.terms(text):
        assert a.analyze_term(term) == term
