"""Tiered merge policy (a pure function over ``SegmentMeta``) and merge execution.

Policy: segments are grouped in tiers by size (powers of ``merge_factor`` in live docs);
when a tier holds ``merge_factor`` or more segments, its smallest ``merge_factor`` are
merged. A segment whose deleted fraction exceeds ``max_deleted_ratio`` is rewritten on
its own. Merging drops deleted documents; searchers keep their snapshot meanwhile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np

from heron import kernels
from heron.codec.store import StoreBuilder
from heron.index.manifest import SegmentMeta
from heron.index.segment import Columns, SegmentData, SegmentReader, Utf8Blob
from heron.vectors.store import VectorData, merge_vector_data


@dataclass(frozen=True, slots=True)
class TieredMergePolicy:
    merge_factor: int = 10
    max_deleted_ratio: float = 0.3
    min_tier_docs: int = 1000

    def find_merges(self, segments: tuple[SegmentMeta, ...]) -> list[list[str]]:
        merges: list[list[str]] = []
        used: set[str] = set()
        for s in segments:
            if s.doc_count and s.del_count / s.doc_count > self.max_deleted_ratio:
                merges.append([s.name])
                used.add(s.name)
        tiers: dict[int, list[SegmentMeta]] = {}
        for s in segments:
            if s.name in used:
                continue
            size = max(s.live_count, self.min_tier_docs)
            tier = int(math.log(size / self.min_tier_docs, self.merge_factor) + 1e-9)
            tiers.setdefault(tier, []).append(s)
        for tier in sorted(tiers):
            group = sorted(tiers[tier], key=lambda m: m.live_count)
            while len(group) >= self.merge_factor:
                batch, group = group[: self.merge_factor], group[self.merge_factor :]
                merges.append([m.name for m in batch])
        return merges


def _merge_dictionaries(readers: list[SegmentReader]) -> tuple[Utf8Blob, list[np.ndarray]]:
    """The union of the segments' sorted term dictionaries and, per segment, each of its terms'
    ordinal in it — merged as bytes by a kernel that releases the GIL (a live writer's other
    threads keep answering writes meanwhile): no Python string per term."""
    parts = [r.term_bytes() for r in readers]
    runs = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(o) - 1 for _, o in parts], out=runs[1:])
    blob = np.concatenate([b for b, _ in parts]) if parts else np.zeros(0, dtype=np.uint8)
    off = np.zeros(int(runs[-1]) + 1, dtype=np.int64)  # the terms' offsets in the concatenated blob
    if parts:
        np.cumsum(np.concatenate([np.diff(o) for _, o in parts]), out=off[1:])
    out_blob, out_off, remap = kernels.impl().merge_sorted_terms(blob, off, runs)
    return Utf8Blob(out_blob, out_off), [remap[runs[i] : runs[i + 1]] for i in range(len(parts))]


def _kept(values: list[Any], flags: list[bool] | None) -> Iterable[Any]:
    """The values of the documents a merge keeps (``flags``; None: all of them), copied by C
    loops (``itertools.compress``, or the whole list) rather than a Python generator per value."""
    return values if flags is None else compress(values, flags)


def merge_segments(readers: list[SegmentReader], lives: list[np.ndarray | None], n_fields: int) -> SegmentData:
    """Combine segments (in order) into one ``SegmentData`` without their deleted docs.

    Postings merge by a counting sort over the merged (term, field) lists: pass 1 counts each
    list's kept postings, pass 2 copies them; segments are visited in order and their documents
    renumbered upwards, so every merged list stays sorted by document. Stored documents are
    not re-encoded where a whole block of them lives (:meth:`StoreReader.copy_live`)."""
    k = kernels.impl()
    merged_terms, remaps = _merge_dictionaries(readers)
    n_lists = len(merged_terms) * n_fields
    df = np.zeros(n_lists, dtype=np.int64)
    plan = []
    base = 0
    for r, live, remap in zip(readers, lives, remaps, strict=True):
        keep = np.ones(r.doc_count, dtype=np.bool_) if live is None else live.astype(np.bool_)
        newdoc = np.cumsum(keep) - 1 + base
        list_map = (remap[:, None] * n_fields + np.arange(n_fields, dtype=np.int64)).ravel()
        list_start = np.asarray(r.list_start, dtype=np.int64)
        k.count_live_postings(r.docs, list_start, keep, list_map, df)
        plan.append((keep, newdoc, list_map, list_start))
        base += int(keep.sum())
    at = np.zeros(n_lists, dtype=np.int64)
    np.cumsum(df[:-1], out=at[1:])
    doc = np.empty(int(df.sum()), dtype=np.uint32)
    tf = np.empty(len(doc), dtype=np.uint32)
    id_parts: list[tuple[np.ndarray, np.ndarray]] = []
    store = StoreBuilder()
    cols = Columns()
    vec_parts: list[VectorData] = []
    len_parts = []
    for r, live, (keep, newdoc, list_map, list_start) in zip(readers, lives, plan, strict=True):
        k.copy_live_postings(r.docs, r.tfs, list_start, keep, newdoc, list_map, at, doc, tf)
        len_parts.append(np.asarray(r.lengths)[:, keep])
        flags = None if live is None else keep.tolist()
        id_parts.append(r.id_bytes(None if live is None else keep))  # bytes: no string per id
        if r.store is not None:  # blocks whose documents all live are copied compressed
            r.store.copy_live(store, keep)
        c = r.columns()
        cols.date.extend(_kept(c.date, flags))
        cols.last_updated.extend(_kept(c.last_updated, flags))
        cols.domain.extend(_kept(c.domain, flags))
        cols.url.extend(_kept(c.url, flags))
        cols.language.extend(_kept(c.language, flags))
        for name, v in c.extra.items():
            cols.extra.setdefault(name, []).extend(_kept(v, flags))
        if r.vectors is not None:  # passages of deleted documents are dropped, doc ids renumbered
            vec_parts.append(r.vectors.data(None if live is None else keep, newdoc))
    lengths = np.concatenate(len_parts, axis=1) if len_parts else np.zeros((n_fields, 0), np.uint32)
    return SegmentData(
        terms=merged_terms,
        list_df=df,
        doc=doc,
        tf=tf,
        lengths=lengths.astype(np.uint32),
        ids=Utf8Blob.concat(id_parts),
        records=store,
        columns=cols,
        vectors=merge_vector_data(vec_parts),
    )


#: the policy of live (near-real-time) writers: searches run while they write, and every
#: segment costs every search a fixed amount of work, so they merge in smaller groups
LIVE_MERGE_POLICY = TieredMergePolicy(merge_factor=4)
