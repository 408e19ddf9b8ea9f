"""The fast snippet path (``heron.snippets.fast``) gives exactly the reference's snippets.

Differential tests: ``build_snippet`` (fast path) == ``build_snippet(scorer=score_passages)``
(the readable reference) and ``ChunkMatcher.score`` == ``score_passages``, on
hypothesis-generated text full of what the analyzer treats specially (CJK runs, combining
marks, apostrophes, NFKC ligatures and full-width forms, casefolding, headings, long
unspaced runs that the fragmenter cuts inside a chunk) and on SciFact documents with real
queries. Plus: the matcher's bounds hold and it stays exact while they evict, and under
threads.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heron.analysis import AnalyzerSpec, get_analyzer
from heron.snippets import ChunkMatcher, build_snippet, query_term_weights, score_passages, split_passages
from heron.snippets.fast import matcher_for

ANALYZERS = [get_analyzer("english_search"), get_analyzer("cjk"), get_analyzer("simple"), get_analyzer("french"),
             get_analyzer(AnalyzerSpec(stopwords=None, stemmer=None, cjk="unigram")),
             get_analyzer(AnalyzerSpec(stopwords=None, stemmer=None, cjk="none"))]

WORDS = ["heron", "Herons", "HERON'S", "herons,", "(heron)", "migration", "migrate", "birds.", "Bird!", "the", "a",
         "don't", "O’Brien", "café", "cafe\u0301", "ﬁsh", "ＦＵＬＬ", "Straße", "STRASSE", "İstanbul", "naïve",
         "中文分词", "分词", "東京", "ひらがな", "한국어", "x1", "3.14", "e-mail", "snake_case", "—", "...", "#", "##",
         "…", "。", "！", "\"quoted.\"", "end.)", "🙂", "ǅemal", "ΣΊΣΥΦΟΣ", "l'oiseau", "aujourd’hui", "http://x.io/a?b=c"]
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\t", " \u3000", "\u00a0", ". ", "! ", "? "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    pieces: list[str] = []
    for _ in range(draw(st.integers(0, 60))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            pieces.append(draw(st.sampled_from(["# ", "## ", "   ### ", "####### "])))
        elif kind == 1:
            pieces.append(draw(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                                       max_size=6)))
        elif kind == 2:  # a long run without spaces: the fragmenter may cut it inside a chunk
            pieces.append(draw(st.sampled_from(["x", "中", "ab"])) * draw(st.integers(10, 60)))
        else:
            pieces.append(draw(st.sampled_from(WORDS)))
        pieces.append(draw(st.sampled_from(SEPARATORS)))
    return "".join(pieces)


def _query_terms(analyzer_index: int, text: str, extra: list[str], pick: int) -> dict[str, float]:
    a = ANALYZERS[analyzer_index]
    terms = a.terms(text)
    chosen = terms[pick % len(terms):][:3] if terms else []
    return query_term_weights([*chosen, *a.terms(" ".join(extra))])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts(), analyzer_index=st.integers(0, len(ANALYZERS) - 1),
       extra=st.lists(st.sampled_from(WORDS), max_size=3), pick=st.integers(0, 1000),
       max_tokens=st.sampled_from([1, 5, 20, 60, 200, 1024]), passage_chars=st.sampled_from([20, 80, 500]))
def test_fast_snippets_equal_the_reference(text: str, analyzer_index: int, extra: list[str], pick: int,
                                           max_tokens: int, passage_chars: int) -> None:
    a = ANALYZERS[analyzer_index]
    q = _query_terms(analyzer_index, text, extra, pick)
    ref = build_snippet(text, a, q, max_tokens, passage_chars=passage_chars, scorer=score_passages)
    for _ in range(2):  # cold, then from the document cache
        assert build_snippet(text, a, q, max_tokens, passage_chars=passage_chars) == ref
    passages = split_passages(text, passage_chars)
    assert matcher_for(a).score(text, q, passage_chars) == (passages, score_passages(text, passages, a, q))


@settings(max_examples=100, deadline=None)
@given(text=texts(), extra=st.lists(st.sampled_from(WORDS), max_size=3), pick=st.integers(0, 1000))
def test_tiny_bounds_evict_and_stay_exact(text: str, extra: list[str], pick: int) -> None:
    a = ANALYZERS[0]
    m = ChunkMatcher(a, max_chunks=16, max_doc_bytes=2_000)
    q = _query_terms(0, text, extra, pick)
    passages = split_passages(text)
    want = (passages, score_passages(text, passages, a, q))
    for _ in range(2):
        assert m.score(text, q) == want
        assert len(m) <= max(16, len(set(text.split())))


# the sentence splitter's old pattern (a look-behind): the new one must cut at the same places
_OLD_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])[\"'”’)\]]*\s+")


@given(st.text(alphabet="ab .!?…。！？\"'”’)]\n\t\u3000", max_size=40))
def test_sentence_splitter_matches_the_lookbehind_pattern(paragraph: str) -> None:
    from heron.snippets.fragmenter import _SENTENCE_END

    text = "\n" + paragraph  # a paragraph never starts right after a terminator
    old = [(m.start(), m.end()) for m in _OLD_SENTENCE_END.finditer(text, 1)]
    new = [(m.start(1), m.end()) for m in _SENTENCE_END.finditer(text, 1)]
    assert new == old


def test_matcher_is_exact_under_threads() -> None:
    a = get_analyzer("english_search")
    docs = [" ".join(f"w{(i * 7 + j) % 97}{'.' if j % 11 == 10 else ''}" for j in range(400)) for i in range(40)]
    queries = [query_term_weights(a.terms(f"w{i} w{i + 1} w{i + 2}")) for i in range(0, 90, 3)]
    want = {(d, i): build_snippet(d, a, q, 64, scorer=score_passages) for d in docs for i, q in enumerate(queries)}
    m = ChunkMatcher(a, max_chunks=64, max_doc_bytes=20_000)  # small: evicts while threads read
    bad: list[str] = []

    def work(seed: int) -> None:
        for k in range(300):
            d = docs[(seed + k) % len(docs)]
            i = (seed * 3 + k) % len(queries)
            passages, scored = m.score(d, queries[i])
            if scored != score_passages(d, passages, a, queries[i]):
                bad.append(f"thread {seed}, doc {(seed + k) % len(docs)}, query {i}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad
    for (d, i), snip in list(want.items())[:200]:
        assert build_snippet(d, a, queries[i], 64) == snip


@pytest.mark.data
def test_fast_snippets_equal_the_reference_on_scifact(shared_data: Path) -> None:
    """SciFact abstracts with real queries, at the service's default budget and a small one."""
    import heron
    from heron.service.searching import query_terms, snippet_analyzer

    scifact = shared_data / "beir" / "scifact"
    idx = heron.Index.in_memory()
    with gzip.open(scifact / "corpus.jsonl.gz", "rt", encoding="utf-8") as f, idx.writer() as w:
        for line in list(f)[:2000]:
            d = json.loads(line)
            w.add({"id": d["_id"], "title": d.get("title", ""), "text": d["text"]})
    with gzip.open(scifact / "queries.jsonl.gz", "rt", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for line in f][:150]
    s = idx.searcher()
    a = snippet_analyzer(s)
    compared = 0
    for query in queries:
        q = query_term_weights(query_terms(s.parse(query, "or"), a))
        for h in s.search(query, 10):
            text = str((h.fields or {}).get("text") or "")
            for budget in (1024, 40):
                assert build_snippet(text, a, q, budget) == build_snippet(text, a, q, budget, scorer=score_passages)
                compared += 1
    assert compared > 2000
