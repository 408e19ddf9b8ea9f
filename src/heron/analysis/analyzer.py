"""The :class:`Analyzer`: a spec compiled into a fast, cached text → terms function.

Speed (analysis is the indexing bottleneck in Python) comes from two caches:

* a **token cache** ``surface token -> term`` (``""`` when the token is dropped), so the
  normalize / fold / stopword / stem chain runs once per distinct surface token;
* a **chunk cache** ``whitespace-separated chunk -> tuple of terms``. No token spans
  whitespace (see :mod:`heron.analysis.tokenizer`), so ``terms(text)`` is the concatenation
  of the cached terms of ``text.split()``: on a warm cache the fast path is ``str.split``
  plus one dict lookup per chunk, all in C. Chunks not in the cache go through the regex
  tokenizer and the token cache, and are then cached (chunks longer than
  :data:`MAX_CACHED_CHUNK_LEN` characters, e.g. unspaced CJK sentences, are not).

Both caches are bounded: when one exceeds its size it is cleared. Analyzers are safe to
share between threads: dict operations are atomic under the GIL, and the Snowball stemmer
(which is not re-entrant) is only called under a lock, on cache misses.

Positions: :meth:`Analyzer.tokens` numbers the *kept* tokens 0, 1, 2 …; a removed stopword
(or a token dropped by the length filter) does not consume a position, so ``position`` is
the index into ``terms(text)``. Each CJK bigram/unigram takes one position.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import chain

import Stemmer

from heron.analysis.cjk import run_surfaces, split_run
from heron.analysis.filters import normalize_and_fold
from heron.analysis.spec import AnalyzerSpec
from heron.analysis.stopwords import load_stopwords
from heron.analysis.tokenizer import TOKEN_RE, is_cjk

#: Chunks (whitespace-separated pieces of text) longer than this are analyzed but not cached.
MAX_CACHED_CHUNK_LEN = 64
#: Default bounds of the per-analyzer caches (entries); a cache is cleared when it is full.
DEFAULT_CHUNK_CACHE_SIZE = 1_000_000
DEFAULT_TOKEN_CACHE_SIZE = 500_000

_chain_from = chain.from_iterable
_findall = TOKEN_RE.findall
_finditer = TOKEN_RE.finditer


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

    def __init__(
        self,
        spec: AnalyzerSpec,
        *,
        chunk_cache_size: int = DEFAULT_CHUNK_CACHE_SIZE,
        token_cache_size: int = DEFAULT_TOKEN_CACHE_SIZE,
    ) -> None:
        self.spec = spec
        self._casefold = spec.lowercase
        self._fold = spec.ascii_folding
        self._min_len = spec.min_token_len
        self._max_len = spec.max_token_len
        self._cjk_mode = spec.cjk
        self._stemmer = Stemmer.Stemmer(spec.stemmer, 0) if spec.stemmer is not None else None
        self._stem_lock = threading.Lock()
        self._chunk_cache_size = max(1, chunk_cache_size)
        self._token_cache_size = max(1, token_cache_size)
        self._chunk_cache: dict[str, tuple[str, ...]] = {}
        self._chunk_getitem = self._chunk_cache.__getitem__
        self._token_cache: dict[str, str] = {}
        self._stopset = self._build_stopset()

    def __repr__(self) -> str:
        return f"Analyzer({self.spec!r})"

    # ------------------------------------------------------------------ public API

    def terms(self, text: str) -> list[str]:
        """Analyzed terms of ``text`` in order (stopwords and dropped tokens removed)."""
        chunks = text.split()
        try:
            return list(_chain_from(map(self._chunk_getitem, chunks)))
        except KeyError:
            return self._terms_with_misses(chunks)

    def tokens(self, text: str) -> list[Token]:
        """Analyzed tokens with positions and character offsets into ``text``.

        ``[t.term for t in analyzer.tokens(s)] == analyzer.terms(s)`` for every string.
        """
        out: list[Token] = []
        term_of = self._term
        cjk_mode = self._cjk_mode
        for m in _finditer(text):
            start, end = m.span()
            if m.group(2) is None:
                term = term_of(m.group(), False)
                if term:
                    out.append(Token(term, len(out), start, end))
            else:
                for surface, s, e in split_run(m.group(), cjk_mode):
                    term = term_of(surface, True)
                    if term:
                        out.append(Token(term, len(out), start + s, start + e))
        return out

    def analyze_term(self, token: str) -> str | None:
        """Run one surface token through the filter chain; ``None`` if it is dropped.

        A token made only of CJK characters is treated as a CJK unit (normalized, never
        folded or stemmed); it is not split into bigrams.
        """
        if not token:
            return None
        return self._term(token, is_cjk(token)) or None

    def clear_cache(self) -> None:
        """Forget all cached analysis results (they are recomputed on demand)."""
        self._chunk_cache.clear()
        self._token_cache.clear()

    # ------------------------------------------------------------------ internals

    def _build_stopset(self) -> frozenset[str]:
        sw = self.spec.stopwords
        if sw is None:
            return frozenset()
        words = load_stopwords(sw) if isinstance(sw, str) else sw
        return frozenset(
            normalize_and_fold(w, self._casefold, self._fold and not is_cjk(w)) for w in words
        )

    def _compute_term(self, surface: str, cjk: bool) -> str:
        """The uncached filter chain for one surface token (``""`` = dropped)."""
        s = normalize_and_fold(surface, self._casefold, self._fold and not cjk)
        if not self._min_len <= len(s) <= self._max_len or s in self._stopset:
            return ""
        if self._stemmer is not None and not cjk:
            with self._stem_lock:
                s = self._stemmer.stemWord(s)
        return s

    def _term(self, surface: str, cjk: bool) -> str:
        """Cached :meth:`_compute_term`."""
        cache = self._token_cache
        term = cache.get(surface)
        if term is None:
            term = self._compute_term(surface, cjk)
            if len(cache) >= self._token_cache_size:
                cache.clear()
            cache[surface] = term
        return term

    def _analyze_chunk(self, chunk: str) -> tuple[str, ...]:
        """Terms of one whitespace-free chunk (uncached at the chunk level)."""
        term_of = self._term
        out: list[str] = []
        for word, run in _findall(chunk):
            if word:
                term = term_of(word, False)
                if term:
                    out.append(term)
            else:
                for surface in run_surfaces(run, self._cjk_mode):
                    term = term_of(surface, True)
                    if term:
                        out.append(term)
        return tuple(out)

    def _terms_with_misses(self, chunks: list[str]) -> list[str]:
        """Slow path of :meth:`terms`: analyze the chunks missing from the cache, then assemble.

        Missing chunks are added to the cache; over-long ones only for the duration of the call.
        """
        cache = self._chunk_cache
        computed = {c: self._analyze_chunk(c) for c in set(chunks).difference(cache)}
        if len(cache) + len(computed) > self._chunk_cache_size:
            cache.clear()
        cache.update(computed)
        try:
            return list(_chain_from(map(self._chunk_getitem, chunks)))
        except KeyError:  # the cache was cleared concurrently by another thread
            out: list[str] = []
            for c in chunks:
                terms = computed.get(c)
                out.extend(terms if terms is not None else self._analyze_chunk(c))
            return out
        finally:
            for c in computed:
                if len(c) > MAX_CACHED_CHUNK_LEN:
                    cache.pop(c, None)
