"""A live writer that runs in its own process (the *indexer process*).

Why: analysing documents and building segments is Python code that holds the GIL. In the
serving process it delays every search that needs the GIL between two kernel calls — under a
steady write load query p99 grew ~24× over idle. :class:`ProcessWriter` keeps the same
promises as a live :class:`~heron.index.writer.IndexWriter` (it *is* one, in a child process)
and moves that work off the serving process:

- the child runs at a lower CPU priority and off the first CPU (``reserve_search_cpu``), so a
  write load cannot take every core from searches; bulk builds' worker processes still use all;
- the parent forwards each operation (``add``, ``add_many``, ``delete``, ``commit``, ...) over a
  pipe and returns when the child answers, i.e. once the operation is in the write-ahead log
  (fsync'ed in ``request`` mode). Concurrent callers share fsyncs exactly as before: the child
  runs their operations in threads against one writer with group commit;
- after every near-real-time refresh, commit or merge the child *publishes* its state: the
  manifest of the segments it would serve (committed and flushed-but-uncommitted) and the
  live-doc masks it holds in memory. The parent opens those segment files itself (memory
  mapped; the files are immutable) and installs the searcher, so searches run entirely in the
  parent and see writes within ``refresh_interval_s``, as with an in-process writer;
- states are published in order (the child sends them while holding the writer's lock), and a
  state naming a segment merged away meanwhile is skipped — the next one follows;
- with a ``share_key`` (the workers of one ``heron serve --workers N``) the child also listens on
  an abstract Unix socket named after the index path: other processes of the group attach
  (:meth:`ProcessWriter.attach`) instead of failing on the write lock, send their operations
  there and receive every published state. Binding that socket decides which process of the
  group starts the indexer.

If the child dies, pending calls fail with :class:`~heron.errors.StorageError` and the writer
reports ``closed``; acknowledged writes are in the log and the next writer replays them. The
child exits when the parent does. Only on-disk indexes can be written this way.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import hashlib
import importlib
import itertools
import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from heron.config import IndexSettings
from heron.document import Document
from heron.errors import ConfigError, CorruptIndexError, HeronError, StorageError
from heron.index.manifest import Manifest
from heron.index.writer import DEFAULT_REFRESH_INTERVAL_S

log = logging.getLogger("heron.index")

#: operations the parent may ask the child to run on its writer
_CALLS = frozenset({"add", "add_many", "delete", "delete_many", "commit", "flush", "rollback", "refresh", "wait_for_builds",
                    "maybe_commit", "maybe_merge", "force_merge", "pending_docs", "committed", "attached", "close"})
_STATE_ATTRS = ("pending_docs", "committed")
#: scheduling niceness of the indexer process: when searches and indexing want the same cores,
#: searches go first (indexing uses what they leave; acknowledged writes stay durable either way)
INDEXER_NICE = 10

_ctx_lock = threading.Lock()
_ctx: Any = None


def _context() -> Any:
    """A forkserver context (a clean, pre-imported parent to fork from: no fork of a process
    with threads, and no second import of heron per writer); spawn where there is none."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            if "forkserver" in mp.get_all_start_methods():
                _ctx = mp.get_context("forkserver")
                _ctx.set_forkserver_preload(["heron.index.process_writer", "heron.index._indexer_preload"])
            else:  # pragma: no cover - not on Linux
                _ctx = mp.get_context("spawn")
        return _ctx


def prestart() -> None:
    """Start the forkserver (and its warm-up) now, so the first writer opens fast."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# -- errors across the pipe -----------------------------------------------------------------------
def _pack_error(e: BaseException) -> tuple[str, str, str, dict[str, Any]]:
    attrs = {k: v for k, v in vars(e).items() if isinstance(v, (str, int, float, bool, type(None)))}
    return type(e).__module__, type(e).__qualname__, str(e), attrs


def _unpack_error(packed: tuple[str, str, str, dict[str, Any]]) -> BaseException:
    module, qualname, message, attrs = packed
    try:
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            e = cls.__new__(cls)
            BaseException.__init__(e, message)
            e.__dict__.update(attrs)
            return e
    except Exception:  # an error type the parent cannot rebuild: keep the message
        pass
    return HeronError(f"{qualname}: {message}")


# -- parent side -------------------------------------------------------------------------------------
class IndexerShared(HeronError):
    """A process writer started with a ``share_key`` found the group's indexer already running
    (it bound the group's socket first): :meth:`ProcessWriter.attach` to it instead."""


class _Reply:
    """One call's answer: the caller blocks on a lock the reply thread releases. A plain lock,
    not a ``concurrent.futures.Future``: its condition variable and waiter lists run as Python
    code, on the GIL the searches in this process need, for every write."""

    __slots__ = ("_done", "_lock", "_ok", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._done = False
        self._ok = False
        self._value: Any = None

    def give(self, value: Any, ok: bool) -> None:
        """Set the answer (a result, or the exception to raise) and wake the caller. Each reply
        is popped from the pending table by whoever answers it, so this runs once."""
        if not self._done:
            self._done = True
            self._value, self._ok = value, ok
            self._lock.release()

    def wait(self) -> Any:
        self._lock.acquire()
        if not self._ok:
            raise self._value
        return self._value


class _AsyncReply:
    """One call's answer for a caller on an asyncio event loop: the reply thread hands the
    result to the loop (``call_soon_threadsafe``), so no thread waits for it."""

    __slots__ = ("_fut", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._fut: asyncio.Future[Any] = loop.create_future()

    def give(self, value: Any, ok: bool) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self._loop.call_soon_threadsafe(self._settle, value, ok)

    def _settle(self, value: Any, ok: bool) -> None:
        if not self._fut.done():
            if ok:
                self._fut.set_result(value)
            else:
                self._fut.set_exception(value)


def _hand_over(batch: dict[asyncio.AbstractEventLoop, list[tuple[_AsyncReply, Any, bool]]]) -> None:
    """Settle each event loop's waiting answers in one callback on that loop; empties ``batch``."""
    for loop, items in batch.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle_all, items)
    batch.clear()


def _settle_all(items: list[tuple[_AsyncReply, Any, bool]]) -> None:
    for reply, value, ok in items:
        reply._settle(value, ok)


class ProcessWriter:
    """A live writer of the on-disk index at ``path``, running in a child process.

    Same operations and promises as a live :class:`~heron.index.writer.IndexWriter` (see the
    module docstring); ``on_state(manifest, lives)`` receives every published state (the
    :class:`~heron.Index` that creates the writer installs it as the searcher to serve).
    ``reserve_search_cpu`` (default on): the indexer runs on every CPU but the first and at a
    lower priority, so searches keep a CPU to themselves under any write load.
    ``share_key``: the indexer also takes the operations of other processes that
    :meth:`attach` with the same key (abstract Unix socket, HMAC challenge), and publishes
    every state to them too — one indexer for all workers of a server.
    """

    #: the indexer process (``None`` for a writer attached to another process's indexer)
    _proc: Any

    def __init__(self, path: str | os.PathLike[str], *, on_state: Callable[[Manifest, list[Any]], None],
                 durability: str = "request", reserve_search_cpu: bool = True, share_key: bytes | None = None,
                 **options: Any) -> None:
        if durability == "commit":
            raise ConfigError("a process writer is a live writer: durability must be 'request' or 'async'")
        self._setup(path, on_state, durability, options.get("refresh_interval_s", DEFAULT_REFRESH_INTERVAL_S))
        ctx = _context()
        self._conn, child_conn = ctx.Pipe()
        self._proc = ctx.Process(target=_child_main, name=f"heron-indexer-{self._path.name}",
                                 args=(str(self._path), durability, options, child_conn, os.getpid(),
                                       reserve_search_cpu, share_key))
        self._proc.start()
        child_conn.close()
        try:
            kind, payload = self._recv_start()
        except (EOFError, OSError) as e:
            self._kill()
            self._conn.close()
            raise StorageError(
                f"the indexer process of {str(self._path)!r} exited while starting (exit code {self._proc.exitcode}); "
                "its error is on stderr. A script that opens a process writer needs the "
                "`if __name__ == \"__main__\":` guard that multiprocessing requires") from e
        except BaseException:
            self._kill()
            raise
        if kind in ("error", "shared"):
            self._proc.join(30.0)
            self._conn.close()
            if kind == "shared":
                raise IndexerShared(f"another process of this group runs the indexer of {str(self._path)!r}: attach")
            raise _unpack_error(payload)
        self._started_with(payload)

    @classmethod
    def attach(cls, path: str | os.PathLike[str], *, on_state: Callable[[Manifest, list[Any]], None],
               share_key: bytes, durability: str = "request",
               refresh_interval_s: float | None = DEFAULT_REFRESH_INTERVAL_S) -> ProcessWriter:
        """A writer that sends its operations to the indexer process another process opened on
        ``path`` with the same ``share_key`` (e.g. the workers of one ``heron serve``): same
        operations and promises, states published to every attached process; :meth:`close`
        detaches (the indexer keeps running for its owner). Raises ``ConnectionRefusedError`` /
        ``FileNotFoundError`` when no indexer of ``path`` takes attachments, and
        ``multiprocessing.AuthenticationError`` for another key."""
        from multiprocessing.connection import Client

        self = cls.__new__(cls)
        self._setup(path, on_state, durability, refresh_interval_s)
        self._proc = None
        self._conn = Client(share_address(path), family="AF_UNIX", authkey=share_key)
        try:
            kind, payload = self._recv_start()
        except (EOFError, OSError) as e:
            self._conn.close()
            raise StorageError(f"the indexer process of {str(self._path)!r} closed while attaching") from e
        if kind != "ready":  # pragma: no cover - the indexer only sends states then "ready"
            self._conn.close()
            raise StorageError(f"unexpected answer {kind!r} from the indexer process of {str(self._path)!r}")
        self._started_with(payload)
        return self

    def _setup(self, path: str | os.PathLike[str], on_state: Callable[[Manifest, list[Any]], None],
               durability: str, refresh_interval_s: float | None) -> None:
        self.durability = durability
        self._refresh_interval_s = refresh_interval_s
        self._path = Path(path)
        self._on_state = on_state
        self._ids = itertools.count(1)
        self._pending: dict[int, _Reply | _AsyncReply] = {}
        self._send_lock = threading.Lock()
        self._closed = False
        self._closing = False
        self._dead: BaseException | None = None
        self._proc = None

    def _started_with(self, settings: IndexSettings) -> None:
        self.settings: IndexSettings = settings
        self._reader = threading.Thread(target=self._read_loop, name="heron-indexer-replies", daemon=True)
        self._reader.start()
        ref = weakref.ref(self)
        self._atexit = lambda: _close_at_exit(ref)
        atexit.register(self._atexit)

    @property
    def attached(self) -> bool:
        """Whether this writer is attached to another process's indexer (:meth:`attach`)."""
        return self._proc is None

    @property
    def others_attached(self) -> int:
        """How many other processes are attached to this writer's indexer process."""
        return int(self._call("attached"))

    def _recv_start(self) -> tuple[str, Any]:
        while True:  # states may precede the "ready" answer (recovery commits publish one)
            msg = self._conn.recv()
            if msg[0] == "state":
                self._install(msg[1], msg[2])
            else:
                return msg[0], msg[1]

    # -- plumbing -------------------------------------------------------------------------------
    def _install(self, manifest: Manifest, packed: list[Any]) -> None:
        lives = [None if p is None else np.unpackbits(p[0], count=p[1]) for p in packed]
        try:
            self._on_state(manifest, lives)
        except CorruptIndexError as e:  # a segment merged away meanwhile: the next state follows
            if e.reason != "file is missing":
                log.exception("cannot open the state published by the indexer of %s", self._path)
        except Exception:
            log.exception("cannot open the state published by the indexer of %s", self._path)

    def _read_loop(self) -> None:
        """Answers and states, in the order sent. The answers already waiting together (a group
        commit answers its writes at once) are handed to each event loop in one callback: one
        wake-up of the loop for the batch, not one per write; a state is installed after the
        answers before it are handed over."""
        batch: dict[asyncio.AbstractEventLoop, list[tuple[_AsyncReply, Any, bool]]] = {}
        try:
            while True:
                msg = self._conn.recv()
                while True:
                    if msg[0] == "state":
                        _hand_over(batch)
                        self._install(msg[1], msg[2])
                    else:
                        _, rid, ok, payload = msg
                        reply = self._pending.pop(rid, None)
                        if isinstance(reply, _AsyncReply):
                            batch.setdefault(reply._loop, []).append(
                                (reply, payload if ok else _unpack_error(payload), ok))
                        elif reply is not None:
                            reply.give(payload if ok else _unpack_error(payload), ok)
                    if not self._conn.poll(0):
                        break
                    msg = self._conn.recv()
                _hand_over(batch)
        except (EOFError, OSError) as e:
            _hand_over(batch)
            self._fail(e)
        except Exception as e:  # an unreadable message: fail every caller rather than leave them waiting
            if not (self._closing or self._closed):
                log.exception("reading from the indexer process of %s failed", self._path)
            _hand_over(batch)
            self._fail(e)
            self._kill()

    def _fail(self, cause: BaseException) -> None:
        if self._proc is not None and self._dead is None and self._proc.exitcode is None:
            self._proc.join(0.5)  # its pipe closed: it is exiting; wait briefly to tell how it ended
        code = self._proc.exitcode if self._proc is not None else None
        if self._dead is None:
            how = ("closed by the process that owns it" if self._proc is None else "still running" if code is None
                   else (f"killed by signal {-code}" if code < 0 else f"exit code {code}"))
            dead = StorageError(
                f"the indexer process of {str(self._path)!r} is gone ({how}); acknowledged writes "
                "are in the write-ahead log and the next writer replays them — retry the write")
            quiet = self._closed or self._closing
            # closed before the error is visible: a caller that gets the error finds the writer closed
            self._closed = True
            self._dead = dead
            if self._proc is None:  # the owner closed its indexer: the next write starts or finds one
                log.info("%s (%s)", dead, cause)
            elif not quiet:
                log.error("%s (%s)", dead, cause)
        self._closed = True
        for rid in list(self._pending):
            reply = self._pending.pop(rid, None)
            if reply is not None:
                reply.give(self._dead, False)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        reply = _Reply()
        self._submit(reply, method, args, kwargs)
        return reply.wait()

    def _submit(self, reply: _Reply | _AsyncReply, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._dead is not None:
            raise self._dead
        if self._closed and method != "close":
            raise HeronError("this writer is closed; open a new one with index.writer()")
        rid = next(self._ids)
        # pickled here, before the reply is registered (an argument that cannot be pickled
        # raises to the caller and leaves nothing behind), with plain pickle: ForkingPickler's
        # per-call set-up is not needed, and the child's ``recv`` unpickles either
        data = pickle.dumps((rid, method, args, kwargs), pickle.HIGHEST_PROTOCOL)
        self._pending[rid] = reply
        try:
            with self._send_lock:
                self._conn.send_bytes(data)
        except (OSError, ValueError) as e:
            self._pending.pop(rid, None)
            self._fail(e)
            assert self._dead is not None
            raise self._dead from e

    async def add_async(self, doc: Document | Mapping[str, Any], source: str | None = None) -> None:
        """:meth:`add` for a caller on an asyncio event loop: the operation is sent from the loop's
        thread and the answer comes back to the loop, without a worker thread waiting for it
        (what the service's single-document writes use)."""
        reply = _AsyncReply(asyncio.get_running_loop())
        self._submit(reply, "add", (doc, source), {})
        await reply._fut

    # -- the writer's operations ------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def refreshes_itself(self) -> bool:
        """Whether the indexer publishes a snapshot every ``refresh_interval_s`` on its own."""
        return self._refresh_interval_s is not None

    @property
    def pending_docs(self) -> int:
        return int(self._call("pending_docs"))

    @property
    def committed(self) -> bool:
        return bool(self._call("committed"))

    def add(self, doc: Document | Mapping[str, Any], source: str | None = None) -> None:
        self._call("add", doc, source)

    def add_many(self, docs: Iterable[Document | Mapping[str, Any]]) -> int:
        return int(self._call("add_many", list(docs)))

    def delete(self, doc_id: str) -> bool:
        return bool(self._call("delete", doc_id))

    def delete_many(self, doc_ids: Iterable[str]) -> int:
        return int(self._call("delete_many", [str(i) for i in doc_ids]))

    def commit(self, merge: bool = True) -> None:
        self._call("commit", merge)

    def flush(self) -> None:
        self._call("flush")

    def rollback(self) -> None:
        self._call("rollback")

    def refresh(self) -> None:
        """Make every acknowledged write searchable now; the new state is installed when this returns."""
        self._call("refresh")

    def wait_for_builds(self, timeout_s: float | None = None) -> bool:
        return bool(self._call("wait_for_builds", timeout_s))

    def maybe_commit(self) -> bool:
        return bool(self._call("maybe_commit"))

    def maybe_merge(self) -> int:
        return int(self._call("maybe_merge"))

    def force_merge(self, max_segments: int = 1) -> None:
        self._call("force_merge", max_segments)

    def close(self) -> None:
        """Close the child's writer (uncommitted writes stay in the log) and wait for it to exit;
        an attached writer detaches (the indexer stays open for its owner)."""
        if self._closed and self._dead is None and (self._proc is None or not self._proc.is_alive()):
            return
        atexit.unregister(self._atexit)
        self._closing = True
        if self._dead is None and not self._closed:
            with contextlib.suppress(HeronError):
                self._call("close")
        self._closed = True
        if self._proc is not None:
            self._proc.join(30.0)
            if self._proc.is_alive():  # pragma: no cover - a stuck child
                self._kill()
        elif self._reader is not threading.current_thread():
            self._reader.join(10.0)  # detached: the indexer closes its end; the reply thread sees it
        self._conn.close()

    def _kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5.0)

    def __enter__(self) -> ProcessWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None and not self._closed:
                self.commit()
        finally:
            self.close()


def _close_at_exit(ref: weakref.ReferenceType[ProcessWriter]) -> None:
    w = ref()
    if w is not None:
        try:
            w.close()
        except Exception:  # pragma: no cover - best effort at interpreter exit
            w._kill()


# -- child side -------------------------------------------------------------------------------------
def _leave_first_cpu() -> None:
    """Confine this process to all its CPUs but the first, so searches always find one CPU that
    analysis never takes (with 2 CPUs: one each). Bulk builds' worker processes get every CPU
    back (``writer.BUILD_AFFINITY``). Nothing changes with a single CPU."""
    from heron.index import writer

    if not hasattr(os, "sched_getaffinity"):  # pragma: no cover - not Linux
        return
    cpus = frozenset(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, cpus - {min(cpus)})
        writer.BUILD_AFFINITY = cpus


def _child_main(path: str, durability: str, options: dict[str, Any], conn: Any, parent_pid: int,
                reserve_search_cpu: bool = True, share_key: bytes | None = None) -> None:
    from heron.index.writer import IndexWriter, _exit_with_parent
    from heron.storage.fs import FsDirectory

    _exit_with_parent(parent_pid)
    with contextlib.suppress(OSError):  # not permitted: run at normal priority
        os.nice(INDEXER_NICE)
    if reserve_search_cpu:
        _leave_first_cpu()
    #: every connection this process answers (the parent's pipe, then attached processes') and
    #: its send lock; a connection that fails is dropped (the parent's ends the main loop)
    peers: dict[Any, threading.Lock] = {conn: threading.Lock()}
    peers_lock = threading.Lock()

    def send_bytes(c: Any, data: bytes) -> None:
        lock = peers.get(c)
        if lock is None:  # detached meanwhile
            return
        with lock:
            try:
                c.send_bytes(data)
            except (OSError, ValueError):
                if c is conn:
                    raise
                with peers_lock:
                    peers.pop(c, None)

    def send(msg: tuple[Any, ...], c: Any = conn) -> None:
        send_bytes(c, pickle.dumps(msg, pickle.HIGHEST_PROTOCOL))

    # with a key, the group's socket first: binding it is the group's mutex (a second bind fails),
    # so a group member that loses tells its parent to attach, while a lock held from outside the
    # group is still a LockError; attachments wait in the backlog until the writer is open
    listener = None
    if share_key is not None:
        try:
            listener = _share_listener(path, share_key)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                send(("shared", None))
                return
            log.warning("the indexer of %s cannot listen for other processes' writes (%s)", path, e)

    writer: IndexWriter | None = None
    last_state: list[bytes] = []

    def publish(*_: Any, flush: bool = False) -> None:
        w = writer
        if w is None or w.closed:
            return
        if flush:  # buffered writes become visible: flushed outside the lock (writes go on)
            w.refresh()
        with w._mutex:  # compute and send under the writer's lock: states arrive in order
            s = w.snapshot()  # what is flushed so far, never a flush under the lock
            packed = [None if v.live is None else (np.packbits(v.live), len(v.live)) for v in s.segments]
            data = pickle.dumps(("state", s.manifest, packed), pickle.HIGHEST_PROTOCOL)
            last_state[:] = [data]
            with peers_lock:
                targets = list(peers)
            for c in targets:
                send_bytes(c, data)

    try:
        writer = IndexWriter(FsDirectory(path), durability=durability, on_commit=publish, on_refresh=publish,
                             **options)
        publish(flush=True)
    except BaseException as e:
        if listener is not None:
            listener.close()
        send(("error", _pack_error(e)))
        return
    send(("ready", writer.settings))

    def run(rid: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], c: Any) -> None:
        assert writer is not None
        try:
            if method in _STATE_ATTRS:
                out = getattr(writer, method)
            elif method == "attached":
                out = len(peers) - 1
            elif method == "refresh":
                publish(flush=True)
                out = None
            else:
                out = getattr(writer, method)(*args, **kwargs)
                if method == "rollback":  # commits and merges publish through on_commit already
                    publish()
            send(("r", rid, True, out if isinstance(out, (bool, int, type(None))) else None), c)
        except BaseException as e:
            send(("r", rid, False, _pack_error(e)), c)

    # operations run in threads so that concurrent callers share fsyncs (group commit)
    pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="heron-indexer")

    def submit(rid: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], c: Any) -> None:
        try:
            pool.submit(run, rid, method, args, kwargs, c)
        except RuntimeError:  # shutting down: the writer is closing
            send(("r", rid, False, _pack_error(StorageError(
                f"the indexer process of {path!r} is closing; retry the write"))), c)

    def serve_peer(c: Any) -> None:
        """An attached process's operations; its ``close`` detaches it (the writer stays open)."""
        try:
            while True:
                try:
                    rid, method, args, kwargs = c.recv()
                except (EOFError, OSError, TypeError, ValueError):  # gone, or closed here at shutdown
                    return
                if method == "close":
                    send(("r", rid, True, None), c)
                    return
                if method not in _CALLS or method == "rollback":
                    send(("r", rid, False, _pack_error(HeronError(
                        f"writer operation {method!r} is not available to an attached process"))), c)
                else:
                    submit(rid, method, args, kwargs, c)
        finally:
            with peers_lock:
                peers.pop(c, None)
            c.close()

    def accept_loop() -> None:
        assert listener is not None and writer is not None
        while True:
            try:
                c = listener.accept()
            except (OSError, EOFError, mp.AuthenticationError):
                if writer.closed or listener_closed.is_set():
                    return
                time.sleep(0.01)  # a failed handshake, or out of descriptors: not a busy loop
                continue
            with writer._mutex:  # the latest state first, in order with every later one
                with peers_lock:
                    peers[c] = threading.Lock()
                for data in last_state:
                    send_bytes(c, data)
                send(("ready", writer.settings), c)
            threading.Thread(target=serve_peer, args=(c,), name="heron-indexer-peer", daemon=True).start()

    listener_closed = threading.Event()
    if listener is not None:
        threading.Thread(target=accept_loop, name="heron-indexer-listener", daemon=True).start()
    try:
        while True:
            try:
                rid, method, args, kwargs = conn.recv()
            except (EOFError, OSError):  # the parent is gone
                break
            if method not in _CALLS:
                send(("r", rid, False, _pack_error(HeronError(f"unknown writer operation {method!r}"))))
            elif method == "close":
                _stop_sharing(listener, listener_closed, pool, peers, peers_lock, conn)
                writer.close()
                send(("r", rid, True, None))
                break
            else:
                submit(rid, method, args, kwargs, conn)
    finally:
        _stop_sharing(listener, listener_closed, pool, peers, peers_lock, conn)
        writer.close()
        conn.close()


def share_address(path: str | os.PathLike[str]) -> str:
    """The abstract Unix socket (Linux; nothing on disk) where the indexer process of the index
    at ``path`` takes the writes of other processes that know its key."""
    digest = hashlib.sha256(str(Path(path).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"\0heron-indexer-{digest}"


def _share_listener(path: str, key: bytes) -> Any:
    from multiprocessing.connection import Listener

    # a deep backlog: attachments queue while the writer opens (replaying the log)
    return Listener(share_address(path), family="AF_UNIX", backlog=64, authkey=key)


def _stop_sharing(listener: Any, closed: threading.Event, pool: ThreadPoolExecutor,
                  peers: dict[Any, threading.Lock], peers_lock: threading.Lock, conn: Any) -> None:
    """Before the writer closes: no new attached process (the listener closes), every operation
    already running finishes and is answered (later ones are answered "closing, retry"), then
    the attached processes' connections close."""
    if not closed.is_set():
        closed.set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
    pool.shutdown(wait=True)
    with peers_lock:
        others = [c for c in peers if c is not conn]
    for c in others:
        with contextlib.suppress(OSError):
            c.close()
