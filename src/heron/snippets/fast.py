"""Fast passage scoring: exactly what :func:`heron.snippets.scoring.score_passages` gives, cheaper.

The reference analyzes every matching passage with ``analyzer.tokens`` — one Python
``Token`` object per word — which made snippets the most expensive part of a search
request. This module computes the same passages and
:class:`~heron.snippets.scoring.ScoredPassage` list (same scores, same match offsets; a
differential test checks it) with Python work proportional to the *matches*, not the words:

* a :class:`ChunkMatcher` per analyzer keeps a bounded map from each whitespace-separated
  chunk of text it has seen (``"(herons,"``) to its tokens' terms and offsets inside the
  chunk, and the reverse map term → chunks;
* per document (query-independent, kept in a bounded LRU keyed by the text): its passages,
  the set of its chunks and the number of terms in each passage;
* per query: the chunks of the document that hold a query term are a set intersection,
  their occurrences are found with ``str.find`` (and kept with the document), and each
  passage's score is the reference formula over those matches — unless every passage fits
  the budget, when the snippet is the whole text whatever the scores and only the matches
  (the highlights) are needed.

This is exact because no token spans whitespace (see :mod:`heron.analysis.tokenizer`): a
chunk analyzed on its own gives the same tokens, at the same relative offsets, as it does
inside any text. A document with a passage cut *inside* a chunk (a run of more than
``passage_chars`` characters without a space) is scored by the reference instead.
"""

from __future__ import annotations

import string
import threading
import weakref
from bisect import bisect_right
from collections.abc import Mapping

from heron.snippets.fragmenter import DEFAULT_PASSAGE_CHARS, Passage, split_passages
from heron.snippets.scoring import (
    DENSITY_WEIGHT,
    POSITION_WEIGHT,
    ScoredPassage,
    TextAnalyzer,
    dedupe_spans,
    score_passages,
)

#: chunks longer than this are analyzed per call, never kept (long URLs, unspaced CJK text)
MAX_KEPT_CHUNK_LEN = 128
#: default bound of a matcher's chunk map (entries); when full it starts over empty
DEFAULT_MAX_CHUNKS = 200_000
#: default bound of a matcher's document LRU (an estimate of its memory, in bytes; a
#: 1,500-character abstract takes about 20 KB)
DEFAULT_MAX_DOC_BYTES = 64 * 1024 * 1024

ChunkTokens = tuple[tuple[str, int, int], ...]  # (term, start, end) relative to the chunk

_ASCII_PUNCTUATION = string.punctuation


class _Doc:
    """The query-independent analysis of one text (valid for the matcher state that made it)."""

    __slots__ = ("chars", "chunks", "cost", "counts", "exact", "hits", "long", "passages")

    def __init__(self, passages: list[Passage], exact: bool, chunks: set[str],
                 long: dict[str, ChunkTokens], cost: int) -> None:
        self.passages = passages
        self.chars = sum(p.end - p.start for p in passages)
        self.exact = exact  # False: a passage is cut inside a chunk, score with the reference
        self.chunks = chunks
        self.long = long  # tokens of this text's chunks too long for the chunk map
        self.cost = cost
        self.counts: tuple[int, ...] | None = None  # analyzed terms per passage, on first use
        #: chunk → its tokens at each of its occurrences, for the chunks queries have matched
        self.hits: dict[str, tuple[tuple[int, int, str], ...]] = {}


class _State:
    __slots__ = ("by_term", "counts", "doc_cost", "docs", "tokens")

    def __init__(self) -> None:
        self.tokens: dict[str, ChunkTokens] = {}
        self.counts: dict[str, int] = {}
        self.by_term: dict[str, set[str]] = {}  # term → the chunks holding it
        self.docs: dict[tuple[str, int], _Doc] = {}  # insertion order = recency (LRU)
        self.doc_cost = 0


class ChunkMatcher:
    """Chunk → tokens, term → chunks and text → document analysis for one analyzer; bounded,
    thread-safe (mutations under a lock; reads of a state that only grows).

    ``max_chunks`` bounds the chunk map (when full, a *new* empty state replaces the whole
    state, so a call in flight keeps a consistent view); ``max_doc_bytes`` bounds the
    document LRU by an estimate of its memory (least recently used documents go first).
    """

    def __init__(self, analyzer: TextAnalyzer, max_chunks: int = DEFAULT_MAX_CHUNKS,
                 max_doc_bytes: int = DEFAULT_MAX_DOC_BYTES) -> None:
        self._analyzer = analyzer
        # heron's "unicode" tokenizer: the shortcut of _tokens_of holds for it
        self._ascii_words = getattr(getattr(analyzer, "spec", None), "tokenizer", None) == "unicode"
        self._max = max(16, max_chunks)
        self._max_doc_bytes = max(0, max_doc_bytes)
        self._lock = threading.Lock()
        self._state = _State()

    def __len__(self) -> int:
        return len(self._state.tokens)

    def clear(self) -> None:
        """Forget everything (it is recomputed on demand)."""
        with self._lock:
            self._state = _State()

    def forget_documents(self) -> None:
        """Empty the document cache only (the chunk map stays)."""
        with self._lock:
            st = self._state
            st.docs = {}
            st.doc_cost = 0

    # -------------------------------------------------------------------- per query

    def score(self, text: str, query_terms: Mapping[str, float],
              passage_chars: int = DEFAULT_PASSAGE_CHARS) -> tuple[list[Passage], list[ScoredPassage]]:
        """``split_passages(text, passage_chars)`` and their
        ``score_passages(text, passages, analyzer, query_terms)``."""
        passages, scored, _ = self.plan(text, query_terms, passage_chars)
        assert scored is not None
        return passages, scored

    def plan(self, text: str, query_terms: Mapping[str, float], passage_chars: int = DEFAULT_PASSAGE_CHARS,
             fit_chars: int | None = None, piece_chars: int = 0,
             ) -> tuple[list[Passage], list[ScoredPassage] | None, list[tuple[int, int]]]:
        """``(passages, scored, matches)``: :meth:`score`'s result, unless every passage fits in
        ``fit_chars`` (each costing its length + ``piece_chars``) — then the selection does not
        depend on the scores, which are not computed (``scored`` is None), and ``matches`` are
        the merged match ranges of the whole text, sorted (else ``matches`` is empty)."""
        st, doc = self._doc(text, passage_chars)
        passages = doc.passages
        fits = fit_chars is not None and doc.chars + piece_chars * len(passages) <= fit_chars
        if not doc.exact:  # cut inside a chunk: the reference
            scored = score_passages(text, passages, self._analyzer, query_terms)
            if fits:
                return passages, None, [m for sp in scored for m in sp.matches]
            return passages, scored, []
        occ = self._occurrences(st, doc, text, query_terms)
        if fits:  # passages are apart (whitespace between), so merging per passage = merging all
            return passages, None, list(dedupe_spans([(s, e) for s, e, _ in occ]))
        out = [ScoredPassage(p, i, 0.0, ()) for i, p in enumerate(passages)]
        if not occ:
            return passages, out, []
        occ.sort()
        counts = self._counts(st, doc, text)
        starts = [p.start for p in passages]
        total_w = sum(w for w in query_terms.values() if w > 0) or 1.0
        lo, n_occ = 0, len(occ)
        while lo < n_occ:
            i = bisect_right(starts, occ[lo][0]) - 1
            p = passages[i]
            end = p.end
            hi = lo + 1
            while hi < n_occ and occ[hi][0] < end:
                hi += 1
            group = occ[lo:hi]
            out[i] = _scored(p, i, [t for _, _, t in group], [(s, e) for s, e, _ in group], counts[i],
                             query_terms, total_w)
            lo = hi
        return passages, out, []

    def _occurrences(self, st: _State, doc: _Doc, text: str,
                     query_terms: Mapping[str, float]) -> list[tuple[int, int, str]]:
        """``(start, end, term)`` of every query-term token of ``text`` (unsorted)."""
        tokens, by_term, chunks = st.tokens, st.by_term, doc.chunks
        # no lock: another thread's _learn may add to these sets, but an intersection runs in C
        # under the GIL (str keys: no Python code runs, so no thread switch happens inside it);
        # it iterates the smaller set
        found = {c for t in query_terms if (held := by_term.get(t)) for c in chunks.intersection(held)}
        hits = doc.hits
        occ: list[tuple[int, int, str]] = []
        for c in found:
            toks = tokens[c]
            h = hits.get(c)
            if h is None:
                h = hits[c] = tuple(_occurrences(text, c, toks))
            occ += h if len(toks) == 1 else [x for x in h if x[2] in query_terms]
        for c, toks in doc.long.items():
            if any(t[0] in query_terms for t in toks):
                occ += [x for x in _occurrences(text, c, toks) if x[2] in query_terms]
        return occ

    # -------------------------------------------------------------------- per document

    def _counts(self, st: _State, doc: _Doc, text: str) -> tuple[int, ...]:
        """Analyzed terms per passage (computed on first use, then kept with the document)."""
        if doc.counts is None:
            counts_get = st.counts.__getitem__
            counts = []
            for p in doc.passages:
                try:
                    counts.append(sum(map(counts_get, text[p.start:p.end].split())))
                except KeyError:  # a long chunk
                    counts.append(len(self._analyzer.terms(text[p.start:p.end])))
            doc.counts = tuple(counts)
        return doc.counts

    def _doc(self, text: str, passage_chars: int) -> tuple[_State, _Doc]:
        key = (text, passage_chars)
        st = self._state
        doc = st.docs.get(key)
        if doc is not None:
            # mark as recently used (single dict operations, atomic under the GIL; a lost race
            # only loses the mark)
            if st.docs.pop(key, None) is not None:
                st.docs[key] = doc
            return st, doc
        passages = split_passages(text, passage_chars)
        size = len(text)
        cut = any((p.start and not text[p.start - 1].isspace()) or (p.end < size and not text[p.end].isspace())
                  for p in passages)
        if cut or not passages:
            return st, _Doc(passages, False, set(), {}, 0)
        chunks = set(text.split())
        st, long = self._learn(chunks)
        cost = size + 60 * len(chunks) + 100 * len(passages) + 500  # ~ its memory (measured on SciFact)
        doc = _Doc(passages, True, chunks, long, cost)
        if cost <= self._max_doc_bytes // 4:
            with self._lock:
                if st is self._state and key not in st.docs:
                    docs = st.docs
                    docs[key] = doc
                    st.doc_cost += cost
                    while st.doc_cost > self._max_doc_bytes and docs:
                        try:  # the oldest entry (readers re-insert entries without the lock)
                            st.doc_cost -= docs.pop(next(iter(docs))).cost
                        except (RuntimeError, KeyError, StopIteration):
                            continue
        return st, doc

    def _tokens_of(self, chunk: str) -> ChunkTokens:
        """``(term, start, end)`` of each token of ``chunk``, as ``analyzer.tokens`` gives them."""
        if self._ascii_words and chunk.isascii():
            # the common chunk: one ASCII word, perhaps wrapped in punctuation ("(herons,"). ASCII
            # punctuation never belongs to a word (an apostrophe only inside one), so the word is
            # the one token, and the analyzer's cached terms() of it is its term
            core = chunk.strip(_ASCII_PUNCTUATION)
            if core.isalnum():
                terms = self._analyzer.terms(core)
                if len(terms) <= 1:
                    start = chunk.index(core)
                    return ((terms[0], start, start + len(core)),) if terms else ()
        return tuple((t.term, t.start, t.end) for t in self._analyzer.tokens(chunk))

    def _learn(self, chunks: set[str]) -> tuple[_State, dict[str, ChunkTokens]]:
        """Make sure every chunk is known: the state to read, and the tokens of the chunks too
        long to keep in the chunk map."""
        st = self._state
        new = chunks.difference(st.tokens)
        if not new:
            return st, {}
        long: dict[str, ChunkTokens] = {}
        with self._lock:
            st = self._state
            new = chunks.difference(st.tokens)
            if len(st.tokens) + len(new) > self._max:
                st = self._state = _State()
                new = chunks
            tokens, counts, by_term = st.tokens, st.counts, st.by_term
            for c in new:
                toks = self._tokens_of(c)
                if len(c) > MAX_KEPT_CHUNK_LEN:
                    long[c] = toks
                    continue
                tokens[c] = toks
                counts[c] = len(toks)
                for term in {t[0] for t in toks}:
                    held = by_term.get(term)
                    if held is None:
                        by_term[term] = {c}
                    else:
                        held.add(c)
        return st, long


def _occurrences(text: str, chunk: str, toks: ChunkTokens) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of each token of each occurrence of ``chunk`` as a whole
    whitespace-separated chunk of ``text``."""
    out: list[tuple[int, int, str]] = []
    size = len(text)
    find = text.find
    n = len(chunk)
    pos = find(chunk)
    while pos != -1:
        end = pos + n
        if (pos == 0 or text[pos - 1].isspace()) and (end == size or text[end].isspace()):
            out += [(pos + s, pos + e, term) for term, s, e in toks]
            pos = find(chunk, end)
        else:
            pos = find(chunk, pos + 1)
    return out


def _scored(p: Passage, i: int, hit_terms: list[str], spans: list[tuple[int, int]], n_terms: int,
            query_terms: Mapping[str, float], total_w: float) -> ScoredPassage:
    """The reference's formula; ``hit_terms`` in token order (so the set below iterates, and
    sums, in the reference's order)."""
    distinct = set(hit_terms)
    coverage = sum(query_terms[t] for t in distinct) / total_w
    density = min(1.0, 4.0 * len(hit_terms) / max(n_terms, 1))
    score = coverage + DENSITY_WEIGHT * density + POSITION_WEIGHT / (1 + i)
    return ScoredPassage(p, i, score, dedupe_spans(spans))


_MATCHERS: weakref.WeakKeyDictionary[TextAnalyzer, ChunkMatcher] = weakref.WeakKeyDictionary()
_MATCHERS_LOCK = threading.Lock()


def matcher_for(analyzer: TextAnalyzer) -> ChunkMatcher:
    """The shared :class:`ChunkMatcher` of ``analyzer`` (one per analyzer object)."""
    try:
        m = _MATCHERS.get(analyzer)
        if m is None:
            with _MATCHERS_LOCK:
                m = _MATCHERS.get(analyzer)
                if m is None:
                    m = _MATCHERS[analyzer] = ChunkMatcher(analyzer)
    except TypeError:  # not weak-referenceable (or not hashable): a matcher for this call only
        m = ChunkMatcher(analyzer)
    return m


def score_text_fast(text: str, analyzer: TextAnalyzer, query_terms: Mapping[str, float],
                    passage_chars: int = DEFAULT_PASSAGE_CHARS) -> tuple[list[Passage], list[ScoredPassage]]:
    """``(split_passages(text, passage_chars), score_passages(text, those, analyzer, query_terms))``,
    computed through the analyzer's shared :class:`ChunkMatcher`."""
    return matcher_for(analyzer).score(text, query_terms, passage_chars)
