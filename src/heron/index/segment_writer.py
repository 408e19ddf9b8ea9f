"""In-memory accumulation of added documents into a ``SegmentData`` (what a flush writes).

Analysis dominates indexing cost in Python, so no per-token (or per-document analysis) work
happens in Python: each field's text is appended, UTF-8 encoded, to a batch that
:class:`~heron.index.chunk_terms.ChunkTermIds` turns into term ids with kernels (only chunks of
text never seen before reach the analyzer); terms are numbered through a ``defaultdict``
vocabulary. Inversion happens once per flush: a two-pass counting sort in kernels
(``count_postings``, ``fill_postings``) straight into (term, field) posting lists.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import numpy as np
import orjson

from heron import kernels
from heron.analysis import Analyzer, get_analyzer
from heron.config import IndexSettings
from heron.document import NO_DATE, Document, parse_date
from heron.index.chunk_terms import ChunkTermIds
from heron.index.segment import Columns, SegmentData
from heron.search.domains import url_domain
from heron.vectors.store import PendingVectors

#: bookkeeping per buffered document besides its id and text: the id's dict entry and list
#: slot, the liveness flag, five column values (measured with ``sys.getsizeof``: ~200 bytes)
PER_DOC_BYTES = 200
#: a vocabulary entry (dict slot and int; the term string itself is the analyzer's)
PER_TERM_BYTES = 64


class SegmentBuilder:
    """Buffers documents for one future segment."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self.fields = [f.name for f in settings.text_fields]
        self.analyzers: list[Analyzer] = [get_analyzer(f.analyzer) for f in settings.text_fields]
        self._next_tid = itertools.count()
        self.vocab: defaultdict[str, int] = defaultdict(self._next_tid.__next__)
        #: per field: texts -> term ids (``vocab`` numbers the terms)
        self._term_ids = [ChunkTermIds(a, self.vocab.__getitem__) for a in self.analyzers]
        self.slot_ids: list[str] = []
        self.alive: list[bool] = []
        self.records: list[bytes] = []
        self.columns = Columns(extra={f.name: [] for f in settings.filter_fields})
        self.by_id: dict[str, int] = {}
        self._extra = [(f.name, f.type) for f in settings.filter_fields]
        #: (title, text) per slot, embedded into passage vectors at flush (vector indexes only)
        self.vec_texts: list[tuple[str, str]] | None = [] if settings.vectors is not None else None
        #: bytes of ids, stored records and texts to embed (see ``ram_bytes``)
        self._doc_bytes = 0

    def __len__(self) -> int:
        return len(self.by_id)

    @property
    def slots(self) -> int:
        return len(self.slot_ids)

    @property
    def ram_bytes(self) -> int:
        """Estimated memory held for the buffered documents: their term ids (or text still to
        analyze), the chunk tables, the vocabulary, about 200 bytes of state per document plus
        its id, and stored records and texts to embed."""
        return (sum(t.ram_bytes for t in self._term_ids) + self._doc_bytes
                + PER_DOC_BYTES * len(self.slot_ids) + PER_TERM_BYTES * len(self.vocab))

    def add(self, doc: Document) -> None:
        old = self.by_id.get(doc.id)
        if old is not None:
            self.alive[old] = False
        self.by_id[doc.id] = len(self.slot_ids)
        self.slot_ids.append(doc.id)
        self.alive.append(True)
        if self.settings.single_field:
            self._term_ids[0].add(f"{doc.title} {doc.text}" if doc.title else doc.text)
        else:
            for name, term_ids in zip(self.fields, self._term_ids, strict=True):
                term_ids.add(doc.title if name == "title" else doc.text if name == "text" else _meta_text(doc, name))
        size = len(doc.id)
        if self.settings.store_documents:
            # copied: orjson's bytes keep its whole output buffer allocated (~8 KB each, measured)
            record = bytes(memoryview(orjson.dumps(doc.to_stored())))
            self.records.append(record)
            size += len(record)
        if self.vec_texts is not None:
            self.vec_texts.append((doc.title, doc.text))
            size += len(doc.title) + len(doc.text)
        self._doc_bytes += size
        c = self.columns
        c.date.append(parse_date(doc.date, "date")[1] if doc.date else NO_DATE)
        c.last_updated.append(parse_date(doc.last_updated, "last_updated")[1] if doc.last_updated else NO_DATE)
        c.url.append(doc.url)
        c.domain.append(url_domain(doc.url) if doc.url else "")
        c.language.append(doc.language)
        for name, typ in self._extra:
            v = doc.metadata.get(name)
            if v is not None and typ == "date":
                v = parse_date(v, f"metadata.{name}")[1]
            c.extra[name].append(v)

    def add_many(self, docs: list[Document]) -> None:
        """:meth:`add` for each document in order, column by column when the batch's ids are all
        new (otherwise one at a time, so a repeated id replaces exactly as there). ``add`` stays
        its own per-document code: routed through here a single add costs ~7 instead of ~2.5 us
        (measured), and live writers add one document at a time."""
        ids = [d.id for d in docs]
        by_id = self.by_id
        if len(set(ids)) != len(ids) or not by_id.keys().isdisjoint(ids):
            for d in docs:
                self.add(d)
            return
        start = len(self.slot_ids)
        by_id.update(zip(ids, range(start, start + len(ids)), strict=True))
        self.slot_ids += ids
        self.alive += [True] * len(ids)
        if self.settings.single_field:
            self._term_ids[0].add_many([f"{d.title} {d.text}" if d.title else d.text for d in docs])
        else:
            for name, term_ids in zip(self.fields, self._term_ids, strict=True):
                if name == "title":
                    term_ids.add_many([d.title for d in docs])
                elif name == "text":
                    term_ids.add_many([d.text for d in docs])
                else:
                    term_ids.add_many([_meta_text(d, name) for d in docs])
        size = sum(map(len, ids))
        if self.settings.store_documents:
            records = [bytes(memoryview(orjson.dumps(d.to_stored()))) for d in docs]  # copied: see add
            self.records += records
            size += sum(map(len, records))
        if self.vec_texts is not None:
            self.vec_texts += [(d.title, d.text) for d in docs]
            size += sum(len(d.title) + len(d.text) for d in docs)
        self._doc_bytes += size
        c = self.columns
        c.date += [parse_date(d.date, "date")[1] if d.date else NO_DATE for d in docs]
        c.last_updated += [parse_date(d.last_updated, "last_updated")[1] if d.last_updated else NO_DATE for d in docs]
        urls = [d.url for d in docs]
        c.url += urls
        c.domain += [url_domain(u) if u else "" for u in urls]
        c.language += [d.language for d in docs]
        for name, typ in self._extra:
            values = [d.metadata.get(name) for d in docs]
            if typ == "date":
                values = [v if v is None else parse_date(v, f"metadata.{name}")[1] for v in values]
            c.extra[name] += values

    def delete(self, doc_id: str) -> bool:
        slot = self.by_id.pop(doc_id, None)
        if slot is None:
            return False
        self.alive[slot] = False
        return True

    def build(self) -> SegmentData:
        """Invert the buffered documents (dropping replaced/deleted ones)."""
        analyzed = [term_ids.result() for term_ids in self._term_ids]  # first: this may add terms
        keep = np.array(self.alive, dtype=bool)
        n_slots = len(keep)
        newdoc = np.cumsum(keep) - 1
        n_docs = int(keep.sum())
        terms_by_tid = list(self.vocab.keys())
        order = sorted(range(len(terms_by_tid)), key=terms_by_tid.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
        terms = [terms_by_tid[i] for i in order]
        n_fields = len(self.fields)
        lengths = np.zeros((n_fields, n_docs), dtype=np.uint32)
        # counting-sort inversion (two passes over the term ids): posting list ``l`` of term
        # ordinal ``o`` in field ``f`` is ``o * n_fields + f``, so lists come in (term, field) order
        n_lists = len(terms) * n_fields
        df = np.zeros(n_lists, dtype=np.int64)
        last = np.full(n_lists, -1, dtype=np.int64)
        k = kernels.impl()
        lists_of = [rank * n_fields + f for f in range(n_fields)]
        for f in range(n_fields):
            tid, lens = analyzed[f]
            lengths[f] = lens[keep]
            k.count_postings(tid, lens, keep, newdoc, lists_of[f], last, df)
        starts = np.zeros(n_lists + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])
        pos = starts[:-1].copy()
        last.fill(-1)
        doc_arr = np.empty(int(starts[-1]), dtype=np.uint32)
        tfs = np.empty(int(starts[-1]), dtype=np.uint32)
        for f in range(n_fields):
            tid, lens = analyzed[f]
            k.fill_postings(tid, lens, keep, newdoc, lists_of[f], last, pos, doc_arr, tfs)
        cols = self.columns
        if n_docs == n_slots:  # nothing replaced or deleted in this buffer: no filtering
            columns = cols
            ids = self.slot_ids
            records = self.records
        else:
            kept = np.flatnonzero(keep).tolist()
            columns = Columns(
                date=[cols.date[i] for i in kept],
                last_updated=[cols.last_updated[i] for i in kept],
                domain=[cols.domain[i] for i in kept],
                url=[cols.url[i] for i in kept],
                language=[cols.language[i] for i in kept],
                extra={k: [v[i] for i in kept] for k, v in cols.extra.items()},
            )
            ids = [self.slot_ids[i] for i in kept]
            records = [self.records[i] for i in kept] if self.records else []
        vectors = None
        if self.vec_texts is not None and self.settings.vectors is not None:
            vt = self.vec_texts if n_docs == n_slots else [self.vec_texts[i] for i in np.flatnonzero(keep).tolist()]
            vectors = PendingVectors(self.settings.vectors, [t for t, _ in vt], [x for _, x in vt])
        return SegmentData(
            terms=terms,
            list_df=df,
            doc=doc_arr,
            tf=tfs,
            lengths=lengths,
            ids=ids,
            records=records,
            columns=columns,
            vectors=vectors,
        )


def _meta_text(doc: Document, name: str) -> str:
    v: Any = doc.metadata.get(name)
    return v if isinstance(v, str) else ""
