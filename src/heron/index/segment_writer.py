"""In-memory accumulation of added documents into a ``SegmentData`` (what a flush writes).

Analysis dominates indexing cost in Python, so the hot path per document is: one analyzer
call per field (regex + cached per-token normalisation/stemming), then ``array.extend`` of
term ids through a ``defaultdict`` vocabulary — no per-token Python loop. Inversion happens
once per flush with numpy (one ``np.unique`` over packed (term, field, doc) keys).
"""

from __future__ import annotations

import itertools
from array import array
from collections import defaultdict
from typing import Any

import numpy as np
import orjson

from heron.analysis import Analyzer, get_analyzer
from heron.config import IndexSettings
from heron.document import NO_DATE, Document, parse_date
from heron.index.segment import Columns, SegmentData
from heron.search.domains import url_domain
from heron.vectors.store import PendingVectors


class SegmentBuilder:
    """Buffers documents for one future segment."""

    def __init__(self, settings: IndexSettings) -> None:
        self.settings = settings
        self.fields = [f.name for f in settings.text_fields]
        self.analyzers: list[Analyzer] = [get_analyzer(f.analyzer) for f in settings.text_fields]
        self._next_tid = itertools.count()
        self.vocab: defaultdict[str, int] = defaultdict(self._next_tid.__next__)
        self.tids = [array("I") for _ in self.fields]
        self.lens = [array("I") for _ in self.fields]
        self.slot_ids: list[str] = []
        self.alive: list[bool] = []
        self.records: list[bytes] = []
        self.columns = Columns(extra={f.name: [] for f in settings.filter_fields})
        self.by_id: dict[str, int] = {}
        self._extra = [(f.name, f.type) for f in settings.filter_fields]
        #: (title, text) per slot, embedded into passage vectors at flush (vector indexes only)
        self.vec_texts: list[tuple[str, str]] | None = [] if settings.vectors is not None else None

    def __len__(self) -> int:
        return len(self.by_id)

    @property
    def slots(self) -> int:
        return len(self.slot_ids)

    def add(self, doc: Document) -> None:
        old = self.by_id.get(doc.id)
        if old is not None:
            self.alive[old] = False
        self.by_id[doc.id] = len(self.slot_ids)
        self.slot_ids.append(doc.id)
        self.alive.append(True)
        getitem = self.vocab.__getitem__
        if self.settings.single_field:
            texts = [f"{doc.title} {doc.text}" if doc.title else doc.text]
        else:
            texts = [doc.title if name == "title" else doc.text if name == "text" else _meta_text(doc, name)
                     for name in self.fields]
        for f, (analyzer, text) in enumerate(zip(self.analyzers, texts, strict=True)):
            terms = analyzer.terms(text) if text else []
            self.tids[f].extend(map(getitem, terms))
            self.lens[f].append(len(terms))
        if self.settings.store_documents:
            self.records.append(orjson.dumps(doc.to_stored()))
        if self.vec_texts is not None:
            self.vec_texts.append((doc.title, doc.text))
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

    def delete(self, doc_id: str) -> bool:
        slot = self.by_id.pop(doc_id, None)
        if slot is None:
            return False
        self.alive[slot] = False
        return True

    def build(self) -> SegmentData:
        """Invert the buffered documents (dropping replaced/deleted ones)."""
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
        keys = []
        lengths = np.zeros((n_fields, n_docs), dtype=np.uint32)
        slot_range = np.arange(n_slots, dtype=np.int64)
        for f in range(n_fields):
            lens = np.frombuffer(self.lens[f], dtype=np.uint32) if n_slots else np.zeros(0, np.uint32)
            lengths[f] = lens[keep]
            tid = np.frombuffer(self.tids[f], dtype=np.uint32) if len(self.tids[f]) else np.zeros(0, np.uint32)
            slot = np.repeat(slot_range, lens.astype(np.int64))
            live = keep[slot]
            doc = newdoc[slot[live]]
            ords = rank[tid[live].astype(np.int64)]
            keys.append((ords * n_fields + f) * max(n_docs, 1) + doc)
        allkeys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
        uniq, counts = np.unique(allkeys, return_counts=True)
        nd = max(n_docs, 1)
        doc_arr = uniq % nd
        tf_ = uniq // nd
        field_arr = tf_ % n_fields
        term_arr = tf_ // n_fields
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
            term=term_arr,
            field=field_arr,
            doc=doc_arr,
            tf=counts.astype(np.uint32),
            lengths=lengths,
            ids=ids,
            records=records,
            columns=columns,
            vectors=vectors,
        )


def _meta_text(doc: Document, name: str) -> str:
    v: Any = doc.metadata.get(name)
    return v if isinstance(v, str) else ""
