"""The indexer's chunk-table analysis (``ChunkTermIds``: a byte scanner that splits UTF-8 text
at whitespace and maps chunks to term ids through a hash table) gives every text exactly the
term ids of ``Analyzer.terms`` through the same vocabulary — for any text (every kind of
Unicode whitespace, CJK runs, punctuation, accents, lone surrogates), over batches and table
resets; and the compiled kernels leave the table exactly as the reference ones do."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heron.analysis import get_analyzer
from heron.analysis.spec import AnalyzerSpec
from heron.analysis.tokenizer import TOKEN_RE
from heron.index.chunk_terms import BYTE_CLASS, WHITESPACE, ChunkTermIds
from heron.kernels import compiled, reference

_SPACES = [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f"] + [chr(int(c)) for c in WHITESPACE]
_PIECES = ["the", "The", "THE", "running", "Runs", "l'avion", "L'Avion", "don't", "rock'n'roll", "a''b", "'tis",
           "dogs'", "e-mail", "snake_case", "3.14", "x'", "AT&T", "(Born", "1990),", "naïve", "Ünïcödé", "ﬁle", "e\u0301", "1990),", "(born",
           "中文字符", "日本語のテキスト", "한국어", "U.S.A.", "x" * 70, "\ud800", "a\udfffb", "—", "...", "K\u212a", "ǅ"]
_texts = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.sampled_from(_SPACES),
              st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=6)),
    max_size=25,
).map("".join)


def _reference_ids(analyzer, texts):  # type: ignore[no-untyped-def]
    vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    want = [[vocab[t] for t in analyzer.terms(x)] for x in texts]
    return want, list(vocab)


def _chunk_ids(analyzer, texts, groups=(), **kw):  # type: ignore[no-untyped-def]
    """Each text through ``add``, or, with ``groups``, through ``add_many`` in consecutive
    slices of those sizes (0: one ``add``; cycled)."""
    vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    ct = ChunkTermIds(analyzer, vocab.__getitem__, **kw)
    sizes = itertools.cycle(groups or [0])
    i = 0
    while i < len(texts):
        n = next(sizes)
        if n == 0:
            ct.add(texts[i])
            i += 1
        else:
            ct.add_many(texts[i:i + n])
            i += n
    ids, lens = ct.result()
    inverse = list(vocab)
    out, pos = [], 0
    for n in lens.tolist():
        out.append([inverse[i] for i in ids[pos:pos + n].tolist()])
        pos += n
    assert pos == len(ids)
    return out


@pytest.mark.parametrize("spec", [AnalyzerSpec(), AnalyzerSpec(stemmer=None, stopwords=None, ascii_folding=False),
                                  AnalyzerSpec(lowercase=False, stemmer="french", stopwords="french")])
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_texts, max_size=12), batch=st.sampled_from([1, 7, 64, 1 << 20]),
       max_chunks=st.sampled_from([0, 5, 4_000_000]), groups=st.lists(st.integers(0, 5), max_size=4))
def test_chunk_table_gives_the_analyzers_terms(spec: AnalyzerSpec, texts: list[str], batch: int,
                                               max_chunks: int, groups: list[int]) -> None:
    """Texts added one at a time, or in bulk slices (``groups``: ``add_many`` sizes, 0 = ``add``)."""
    analyzer = get_analyzer(spec)
    want = [analyzer.terms(x) for x in texts]
    for impl in (compiled, reference):
        got = _chunk_ids(analyzer, texts, groups, batch_bytes=batch, max_chunks=max_chunks, kernel_impl=impl)
        assert got == want


def test_whitespace_is_exactly_what_str_split_splits_at() -> None:
    split_at = [cp for cp in range(0x110000) if len(f"a{chr(cp)}b".split()) == 2]
    ascii_ws = [9, 10, 11, 12, 13, 28, 29, 30, 31, 32]
    assert split_at == ascii_ws + WHITESPACE.tolist()
    assert sorted({chr(cp).encode()[0] for cp in WHITESPACE.tolist()}) == np.flatnonzero(BYTE_CLASS == 4).tolist()
    assert np.flatnonzero(BYTE_CLASS == 1).tolist() == ascii_ws
    assert [chr(b) for b in np.flatnonzero(BYTE_CLASS == 2)] == [c for c in map(chr, range(128)) if c.isalnum()]


def _keys(text: str, fold: bool) -> list[str]:
    """The table keys of a text: whitespace chunks; an all-ASCII chunk gives its words instead,
    as the ``unicode`` tokenizer finds them (lower-cased when folding case)."""
    out: list[str] = []
    for chunk in text.split():
        if chunk.isascii():
            out += [m.group() for m in TOKEN_RE.finditer(chunk.lower() if fold else chunk)]
        else:
            out.append(chunk)
    return out


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(_texts, min_size=1, max_size=8), fold=st.booleans())
def test_compiled_scan_fills_the_table_like_the_reference(texts: list[str], fold: bool) -> None:
    raw = [x.encode("utf-8", "surrogatepass") for x in texts]
    buf = np.frombuffer(b"".join(raw), dtype=np.uint8)
    doc_off = np.concatenate([[0], np.cumsum([len(r) for r in raw])]).astype(np.int64)
    cap = (len(buf) + len(texts)) // 2 + 1
    want = [_keys(x, fold) for x in texts]
    states = []
    for impl in (compiled, reference):
        slots = np.full(1 << max(4, (2 * cap).bit_length()), -1, dtype=np.int32)
        hashes = np.zeros(cap, dtype=np.uint64)
        key_off = np.zeros(cap + 1, dtype=np.int64)
        arena = np.zeros(len(buf) + cap, dtype=np.uint8)
        keys = np.full(cap, -7, dtype=np.int32)
        doc_keys = np.zeros(len(texts), dtype=np.int64)
        n, used, done, n_out = impl.scan_chunks(buf, doc_off, 0, BYTE_CLASS, WHITESPACE, fold, slots, hashes,
                                                key_off, arena, 0, 0, keys, 0, doc_keys,
                                                *(np.empty(len(buf) + 1, dtype=t) for t in (np.int64, np.int64, np.uint64)))
        assert done == len(texts) and n_out == doc_keys.sum()
        assert doc_keys.tolist() == [len(k) for k in want]
        table = bytes(arena[:used]).decode("utf-8", "surrogatepass").split(" ")[:-1]
        assert len(table) == n == len({k for ks in want for k in ks})
        assert [table[c] for c in keys[:doc_keys.sum()].tolist()] == [k for ks in want for k in ks]
        assert impl.rehash_chunks(hashes, n, len(slots)).tolist() == slots.tolist()
        states.append((n, used, slots.tolist(), hashes[:n].tolist(), key_off[:n + 1].tolist(), keys.tolist()))
    assert states[0] == states[1]


@pytest.mark.parametrize("impl", [compiled, reference])
def test_the_key_table_grows_and_resumes_mid_batch(impl) -> None:  # type: ignore[no-untyped-def]
    """Thousands of new keys in one batch: the scanner stops at the first text whose keys do
    not fit, the table doubles, and the scan resumes there — same terms as the analyzer."""
    analyzer = get_analyzer(AnalyzerSpec())
    texts = [" ".join(f"w{i}x{j} Wörd{i * 7 + j}," for j in range(40)) for i in range(150)]
    vocab: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    ct = ChunkTermIds(analyzer, vocab.__getitem__, kernel_impl=impl)
    for x in texts:
        ct.add(x)
    ids, lens = ct.result()
    assert ct.chunks > 4 * 512  # several doublings of the initial table
    inverse = list(vocab)
    assert [inverse[i] for i in ids.tolist()] == [t for x in texts for t in analyzer.terms(x)]
    assert lens.tolist() == [len(analyzer.terms(x)) for x in texts]


_words = st.one_of(
    st.text(alphabet=st.sampled_from(list("abcXYZ019")), min_size=1, max_size=8),
    st.sampled_from(["the", "The", "AND", "running", "a", "x" * 65, "x" * 64, "naïve", "don't", "l'avion", "中文",
                     "L'Avion", "qu'il", "site's", "rock'n'roll", "'tis", "x'", "a''b", "O'Neil's", "it’s"]),
)


@pytest.mark.parametrize("spec", [AnalyzerSpec(), AnalyzerSpec(min_token_len=3, max_token_len=6),
                                  AnalyzerSpec(lowercase=False, stemmer="french", stopwords="french"),
                                  AnalyzerSpec(stemmer=None, stopwords=None)])
@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(_words, max_size=30))
def test_batch_chunk_analysis_equals_one_at_a_time(spec: AnalyzerSpec, chunks: list[str]) -> None:
    from heron.analysis.analyzer import Analyzer

    assert Analyzer(spec).chunk_terms_many(chunks) == [Analyzer(spec).chunk_terms(c) for c in chunks]
    warm = Analyzer(spec)
    warm.chunk_terms_many(chunks[: len(chunks) // 2])  # part of them cached already
    assert warm.chunk_terms_many(chunks) == [Analyzer(spec).chunk_terms(c) for c in chunks]


def test_a_chunk_of_thousands_of_words() -> None:
    """One whitespace-free chunk holding 5,000 ASCII words (the scanner's word list grows) and a
    long unbroken text: the analyzer's terms."""
    analyzer = get_analyzer(AnalyzerSpec())
    texts = [".".join(f"w{i % 50}x" for i in range(5000)), "start " + "-".join(["Heron"] * 3000) + " end"]
    for impl in (compiled, reference):
        assert _chunk_ids(analyzer, texts, kernel_impl=impl) == [analyzer.terms(x) for x in texts]
