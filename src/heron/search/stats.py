"""Collection statistics behind a provider protocol.

Scoring asks a ``StatsProvider`` for N, the total field length and document frequencies
instead of reading them from one segment, so a sharded deployment can plug in global
statistics and score exactly like a single index (Lucene's ``CollectionStatistics`` /
tantivy's ``Bm25StatisticsProvider``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from heron.index.manifest import SegmentMeta
from heron.index.segment import SegmentReader, encode_terms


class StatsProvider(Protocol):
    """Source of BM25 collection statistics (local snapshot, or summed over shards)."""

    def doc_count(self) -> int:
        """Documents counted for idf and avgdl (Lucene counts deleted docs until merged)."""
        ...

    def total_length(self, field: int) -> int:
        """Sum of analyzed lengths of ``field`` over those documents."""
        ...

    def doc_freq(self, term: str, field: int) -> int: ...

    def doc_freqs(self, terms: Sequence[str], fields: np.ndarray) -> np.ndarray:
        """Vectorised ``doc_freq`` over parallel sequences (int64 array)."""
        ...


@dataclass(frozen=True, slots=True)
class FieldStats:
    doc_count: int
    total_length: int

    @property
    def avgdl(self) -> float:
        return self.total_length / self.doc_count if self.doc_count else 1.0


class LocalStats:
    """Statistics of one searcher snapshot (all its segments)."""

    def __init__(self, metas: Sequence[SegmentMeta], readers: Sequence[SegmentReader]) -> None:
        self._metas = metas
        self._readers = readers
        self._n = sum(m.doc_count for m in metas)
        nf = len(metas[0].sum_len) if metas else 0
        self._len = [sum(m.sum_len[f] for m in metas) for f in range(nf)]

    def doc_count(self) -> int:
        return self._n

    @property
    def only_reader(self) -> SegmentReader | None:
        """The snapshot's segment when it has exactly one (its statistics are that segment's)."""
        return self._readers[0] if len(self._readers) == 1 else None

    def total_length(self, field: int) -> int:
        return self._len[field] if field < len(self._len) else 0

    def doc_freq(self, term: str, field: int) -> int:
        return int(self.doc_freqs([term], np.array([field], dtype=np.int64))[0])

    def doc_freqs(self, terms: Sequence[str], fields: np.ndarray) -> np.ndarray:
        return self.doc_freqs_and_ords(terms, fields)[0]

    def doc_freqs_and_ords(self, terms: Sequence[str], fields: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Document frequencies of (``terms[i]``, ``fields[i]``) summed over the segments, and
        each segment's ordinals of ``terms`` (what its kernels take): one dictionary lookup
        per segment for all the terms of a query."""
        q = encode_terms(terms)
        q_fields = np.asarray(fields, dtype=np.int64)
        dfs: np.ndarray | None = None
        all_ords = []
        for r in self._readers:
            ords, seg_dfs = r.term_doc_freqs(q, q_fields)
            dfs = seg_dfs if dfs is None else dfs + seg_dfs
            all_ords.append(ords)
        return (np.zeros(len(terms), dtype=np.int64) if dfs is None else dfs), all_ords


class SummedStats:
    """Sum of several providers' statistics (e.g. shards): exact global BM25 statistics."""

    def __init__(self, parts: Sequence[StatsProvider]) -> None:
        self._parts = parts

    def doc_count(self) -> int:
        return sum(p.doc_count() for p in self._parts)

    def total_length(self, field: int) -> int:
        return sum(p.total_length(field) for p in self._parts)

    def doc_freq(self, term: str, field: int) -> int:
        return sum(p.doc_freq(term, field) for p in self._parts)

    def doc_freqs(self, terms: Sequence[str], fields: np.ndarray) -> np.ndarray:
        out = np.zeros(len(terms), dtype=np.int64)
        for p in self._parts:
            out += p.doc_freqs(terms, fields)
        return out
