"""``IndexWriter``: buffer documents → flush immutable segments → commit a new manifest.

One writer per index (a directory lock enforces it). Adding a document whose id exists
replaces it (delete + add). Nothing becomes visible to readers, or durable, before
``commit()``; ``rollback()`` (or an exception inside ``with index.writer()``) discards
everything since the last commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from heron.document import Document, make_document
from heron.errors import HeronError
from heron.index.manifest import Manifest, SegmentMeta
from heron.index.merge import TieredMergePolicy, merge_segments
from heron.index.segment import SegmentReader, read_live_docs, write_live_docs, write_segment
from heron.index.segment_writer import SegmentBuilder
from heron.storage.directory import Directory

log = logging.getLogger("heron.writer")


class IndexWriter:
    """Writes to one index. Use as a context manager: commits on success, rolls back on error."""

    def __init__(self, directory: Directory, on_commit: Any = None, merge_policy: TieredMergePolicy | None = None):
        self._dir = directory
        self._lock_cm = directory.lock()
        self._lock_cm.__enter__()
        try:
            self._manifest = Manifest.read(directory)
        except BaseException:
            self._lock_cm.__exit__(None, None, None)
            raise
        self.settings = self._manifest.settings
        self._on_commit = on_commit
        self._policy = merge_policy or TieredMergePolicy()
        self._closed = False
        self._reset_pending()
        self._cleanup_unreferenced()

    # -- state since the last commit ------------------------------------------------------
    def _reset_pending(self) -> None:
        self._builder = SegmentBuilder(self.settings)
        self._segments: list[SegmentMeta] = list(self._manifest.segments)
        self._readers: dict[str, SegmentReader] = {}
        self._live: dict[str, np.ndarray] = {}
        self._dirty: set[str] = set()
        self._new_files: list[str] = []
        self._next_segment = self._manifest.next_segment

    def _reader(self, meta: SegmentMeta) -> SegmentReader:
        r = self._readers.get(meta.name)
        if r is None:
            r = self._readers[meta.name] = SegmentReader(self._dir, meta.name, stored=self.settings.store_documents)
        return r

    def _live_of(self, meta: SegmentMeta) -> np.ndarray:
        live = self._live.get(meta.name)
        if live is None:
            if meta.del_file:
                live = read_live_docs(self._dir, meta.del_file, meta.doc_count).copy()
            else:
                live = np.ones(meta.doc_count, dtype=np.uint8)
            self._live[meta.name] = live
        return live

    # -- documents ------------------------------------------------------------------------
    def add(self, doc: Document | Mapping[str, Any], source: str | None = None) -> None:
        """Add or replace one document (validated; raises ``DocumentError``)."""
        self._check_open()
        d = make_document(doc, self.settings, source)
        self._delete_committed(d.id)
        self._builder.add(d)
        if self._builder.slots >= self.settings.writer_buffer_docs:
            self.flush()

    def add_many(self, docs: Iterable[Document | Mapping[str, Any]]) -> int:
        n = 0
        for d in docs:
            self.add(d)
            n += 1
        return n

    def add_parallel(
        self, docs: Iterable[Document | Mapping[str, Any]], processes: int = 0, chunk_docs: int = 50_000
    ) -> int:
        """Add many documents using worker processes (all cores when ``processes`` is 0).

        Each chunk of ``chunk_docs`` becomes a segment built in a worker; ids are replaced as
        with ``add`` (later wins). A document that fails validation aborts the whole call
        before anything is committed. Needs an on-disk index (falls back to ``add_many``).
        """
        import os

        from heron.index.parallel import run_parallel
        from heron.storage.fs import FsDirectory

        self._check_open()
        n_proc = processes or os.cpu_count() or 1
        if not isinstance(self._dir, FsDirectory) or n_proc <= 1:
            return self.add_many(docs)
        self.flush()

        def names() -> Iterator[str]:
            while True:
                name = f"s{self._next_segment:06d}"
                self._next_segment += 1
                self._new_files.extend([f"{name}.seg", f"{name}.doc"])
                yield name

        results = run_parallel(str(self._dir.path), self.settings, names(), docs, n_proc, chunk_docs)
        total = 0
        for r in results:
            for doc_id in r["ids"]:
                self._delete_committed(doc_id)
            meta = SegmentMeta(r["name"], r["doc_count"], tuple(r["sum_len"]), size_bytes=r["bytes"])
            self._segments.append(meta)
            total += r["doc_count"]
        return total

    def delete(self, doc_id: str) -> bool:
        """Delete by external id; returns whether a document was found."""
        self._check_open()
        found = self._builder.delete(doc_id)
        return self._delete_committed(doc_id) or found

    def _delete_committed(self, doc_id: str) -> bool:
        found = False
        for meta in self._segments:
            doc = self._reader(meta).doc_for_id(doc_id)
            if doc >= 0:
                live = self._live_of(meta)
                if live[doc]:
                    live[doc] = 0
                    self._dirty.add(meta.name)
                    found = True
        return found

    # -- flush / commit ---------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered documents as a new (not yet committed) segment."""
        if not len(self._builder):
            self._builder = SegmentBuilder(self.settings)
            return
        data = self._builder.build()
        name = f"s{self._next_segment:06d}"
        self._next_segment += 1
        info = self._write(name, data)
        self._segments.append(SegmentMeta(name, data.doc_count, tuple(info["sum_len"]), size_bytes=info["bytes"]))
        self._builder = SegmentBuilder(self.settings)

    def _write(self, name: str, data: Any) -> dict[str, Any]:
        self._new_files += [f"{name}.seg", f"{name}.doc"]
        kinds: dict[str, str] = {f.name: str(f.type) for f in self.settings.filter_fields}
        return write_segment(
            self._dir, name, data, len(self.settings.text_fields), self.settings.store_documents, kinds
        )

    def commit(self, merge: bool = True) -> None:
        """Make every change durable and visible atomically."""
        self._check_open()
        self.flush()
        metas = self._apply_deletes()
        self._publish(metas)
        if merge:
            self.maybe_merge()

    def _apply_deletes(self) -> list[SegmentMeta]:
        metas: list[SegmentMeta] = []
        for m in self._segments:
            if m.name in self._dirty:
                live = self._live[m.name]
                dels = int(m.doc_count - live.sum())
                if dels == m.doc_count:
                    continue  # fully deleted: drop the segment
                gen = m.del_gen + 1
                fname = f"{m.name}.{gen}.del"
                write_live_docs(self._dir, fname, live)
                self._new_files.append(fname)
                m = SegmentMeta(m.name, m.doc_count, m.sum_len, gen, dels, m.size_bytes)
            metas.append(m)
        return metas

    def _publish(self, metas: list[SegmentMeta]) -> None:
        self._manifest = self._manifest.with_segments(tuple(metas), self._next_segment)
        self._manifest.write(self._dir)
        keep = {m.name: self._readers[m.name] for m in metas if m.name in self._readers}
        lives = {m.name: self._live[m.name] for m in metas if m.name in self._live}
        self._reset_pending()
        self._readers, self._live = keep, lives
        self._cleanup_unreferenced()
        if self._on_commit is not None:
            self._on_commit()

    def maybe_merge(self) -> int:
        """Run the merge policy until it finds nothing to do; returns merges done."""
        done = 0
        while True:
            merges = self._policy.find_merges(self._manifest.segments)
            if not merges:
                return done
            for names in merges:
                self._merge(names)
                done += 1

    def force_merge(self, max_segments: int = 1) -> None:
        """Merge down to at most ``max_segments`` segments (1 = optimise for search speed)."""
        self.commit(merge=False)
        while len(self._manifest.segments) > max_segments:
            segs = sorted(self._manifest.segments, key=lambda m: m.live_count)
            n = len(segs) - max_segments + 1
            self._merge([m.name for m in segs[:n]])

    def _merge(self, names: list[str]) -> None:
        order = [m for m in self._manifest.segments if m.name in names]
        readers = [self._reader(m) for m in order]
        lives = [self._live_of(m) if m.del_file else None for m in order]
        data = merge_segments(readers, lives, len(self.settings.text_fields))
        new_name = f"s{self._next_segment:06d}"
        self._next_segment += 1
        metas = [m for m in self._manifest.segments if m.name not in names]
        if data.doc_count:
            info = self._write(new_name, data)
            merged = SegmentMeta(new_name, data.doc_count, tuple(info["sum_len"]), size_bytes=info["bytes"])
            # keep doc order stable: the merged segment takes the place of the first source
            first = next(i for i, m in enumerate(self._manifest.segments) if m.name in names)
            before = [m for m in self._manifest.segments[:first] if m.name not in names]
            metas = [*before, merged, *[m for m in self._manifest.segments[first:] if m.name not in names]]
        log.info("merged %s into %s (%d docs)", names, new_name, data.doc_count)
        self._publish(metas)

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        for f in self._new_files:
            self._dir.delete(f)
        self._reset_pending()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._lock_cm.__exit__(None, None, None)

    def _check_open(self) -> None:
        if self._closed:
            raise HeronError("this IndexWriter is closed; open a new one with index.writer()")

    def _cleanup_unreferenced(self) -> None:
        keep = self._manifest.referenced_files() | {"write.lock"}
        for name in self._dir.list():
            if name not in keep and name.split(".")[-1] in ("seg", "doc", "del"):
                self._dir.delete(name)
        remove = getattr(self._dir, "remove_stale_temporaries", None)
        if remove is not None:
            remove()

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                with contextlib.suppress(Exception):
                    self.rollback()
        finally:
            self.close()
