"""The :class:`Analyzer`: a spec compiled into a fast, cached text → terms function.

Speed (analysis is the indexing bottleneck in Python) comes from one cache,
``piece -> tuple of terms``, where a piece is either

* a **whitespace-separated chunk** of text (``"(born"``, ``"Shaw's"``, ``"1990),"``), or
* a **surface token** (a word, or a CJK bigram/unigram).

No token spans whitespace (see :mod:`heron.analysis.tokenizer`), so ``terms(text)`` is the
concatenation of the cached terms of ``text.split()``: on a warm cache the fast path is
``str.split`` plus one dict lookup per chunk, all in C. A chunk that is missing goes through
the regex tokenizer, and each of its tokens through the cache again, so the filter chain
(normalize / fold / stopwords / stem) runs once per distinct surface token. Both kinds of
key can share the cache because a surface token, analyzed as a chunk on its own, gives
exactly its own term (the common plain-word chunk *is* its token). Pieces longer than
:data:`MAX_CACHED_PIECE_LEN` characters (URLs, unspaced CJK sentences) are not kept.

Returned terms are shared ``str`` objects (one per distinct term per analyzer), so callers
that hash them again, e.g. an indexer's vocabulary, reuse the cached hash.

The cache is bounded: when it holds ``cache_size`` entries (about 140 bytes each) its newer
half is dropped. Analyzers are safe to share between threads: dict operations are atomic
under the GIL, and the Snowball stemmer (which is not re-entrant) is only called under a
lock, on cache misses.

Positions: :meth:`Analyzer.tokens` numbers the *kept* tokens 0, 1, 2 …; a removed stopword
(or a token dropped by the length filter) does not consume a position, so ``position`` is
the index into ``terms(text)``. Each CJK bigram/unigram takes one position.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from itertools import chain, compress, islice

import Stemmer

from heron.analysis.cjk import run_surfaces, split_run
from heron.analysis.filters import elisions_for, normalize_and_fold, strip_elision
from heron.analysis.spec import AnalyzerSpec
from heron.analysis.stopwords import load_stopwords
from heron.analysis.tokenizer import TOKEN_RE, is_cjk

#: Pieces (chunks or tokens) longer than this many characters are analyzed but not cached.
MAX_CACHED_PIECE_LEN = 64
#: Default bound of an analyzer's cache (entries); when full, its newer half is dropped.
DEFAULT_CACHE_SIZE = 1_000_000

#: what the ``unicode`` tokenizer takes as one word in ASCII text
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*")
_chain_from = chain.from_iterable
_findall = TOKEN_RE.findall
_finditer = TOKEN_RE.finditer

Terms = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Token:
    """One analyzed token: ``text[start:end]`` is its surface form in the original input."""

    term: str
    position: int
    start: int
    end: int


class Analyzer:
    """Turns text into index/query terms according to an :class:`AnalyzerSpec`.

    Create through :func:`heron.analysis.get_analyzer` to share the (cached) instance.
    """

    spec: AnalyzerSpec

    def __init__(self, spec: AnalyzerSpec, *, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.spec = spec
        self._casefold = spec.lowercase
        self._fold = spec.ascii_folding
        self._min_len = spec.min_token_len
        self._max_len = spec.max_token_len
        self._cjk_mode = spec.cjk
        self._stemmer = Stemmer.Stemmer(spec.stemmer, 0) if spec.stemmer is not None else None
        self._stem_lock = threading.Lock()
        language = spec.stemmer or (spec.stopwords if isinstance(spec.stopwords, str) else None)
        self._elisions = elisions_for(language)
        self._stopset = self._build_stopset()
        self._cache_size = max(16, cache_size)
        self._cache: dict[str, Terms] = {}
        self._getitem = self._cache.__getitem__
        self._singles: dict[str, tuple[str]] = {}

    def __repr__(self) -> str:
        return f"Analyzer({self.spec!r})"

    def __reduce__(self) -> tuple[object, tuple[AnalyzerSpec, int]]:
        # pickles as its spec (e.g. to worker processes); caches and locks are rebuilt empty
        return (_rebuild, (self.spec, self._cache_size))

    # ------------------------------------------------------------------ public API

    def terms(self, text: str) -> list[str]:
        """Analyzed terms of ``text`` in order (stopwords and dropped tokens removed)."""
        chunks = text.split()
        try:
            return list(_chain_from(map(self._getitem, chunks)))
        except KeyError:
            return self._terms_with_misses(chunks)

    def chunk_terms(self, chunk: str) -> Terms:
        """Terms of one non-empty piece of text without whitespace (cached): ``terms(text)`` is
        the concatenation of ``chunk_terms(c)`` over ``c in text.split()``."""
        terms = self._cache.get(chunk)
        if terms is None:
            terms = self._analyze_chunk(chunk)
            self._store(chunk, terms)
        return terms

    def chunk_terms_many(self, chunks: list[str]) -> list[Terms]:
        """``[self.chunk_terms(c) for c in chunks]``; the uncached ASCII words among them (letters
        and digits, possibly joined by apostrophes: most new keys when indexing) are analyzed
        together, with one stemmer call for all of them."""
        out: list[Terms | None] = list(map(self._cache.get, chunks))
        words: list[int] = []
        for i, (c, t) in enumerate(zip(chunks, out, strict=True)):
            if t is None:
                if c.isascii() and (c.isalnum() or _ASCII_WORD.fullmatch(c) is not None):
                    words.append(i)
                else:
                    out[i] = self.chunk_terms(c)
        if words:
            for i, terms in zip(words, self._ascii_words_terms([chunks[i] for i in words]), strict=True):
                out[i] = terms
        return out  # type: ignore[return-value]

    def _ascii_words_terms(self, surfaces: list[str]) -> list[Terms]:
        """:meth:`_compute_unit` of ASCII words (one token each, never CJK; NFKC and folding
        change nothing in ASCII beyond lower-casing), stemmed in one call, and cached."""
        words = "\n".join(surfaces).lower().split("\n") if self._casefold else surfaces  # no newline in a word
        if self._elisions:
            words = [strip_elision(w, self._elisions) for w in words]
        lo, hi, stop = self._min_len, self._max_len, self._stopset
        ok = [lo <= len(w) <= hi and w not in stop for w in words]
        kept = list(compress(words, ok))
        if self._stemmer is not None and kept:
            with self._stem_lock:
                kept = self._stemmer.stemWords(kept)
        setdefault = self._singles.setdefault
        stemmed = iter([setdefault(w, (w,)) if w else () for w in kept])
        terms: list[Terms] = [next(stemmed) if k else () for k in ok]
        cache = self._cache
        if len(cache) + len(surfaces) < self._cache_size and max(map(len, surfaces)) <= MAX_CACHED_PIECE_LEN:
            cache.update(zip(surfaces, terms, strict=True))
        else:
            for surface, t in zip(surfaces, terms, strict=True):
                self._store(surface, t)
        return terms

    def tokens(self, text: str) -> list[Token]:
        """Analyzed tokens with positions and character offsets into ``text``.

        ``[t.term for t in analyzer.tokens(s)] == analyzer.terms(s)`` for every string.
        """
        out: list[Token] = []
        unit = self._unit
        cjk_mode = self._cjk_mode
        for m in _finditer(text):
            start, end = m.span()
            if m.group(2) is None:
                for term in unit(m.group(), False):
                    out.append(Token(term, len(out), start, end))
            else:
                for surface, s, e in split_run(m.group(), cjk_mode):
                    for term in unit(surface, True):
                        out.append(Token(term, len(out), start + s, start + e))
        return out

    def analyze_term(self, token: str) -> str | None:
        """Run one surface token through the filter chain; ``None`` if it is dropped.

        A token made only of CJK characters is treated as one CJK unit (normalized, never
        folded or stemmed, not split into bigrams).
        """
        if not token:
            return None
        # not through the cache: its keys are text chunks, and ``token`` need not be one
        unit = self._compute_unit(token, is_cjk(token))
        return unit[0] if unit else None

    def clear_cache(self) -> None:
        """Forget all cached analysis results (they are recomputed on demand)."""
        self._cache = {}
        self._getitem = self._cache.__getitem__
        self._singles = {}

    # ------------------------------------------------------------------ internals

    def _build_stopset(self) -> frozenset[str]:
        sw = self.spec.stopwords
        if sw is None:
            return frozenset()
        words = load_stopwords(sw) if isinstance(sw, str) else sw
        return frozenset(normalize_and_fold(w, self._casefold, self._fold and not is_cjk(w)) for w in words)

    def _compute_unit(self, surface: str, cjk: bool) -> Terms:
        """The uncached filter chain for one surface token: ``(term,)``, or ``()`` if dropped."""
        if surface.isascii():
            s = surface.lower() if self._casefold else surface
        else:
            s = normalize_and_fold(surface, self._casefold, self._fold and not cjk)
        if self._elisions and not cjk:
            s = strip_elision(s, self._elisions)
        if not self._min_len <= len(s) <= self._max_len or s in self._stopset:
            return ()
        if self._stemmer is not None and not cjk:
            with self._stem_lock:
                s = self._stemmer.stemWord(s)
            if not s:
                return ()
        singles = self._singles
        single = singles.get(s)
        if single is None:
            single = singles[s] = (s,)
        return single

    def _store(self, piece: str, terms: Terms) -> None:
        if len(piece) <= MAX_CACHED_PIECE_LEN:
            cache = self._cache
            if len(cache) >= self._cache_size:
                cache = self._evict()
            cache[piece] = terms

    def _evict(self) -> dict[str, Terms]:
        """Make room: keep the oldest half of the cache, which in Zipfian text holds the
        frequent pieces (they are met first), and drop the rest.

        Thread-safe without a lock on the read path: the kept half goes into a *new* dict that
        replaces the old one (readers holding the old dict still get correct, if stale, entries);
        if another thread changes the old dict while it is copied, the cache just starts empty."""
        old = self._cache
        try:
            cache = dict(islice(old.items(), len(old) // 2))
        except RuntimeError:  # "dictionary changed size during iteration"
            cache = {}
        self._cache = cache
        self._getitem = cache.__getitem__
        if len(self._singles) >= self._cache_size:
            self._singles = {}  # only loses sharing of term objects, not correctness
        return cache

    def _unit(self, surface: str, cjk: bool) -> Terms:
        """Cached :meth:`_compute_unit`."""
        unit = self._cache.get(surface)
        if unit is None:
            unit = self._compute_unit(surface, cjk)
            self._store(surface, unit)
        return unit

    def _analyze_chunk(self, chunk: str) -> Terms:
        """Terms of one whitespace-free chunk (its tokens go through the cache)."""
        if chunk.isascii() and chunk.isalnum():  # the common case: the chunk is one plain word
            return self._compute_unit(chunk, False)
        unit = self._unit
        out: list[str] = []
        for word, run in _findall(chunk):
            if word:
                out += unit(word, False)
            else:
                surfaces = run_surfaces(run, self._cjk_mode)
                try:  # a long run: its bigrams are usually all cached already
                    out += list(_chain_from(map(self._getitem, surfaces)))
                except KeyError:
                    for surface in surfaces:
                        out += unit(surface, True)
        if len(out) == 1:
            return self._singles.get(out[0]) or (out[0],)
        return tuple(out)

    def _terms_with_misses(self, chunks: list[str]) -> list[str]:
        """Slow path of :meth:`terms`: one pass that analyzes and caches missing chunks.

        (A plain loop beats "collect the misses, then retry the C fast path": that looks
        every chunk up twice, and the lookups dominate.)
        """
        get = self._cache.get
        analyze = self._analyze_chunk
        store = self._store
        out: list[str] = []
        for c in chunks:
            terms = get(c)
            if terms is None:
                terms = analyze(c)
                store(c, terms)
            out += terms
        return out


def _rebuild(spec: AnalyzerSpec, cache_size: int) -> Analyzer:
    return Analyzer(spec, cache_size=cache_size)
