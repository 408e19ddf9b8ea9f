"""``heron.Index``: the small public entry point over storage, writer and reader."""

from __future__ import annotations

import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from heron.config import IndexSettings
from heron.errors import ConfigError, IndexExistsError, IndexNotFoundError, LockError, StorageError
from heron.index.manifest import MANIFEST, Manifest
from heron.index.reader import IndexReader, Searcher
from heron.index.writer import DEFAULT_REFRESH_INTERVAL_S, IndexWriter
from heron.search.filters import SearchFilters
from heron.search.hybrid import HybridParams
from heron.search.query import Query
from heron.search.results import Hit, ScoredIds
from heron.storage.directory import Directory
from heron.storage.fs import FsDirectory
from heron.storage.memory import MemoryDirectory

if TYPE_CHECKING:
    from heron.index.process_writer import ProcessWriter


@dataclass(frozen=True, slots=True)
class IndexStats:
    """What ``Index.stats()`` reports."""

    doc_count: int
    deleted_count: int
    segment_count: int
    size_bytes: int
    generation: int
    fields: dict[str, dict[str, float]]
    segments: list[dict[str, Any]]


class Index:
    """A heron index: create or open one, write with ``writer()``, query with ``search()``."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._reader = IndexReader(directory)
        self.settings = Manifest.read(directory).settings
        self._writer: weakref.ReferenceType[IndexWriter | ProcessWriter] | None = None
        #: ``stats()`` of the last snapshot inspected: (its manifest, the stats)
        self._stats_cache: tuple[Manifest, IndexStats] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], settings: IndexSettings | None = None) -> Index:
        """Create a new, empty index at ``path`` (a missing or empty directory)."""
        p = Path(path)
        if p.exists() and any(p.iterdir()):
            raise IndexExistsError(
                f"cannot create an index at {str(p)!r}: the directory is not empty "
                "(open it with Index.open, or choose another path / delete it first)"
            )
        d = FsDirectory(p, create=True)
        return cls._init(d, settings or IndexSettings())

    @classmethod
    def in_memory(cls, settings: IndexSettings | None = None) -> Index:
        """A throwaway index held in RAM (tests, small corpora)."""
        return cls._init(MemoryDirectory(), settings or IndexSettings())

    @classmethod
    def _init(cls, d: Directory, settings: IndexSettings) -> Index:
        # validate analyzers now, so a bad setting fails at creation, not at first add
        from heron.analysis import get_analyzer

        for f in settings.text_fields:
            get_analyzer(f.analyzer)
        with d.lock():
            Manifest(settings).write(d)
        return cls(d)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Index:
        """Open an existing index; raises ``IndexNotFoundError`` when there is none."""
        p = Path(path)
        if not (p / MANIFEST).is_file():
            raise IndexNotFoundError(f"no heron index at {str(p)!r}; create one with `heron index` or Index.create")
        d = FsDirectory(p)
        recover(d)
        return cls(d)

    def close(self) -> None:
        """Release cached readers (mapped files are unmapped when no searcher uses them)."""
        self._reader = IndexReader(self.directory)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------
    def writer(self, durability: str = "commit", **options: Any) -> IndexWriter:
        """The index's single writer (context manager: commits on success).

        ``durability="commit"`` (default): a transaction, rolled back on error. ``"request"``
        / ``"async"``: live writes, each acknowledged once in the write-ahead log and searchable
        within ``refresh_interval_s`` (see :class:`~heron.IndexWriter` for the options).
        """
        w = IndexWriter(self.directory, on_commit=self._after_commit, durability=durability,
                        on_refresh=self._reader.install, **options)
        self._writer = weakref.ref(w)
        return w

    def process_writer(self, durability: str = "request", *, share_key: bytes | None = None,
                       **options: Any) -> ProcessWriter:
        """A live writer (``durability`` ``"request"`` or ``"async"``) that analyses, logs and
        builds segments in a child process, so writes do not slow this process's searches (the
        GIL). Same options and promises as a live :meth:`writer`; searches here see its writes
        within ``refresh_interval_s``. On-disk indexes only.

        ``share_key`` (bytes known to a group of processes, e.g. the workers of one server):
        when another process of the group already has the index's indexer process, this one
        attaches to it (its writes go there, its searches see every state it publishes);
        otherwise it starts the indexer, which takes the others' attachments. Without a key, a
        second writer of the same index fails with ``LockError``."""
        from heron.index.process_writer import ProcessWriter

        path = getattr(self.directory, "path", None)
        if path is None:
            raise ConfigError("a process writer needs an on-disk index (this one is in memory); use writer()")

        def install(manifest: Manifest, lives: list[Any]) -> None:
            self._reader.install(self._reader.open_state(manifest, lives))

        if share_key is None:
            w = ProcessWriter(path, on_state=install, durability=durability, **options)
        else:
            w = _shared_process_writer(path, install, durability, share_key, options)
        self._writer = weakref.ref(w)
        return w

    def refresh(self) -> None:
        """Make the latest writes visible to new searches: a live writer's buffered writes
        (near-real-time), else the latest commit."""
        w = self._writer() if self._writer is not None else None
        if w is not None and w.live and not w.closed:
            if isinstance(w, IndexWriter):
                self._reader.install(w.refresh())
            else:  # a process writer installs the state it publishes before refresh() returns
                w.refresh()
        else:
            self._reader.reload_if_open()

    def _after_commit(self) -> None:
        """A writer committed or swapped in a merge (its lock held): serve what it has flushed
        (a live writer's buffer is not flushed here, under its lock; its next refresh does)."""
        w = self._writer() if self._writer is not None else None
        if isinstance(w, IndexWriter) and w.live and not w.closed:
            self._reader.install(w.snapshot())
        else:
            self._reader.reload_if_open()

    # -- reading ------------------------------------------------------------------------------
    def searcher(self) -> Searcher:
        """A point-in-time snapshot; reuse it to run several queries on the same state."""
        return self._reader.searcher()

    def search(
        self,
        query: str | Query,
        k: int = 10,
        *,
        offset: int = 0,
        filters: SearchFilters | None = None,
        operator: str = "or",
        explain: bool = False,
        fields: bool = True,
        algorithm: str = "auto",
        mode: str = "lexical",
        hybrid: HybridParams | None = None,
    ) -> list[Hit]:
        """Top-``k`` hits for ``query``: BM25 (``mode="lexical"``, query syntax: see
        ``heron.search.parser``), ``"dense"`` or ``"hybrid"`` (indexes with vectors; see
        ``heron.search.hybrid``)."""
        return self.searcher().search(
            query, k, offset=offset, filters=filters, operator=operator, explain=explain, fields=fields,
            algorithm=algorithm, mode=mode, hybrid=hybrid,
        )

    def search_ids(
        self,
        query: str | Query,
        k: int = 10,
        *,
        offset: int = 0,
        filters: SearchFilters | None = None,
        operator: str = "or",
        algorithm: str = "auto",
        mode: str = "lexical",
        hybrid: HybridParams | None = None,
    ) -> ScoredIds:
        """:meth:`search` for callers that need only ids and scores: the same hits in the same
        order, as ``ScoredIds(ids, scores)`` (two lists) instead of one :class:`Hit` each —
        cheaper at large ``k`` (SciFact, k=100: a third less time a query)."""
        return self.searcher().search_ids(
            query, k, offset=offset, filters=filters, operator=operator, algorithm=algorithm, mode=mode,
            hybrid=hybrid,
        )

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """Stored fields of a document by external id, or None."""
        s = self.searcher()
        for v in s.segments:
            d = v.reader.doc_for_id(doc_id)
            if d >= 0 and (v.live is None or v.live[d]):
                return v.reader.stored(d)
        return None

    def stats(self) -> IndexStats:
        """Counts, sizes and segments of the current snapshot.

        Computed once per snapshot (commit) and then cached, so frequent callers (metrics
        scrapes, status pages) do not list and stat the index files each time;
        ``size_bytes`` is the size on disk when the snapshot was first inspected.
        """
        m = self.searcher().manifest
        cached = self._stats_cache
        if cached is not None and cached[0] is m:
            return cached[1]
        n_all = sum(x.doc_count for x in m.segments)
        fields = {}
        for i, f in enumerate(m.settings.text_fields):
            total = sum(x.sum_len[i] for x in m.segments)
            fields[f.name] = {"total_length": float(total), "avgdl": total / n_all if n_all else 0.0}
        size = sum(self.directory.size(n) for n in self.directory.list())
        st = IndexStats(
            doc_count=m.doc_count,
            deleted_count=sum(x.del_count for x in m.segments),
            segment_count=len(m.segments),
            size_bytes=size,
            generation=m.generation,
            fields=fields,
            segments=[x.to_dict() for x in m.segments],
        )
        self._stats_cache = (m, st)
        return st


def recover(directory: FsDirectory) -> bool:
    """Replay and commit the write-ahead log of an index whose writer died (no-op when another
    writer holds the index or nothing is pending). Returns whether a writer could check."""
    try:
        w = IndexWriter(directory)  # replays and commits the log tail when it opens
    except LockError:  # a live writer owns the log
        return False
    except PermissionError:  # read-only location: serve the last commit
        return False
    w.close()
    return True


def _shared_process_writer(path: str, install: Any, durability: str, share_key: bytes,
                           options: dict[str, Any]) -> ProcessWriter:
    """Attach to the group's indexer of ``path``, else start it. The group's socket decides who
    starts it (binding it is exclusive): a process that loses that race attaches to the winner
    (waiting while it opens its writer). Transient failures — an indexer that closes or dies
    during the handshake, a killed indexer's write lock not yet released — are retried for a
    few seconds; ``LockError`` when a process outside the group (another key, or none) holds
    the index."""
    import multiprocessing

    from heron.index.process_writer import IndexerShared, ProcessWriter

    refresh = options.get("refresh_interval_s", DEFAULT_REFRESH_INTERVAL_S)
    deadline = time.monotonic() + 5.0
    while True:
        try:
            return ProcessWriter.attach(path, on_state=install, share_key=share_key, durability=durability,
                                        refresh_interval_s=refresh)
        except (ConnectionRefusedError, FileNotFoundError):  # nobody of the group has it open
            pass
        except multiprocessing.AuthenticationError:
            raise LockError(f"index {path!r} is being written by another process (not of this server)") from None
        except (EOFError, OSError, StorageError):  # it closed or died while we attached: again
            if time.monotonic() > deadline:
                raise StorageError(f"the indexer process of {path!r} kept closing while attaching; retry") from None
            time.sleep(0.05)
            continue
        try:
            return ProcessWriter(path, on_state=install, durability=durability, share_key=share_key, **options)
        except IndexerShared:  # another one of the group won: attach to it next time round
            time.sleep(0.01)
        except LockError:  # from outside the group, or a killed indexer's lock not released yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
