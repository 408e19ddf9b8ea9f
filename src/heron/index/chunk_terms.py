"""Indexed text to term ids through a table of keys (the indexing hot path).

``Analyzer.terms(text)`` is the concatenation, over ``text.split()``, of each chunk's terms
(see :mod:`heron.analysis.analyzer`); an all-ASCII chunk's terms are in turn those of its
words (runs of ASCII letters and digits joined by single apostrophes: what the ``unicode``
tokenizer finds there), each analyzed on its own. And text repeats itself: a 300k-document
corpus has one distinct key per hundred tokens. So the segment builder does not analyze
documents one at a time in Python. :class:`ChunkTermIds` encodes each text to UTF-8 into a
batch; one kernel (``scan_chunks``) splits the batch at whitespace exactly like
``str.split()``, splits ASCII chunks into words (lower-cased when the analyzer lower-cases:
it would anyway), and maps every key — word, or whole non-ASCII chunk — to its id in a hash
table of the keys seen so far, inserting the new ones. Only new keys come back to Python,
once each: decoded in one call, analyzed together by the field's analyzer
(``Analyzer.chunk_terms_many``), their terms numbered in the builder's vocabulary. A second kernel (``expand_chunks``) writes
each document's term ids. The result equals ``[vocab[t] for t in analyzer.terms(text)]`` per
text (differential tests), at a few nanoseconds per byte instead of a dict lookup and several
Python objects per token.

The table lives as long as its builder (one segment), bounded by ``max_chunks`` keys: past
that it starts empty again at the next batch (term ids are the vocabulary's, so nothing
changes).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from itertools import chain
from types import ModuleType

import numpy as np

from heron import kernels
from heron.analysis import Analyzer

#: Non-ASCII code points that ``str.split()`` treats as whitespace (those Python calls spaces).
WHITESPACE = np.array([cp for cp in range(128, 0x110000) if chr(cp).isspace()], dtype=np.int64)
#: the scanner's class of each byte value (``kernels.compiled.PUNCT`` ... ``OTHER``): ASCII
#: punctuation 0, ASCII whitespace 1, ASCII letters and digits 2, the apostrophe 3, a UTF-8
#: lead byte of one of those whitespace code points 4 (decoded only then), other non-ASCII 5
BYTE_CLASS = np.zeros(256, dtype=np.uint8)
BYTE_CLASS[[ord(c) for c in " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"]] = 1
BYTE_CLASS[[ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]] = 2
BYTE_CLASS[ord("'")] = 3
BYTE_CLASS[128:] = 5
BYTE_CLASS[[chr(int(cp)).encode()[0] for cp in WHITESPACE]] = 4

_EMPTY_IDS = np.zeros(0, dtype=np.uint32)


class ChunkTermIds:
    """Term ids of a stream of texts analyzed by ``analyzer``, numbered by ``term_id``
    (called once per new (chunk, term); typically a vocabulary's ``__getitem__``)."""

    def __init__(self, analyzer: Analyzer, term_id: Callable[[str], int], *, batch_bytes: int = 1 << 20,
                 max_chunks: int = 4_000_000, kernel_impl: ModuleType | None = None) -> None:
        self.analyzer = analyzer
        #: the kernels' module (the active backend unless a test picks one)
        self._k = kernel_impl if kernel_impl is not None else kernels.impl()
        #: ASCII words may be lower-cased before the table (the analyzer lower-cases them anyway)
        self._fold = analyzer.spec.lowercase
        self._term_id = term_id
        self._batch_bytes = batch_bytes
        self._max_chunks = max_chunks
        self._buf = bytearray()
        self._off = array("q", [0])
        self._ids: list[np.ndarray] = []
        self._lens: list[np.ndarray] = []
        self._out_bytes = 0  # of _ids and _lens
        self._held = 0  # see ram_bytes
        #: the scanner's scratch for the words of one chunk (start, end, hash), doubled on demand
        self._words: tuple[np.ndarray, np.ndarray, np.ndarray] = (
            np.empty(1024, dtype=np.int64), np.empty(1024, dtype=np.int64), np.empty(1024, dtype=np.uint64))
        self._clear_table()

    def add(self, text: str) -> None:
        """Append one text (its term ids come out of :meth:`result`, in order)."""
        if text:
            self._buf += text.encode("utf-8", "surrogatepass")
        self._off.append(len(self._buf))
        if len(self._buf) >= self._batch_bytes:
            self._run()

    def add_many(self, texts: list[str]) -> None:
        """:meth:`add` for each text in order, one encode per slice of about ``batch_bytes``
        (an ASCII text's byte length is its length; only the others are measured)."""
        n = len(texts)
        if n == 0:
            return
        nbytes = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        wide = np.flatnonzero(~np.fromiter(map(str.isascii, texts), dtype=bool, count=n))
        if len(wide):
            nbytes[wide] = [len(texts[w].encode("utf-8", "surrogatepass")) for w in wide.tolist()]
        ends = np.cumsum(nbytes)
        i = 0
        while i < n:
            base = int(ends[i - 1]) if i else 0
            # the slice [i, j) that fills the batch (at least one text)
            j = max(i + 1, min(n, int(np.searchsorted(ends, base + self._batch_bytes - len(self._buf))) + 1))
            self._off.frombytes((ends[i:j] + (len(self._buf) - base)).tobytes())
            self._buf += "".join(texts[i:j]).encode("utf-8", "surrogatepass")
            if len(self._buf) >= self._batch_bytes:
                self._run()
            i = j

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint32 term ids of every text added so far, concatenated; uint32 count per text)."""
        self._run()
        if not self._lens:
            return _EMPTY_IDS, np.zeros(0, dtype=np.uint32)
        if len(self._lens) > 1:
            self._ids = [np.concatenate(self._ids)]
            self._lens = [np.concatenate(self._lens)]
        return self._ids[0], self._lens[0]

    @property
    def ram_bytes(self) -> int:
        """Bytes held: term ids and counts produced so far, the chunk table, the batch to scan."""
        return self._held + len(self._buf) + 8 * len(self._off)

    @property
    def chunks(self) -> int:
        """Distinct chunks in the table."""
        return self._n

    # ------------------------------------------------------------------ internals

    def _clear_table(self) -> None:
        self._n = 0
        self._arena_len = 0
        self._slots = np.full(1024, -1, dtype=np.int32)  # always twice the key capacity: load <= 1/2
        self._hashes = np.zeros(512, dtype=np.uint64)
        self._key_off = np.zeros(513, dtype=np.int64)
        self._arena = np.zeros(8192, dtype=np.uint8)
        self._term_off = np.zeros(513, dtype=np.int64)
        self._term_ids = np.zeros(512, dtype=np.uint32)

    def _grow(self) -> None:
        """Double the key capacity (re-hashing the slots) and the arena."""
        cap = 2 * len(self._hashes)
        self._hashes = _grown(self._hashes, cap)
        self._key_off = _grown(self._key_off, cap + 1)
        self._term_off = _grown(self._term_off, cap + 1)
        self._arena = _grown(self._arena, 2 * len(self._arena))
        self._slots = self._k.rehash_chunks(self._hashes, self._n, 2 * cap)

    def _run(self) -> None:
        n_docs = len(self._off) - 1
        if n_docs == 0:
            return
        if self._n > self._max_chunks:
            self._clear_table()
        buf = np.frombuffer(self._buf, dtype=np.uint8)
        doc_off = np.frombuffer(self._off, dtype=np.int64)
        # a key is >= 1 byte, and keys within a text are separated: <= (bytes + 1) // 2 per text
        chunks = np.empty((len(buf) + n_docs) // 2, dtype=np.int32)
        doc_chunks = np.empty(n_docs, dtype=np.int64)
        k = self._k
        old = self._n
        d = n_out = 0
        while True:
            self._n, self._arena_len, d, n_out = k.scan_chunks(
                buf, doc_off, d, BYTE_CLASS, WHITESPACE, self._fold, self._slots, self._hashes, self._key_off,
                self._arena, self._n, self._arena_len, chunks, n_out, doc_chunks, *self._words)
            if d == n_docs:
                break
            if d < 0:  # a chunk with more words than the scratch holds
                d = -1 - d
                w_start, w_end, w_hash = self._words
                self._words = (np.empty(2 * len(w_start), dtype=np.int64), np.empty(2 * len(w_end), dtype=np.int64),
                               np.empty(2 * len(w_hash), dtype=np.uint64))
            else:
                self._grow()
        if self._n > old:
            self._analyze_new(old)
        ids, lens = k.expand_chunks(chunks, doc_chunks, self._term_off, self._term_ids)
        self._ids.append(ids)
        self._lens.append(lens)
        self._out_bytes += ids.nbytes + lens.nbytes
        self._held = self._out_bytes + sum(a.nbytes for a in (self._slots, self._hashes, self._key_off, self._arena,
                                                              self._term_off, self._term_ids))
        del buf, doc_off
        self._buf = bytearray()
        self._off = array("q", [0])

    def _analyze_new(self, old: int) -> None:
        """Terms of chunks ``old..n-1`` (each stored with a space after it: one decode, one split)."""
        region = self._arena[self._key_off[old]:self._arena_len].tobytes()
        new = region.decode("utf-8", "surrogatepass").split(" ")
        new.pop()  # after the last chunk's space
        terms = self.analyzer.chunk_terms_many(new)
        ids = np.array(list(map(self._term_id, chain.from_iterable(terms))), dtype=np.uint32)
        counts = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        base = int(self._term_off[old])
        self._term_off[old + 1:self._n + 1] = base + np.cumsum(counts)
        end = base + len(ids)
        if len(self._term_ids) < end:
            self._term_ids = _grown(self._term_ids, max(end, 2 * len(self._term_ids)))
        self._term_ids[base:end] = ids


def _grown(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` extended to ``n`` elements with zeros."""
    out = np.zeros(n, dtype=a.dtype)
    out[:len(a)] = a
    return out
