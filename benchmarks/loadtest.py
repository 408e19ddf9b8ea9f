"""Load-test a heron server: overhead vs the in-process library, closed-loop max throughput,
open-loop latency at a target rate. Markdown + JSON report.

Usage::

    # everything, on SciFact, against a server this script starts (and stops):
    python benchmarks/loadtest.py --scifact --workers 2 --out benchmarks/results/loadtest

    # against a running server, with your own queries (one per line, or BEIR queries.jsonl[.gz]):
    python benchmarks/loadtest.py --url http://127.0.0.1:8000 --queries q.txt --phase closed --phase open

Phases (``--phase``, repeatable; default all but ``ingest``, which writes to the index):

* ``overhead``: each query over HTTP on one keep-alive connection (a blocking socket, the
  cheapest Python client, so that client time is not counted as server time), then in process
  (``heron.service.searching.run_queries`` on the same index with the same options: the
  exact work the route does), alternately so both see the same machine load; server
  overhead = HTTP p50 - library p50.
* ``closed``: ``--connections`` clients send back-to-back for ``--duration`` s: max throughput.
* ``open``: requests are *scheduled* at ``--rate`` per second whatever the server does
  (open loop); latency counts from the scheduled time, so a stalled server shows up in the
  tail (no coordinated omission).
* ``ingest``: query latency under concurrent ingest. The open-loop searches (``--rate``,
  ``--duration``, ``--warmup``) run twice back to back: idle, then while a separate writer
  *process* (its own interpreter: it shares no GIL or event loop with the search client)
  offers ``--ingest-rate`` document writes per second from ``--ingest-clients`` threads, each on
  its own keep-alive connection and paced on a schedule (rate/clients each; after a stall at
  most 1 s of backlog is sent). A write is ``PUT /v1/indexes/NAME/documents/ingest-...`` of a
  ``--ingest-docs`` document (default: the SciFact corpus), answered once it is fsync'ed in the
  write-ahead log. The searches start after ``--ingest-settle`` s of writing (the first write
  starts the server's indexer process). Reported: writes/s done over the search window, write
  errors, write latency (from the scheduled send time), query p50/p99 idle and under ingest and
  the p99 ratio. When this script starts the server, it serves a throwaway copy of the index
  (made next to it, deleted at the end); with ``--url`` the writes go into the running server's
  index. It runs after the other phases::

      python benchmarks/loadtest.py --scifact --phase ingest --snippets off --rate 500 --duration 10

  ``--ingest-rounds N`` alternates the two states N times (windows of ``--duration``/N s; before
  each idle window it waits until the server and its indexer are quiet), pools each state's
  latencies and reports each round's own p99 ratio too, so that noise coming and going over
  seconds on a shared machine falls on both states alike (the index grows round by round: each
  idle window sees the documents written so far).

Each of closed/open runs with snippets on (the default request) and off (``"snippets":
false``), unless ``--snippets on|off``.

Load generator: ``--tool python`` (default) is a minimal asyncio HTTP/1.1 keep-alive client
written for this (pre-built requests, no HTTP library in the loop; one process). ``--tool
wrk`` uses Debian's ``wrk`` (C, closed loop only) for the closed phase. Latencies are kept
exactly (every sample; percentiles from the sorted samples, not bucketed). The client shares
the machine with the server: on a 2-core box the generator takes CPU from the server, so
the throughput figures are a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

REPO = Path(__file__).resolve().parents[1]
SCIFACT = REPO.parent / "shared" / "data" / "beir" / "scifact"
WORK = REPO / "benchmarks" / ".work"


# -- queries and the server ---------------------------------------------------------------------


def load_queries(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith("{"):
                obj = json.loads(line)
                line = obj.get("text") or obj.get("query") or ""
            if line:
                out.append(line)
    if not out:
        raise SystemExit(f"no queries in {path}")
    return out


def build_scifact_index() -> Path:
    import heron

    path = WORK / "loadtest-scifact-index"
    try:
        heron.Index.open(path).close()
        return path
    except heron.IndexNotFoundError:
        pass
    subprocess.run([sys.executable, "-c", "from heron.cli.main import main; main()", "index", str(path),
                    "--input", str(SCIFACT / "corpus.jsonl.gz"), "--overwrite"], check=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def start_server(index: Path, workers: int, name: str, extra_env: dict[str, str] | None = None) -> Served:
    port = _free_port()
    log = Path(tempfile.mkstemp(prefix="heron-loadtest-", suffix=".log")[1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    # the bars measure the server, not the rate limiter: lift the per-client limit
    env.update(HERON_RATE_LIMIT_RPS="1000000000", HERON_RATE_LIMIT_BURST="1000000000")
    env.update(extra_env or {})
    cmd = [sys.executable, "-c", "from heron.cli.main import main; main()", "serve", "--index", f"{name}={index}",
           "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"heron serve exited:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return Served(url, proc, log)
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"heron serve did not become ready:\n{log.read_text()}")


def set_client_priority(nice: int) -> int:
    """Give this process (and the processes and threads it starts later: the ingest writer) the
    niceness ``nice``, when permitted; the niceness it runs at."""
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except OSError as e:
            print(f"client priority left as it is (setting niceness {nice}: {e})", file=sys.stderr)
    return os.getpriority(os.PRIO_PROCESS, 0)


def stop_server(s: Served) -> None:
    s.proc.send_signal(signal.SIGTERM)
    try:
        s.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        s.proc.kill()


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its descendants (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            raw = (d / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        stats[int(d.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo += [p for p, (ppid, _) in stats.items() if ppid == pid]
    return total


# -- a minimal keep-alive HTTP/1.1 client ---------------------------------------------------------


def request_bytes(host: str, path: str, body: dict[str, Any] | bytes, api_key: str | None,
                  method: str = "POST") -> bytes:
    """One HTTP/1.1 request with a JSON body (a dict, or its encoded bytes)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n")
    if api_key:
        head += f"Authorization: Bearer {api_key}\r\n"
    return head.encode() + b"\r\n" + data


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        r, w = await asyncio.open_connection(host, port)
        return cls(r, w)

    async def send(self, payload: bytes) -> int:
        """Send one request, read the whole response; the status code."""
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class RunResult:
    name: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    offered_rps: float | None = None
    tool: str = "python"
    status_counts: dict[str, int] = field(default_factory=dict)
    #: CPU seconds the server used during the run, and requests per server CPU-second (when this
    #: script started the server): a load-independent measure of the server's cost per request
    server_cpu_s: float | None = None
    rps_per_server_core: float | None = None
    #: open loop: how late the load generator started its requests (scheduled time to the moment
    #: its event loop began the request, before any wait for a free connection, which the server
    #: can cause), p99 and max — small beside the latencies when the client kept to its schedule,
    #: so that the latencies are the server's (and the network's), not the client's
    client_lag_p99_ms: float | None = None
    client_lag_max_ms: float | None = None


def summarize(name: str, lat: list[float], errors: int, seconds: float, statuses: dict[Any, int],
              offered: float | None = None, tool: str = "python") -> RunResult:
    a = np.sort(np.asarray(lat, dtype=np.float64)) * 1000 if lat else np.zeros(1)
    pct = (lambda p: float(np.percentile(a, p)))  # noqa: E731
    return RunResult(name, len(lat), errors, seconds, len(lat) / seconds if seconds else 0.0, pct(50), pct(90),
                     pct(99), pct(99.9), float(a[-1]), offered, tool, {str(k): v for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0]))})


async def closed_loop(url: str, payloads: list[bytes], connections: int, duration: float, warmup: float,
                      name: str) -> RunResult:
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    lat: list[float] = []
    statuses: dict[Any, int] = {}
    errors = 0
    t_start = time.perf_counter()
    t_measure = t_start + warmup
    t_end = t_measure + duration

    async def client(k: int) -> None:
        nonlocal errors
        conn = await Conn.open(host, port)
        i = k
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= t_end:
                    return
                status = await conn.send(payloads[i % len(payloads)])
                t1 = time.perf_counter()
                i += connections
                if t0 >= t_measure:
                    lat.append(t1 - t0)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(client(k) for k in range(connections)))
    return summarize(name, lat, errors, duration, statuses)


async def open_loop(url: str, payloads: list[bytes], rate: float, duration: float, warmup: float,
                    name: str, max_connections: int = 256, sink: list[float] | None = None,
                    lag_sink: list[float] | None = None) -> RunResult:
    """``rate`` requests a second on a schedule for ``warmup`` + ``duration`` s; latency from each
    request's scheduled time, over the requests after the warm-up (also appended to ``sink``), and
    the client's own lateness: scheduled time to the request's start (appended to ``lag_sink``)."""
    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    idle: list[Conn] = []
    opened = 0
    lat: list[float] = []
    statuses: dict[Any, int] = {}
    errors = 0
    slots = asyncio.Semaphore(max_connections)
    n_warm = int(rate * warmup)
    n_total = n_warm + int(rate * duration)
    tasks: list[asyncio.Task[None]] = []
    finished: list[float] = []
    lags: list[float] = []

    async def one(i: int, intended: float) -> None:
        nonlocal errors, opened
        if i >= n_warm:
            lags.append(time.perf_counter() - intended)
        async with slots:
            reused = bool(idle)
            if idle:
                conn = idle.pop()
            else:
                conn = await Conn.open(host, port)
                opened += 1
            try:
                try:
                    status = await conn.send(payloads[i % len(payloads)])
                except (ConnectionError, asyncio.IncompleteReadError) as e:
                    if not reused or (isinstance(e, asyncio.IncompleteReadError) and e.partial):
                        raise
                    # the server closed this idle keep-alive connection (its keep-alive timeout) as we
                    # sent: no byte of an answer came back, so send again on a new connection, as
                    # HTTP clients do
                    conn.close()
                    conn = await Conn.open(host, port)
                    opened += 1
                    status = await conn.send(payloads[i % len(payloads)])
            except (OSError, asyncio.IncompleteReadError) as e:
                conn.close()
                if i >= n_warm:
                    errors += 1
                    kind = type(e).__name__
                    statuses[kind] = statuses.get(kind, 0) + 1
                return
            idle.append(conn)
        done = time.perf_counter()
        finished.append(done)
        if i >= n_warm:
            lat.append(done - intended)  # from the scheduled send time: no coordinated omission
            statuses[status] = statuses.get(status, 0) + 1
            if status != 200:
                errors += 1

    start = time.perf_counter() + 0.05
    for i in range(n_total):
        intended = start + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, intended)))
    await asyncio.gather(*tasks)
    for c in idle:
        c.close()
    # achieved rate: measured requests over the time from their first scheduled send to the last answer
    elapsed = max(finished, default=start) - (start + n_warm / rate)
    if sink is not None:
        sink.extend(lat)
    if lag_sink is not None:
        lag_sink.extend(lags)
    r = summarize(name, lat, errors, max(elapsed, duration), statuses, offered=rate)
    _set_client_lag(r, lags)
    return r


def _set_client_lag(r: RunResult, lags: list[float]) -> None:
    """Fill ``r``'s client-lag fields from the requests' lateness (seconds)."""
    if lags:
        r.client_lag_p99_ms = 1000 * float(np.percentile(lags, 99))
        r.client_lag_max_ms = 1000 * max(lags)


def wrk_closed(url: str, bodies: list[dict[str, Any]], connections: int, duration: float, path: str,
               name: str) -> RunResult:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is not installed (apt-get install wrk, or scripts/install-test-deps.sh)")
    lua = ["local bodies = {"]
    lua += ["  " + json.dumps(json.dumps(b)) + "," for b in bodies]
    lua += ["}", "local i = 0", 'wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
            "request = function()", "  i = i % #bodies + 1",
            f'  return wrk.format(nil, "{path}", nil, bodies[i])', "end",
            "done = function(summary, latency, requests)",
            '  io.write(string.format("JSON {\\"requests\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, '
            '\\"p50\\": %d, \\"p90\\": %d, \\"p99\\": %d, \\"p999\\": %d, \\"max\\": %d, \\"us\\": %d}\\n", '
            "summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + "
            "summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(90), "
            "latency:percentile(99), latency:percentile(99.9), latency.max, summary.duration))", "end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write("\n".join(lua))
    out = subprocess.run([exe, "-t1", f"-c{connections}", f"-d{int(duration)}s", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    os.unlink(f.name)
    d = json.loads(next(line for line in out.splitlines() if line.startswith("JSON "))[5:])
    secs = d["us"] / 1e6
    return RunResult(name, d["requests"], d["errors"] + d["non2xx"], secs, d["requests"] / secs, d["p50"] / 1000,
                     d["p90"] / 1000, d["p99"] / 1000, d["p999"] / 1000, d["max"] / 1000, None, "wrk")


# -- the in-process reference ---------------------------------------------------------------------


class Library:
    """The exact work the route does, in this process, on the same index."""

    def __init__(self, index: Path) -> None:
        import heron
        from heron import kernels

        self.index = heron.Index.open(index)
        # load/compile the kernels now: done inside the first timed pass it stalled the HTTP
        # connection past the server's keep-alive timeout
        kernels.warmup()

    def run(self, body: dict[str, Any]) -> float:
        """Seconds for one request's search + snippets (request parsing not timed)."""
        import datetime as dt

        from heron.service import schemas
        from heron.service.searching import StageTimer, run_queries

        req = schemas.SearchRequest.model_validate(body)
        opts = req.to_options(dt.datetime.now(dt.UTC))
        t0 = time.perf_counter()
        run_queries(self.index.searcher(), req.queries, opts, StageTimer())
        return time.perf_counter() - t0

    def close(self) -> None:
        self.index.close()


class BlockingConn:
    """One keep-alive connection on a plain blocking socket (``TCP_NODELAY``): the cheapest
    client Python has, for the sequential overhead phase, where every microsecond the client
    spends (an event loop's wake-up and stream machinery) would otherwise be counted as
    server overhead."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, payload: bytes) -> int:
        """Send one request, read the whole response; the status code."""
        self.sock.sendall(payload)
        buf = self.buf
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        head = buf[:end]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        need = end + 4 + length
        while len(buf) < need:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection mid-response")
            buf += chunk
        self.buf = buf[need:]
        return int(head[9:12])

    def close(self) -> None:
        self.sock.close()


def interleaved(url: str, payloads: list[bytes], bodies: list[dict[str, Any]], lib: Library,
                repeat: int, warm: int = 1) -> tuple[list[float], list[float]]:
    """Each query over HTTP (one keep-alive connection, sequential, blocking client), then in
    process, alternately, so that both see the same machine load; (http seconds, library seconds)
    of ``repeat`` passes over the queries after ``warm`` passes that are not counted. Warm-up and
    measurement share the connection: a server with several worker processes answers one
    connection from one worker, and that worker's caches must be as warm as the library's."""
    import gc

    u = urlsplit(url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    conn = BlockingConn(host, port)
    http, local = [], []
    gc.collect()
    gc.freeze()  # a full collection in the *client* must not show up as server latency
    try:
        for rep in range(warm + repeat):
            if rep == warm:
                http.clear()
                local.clear()
            for p, b in zip(payloads, bodies, strict=True):
                t0 = time.perf_counter()
                try:
                    status = conn.send(p)
                except ConnectionError:
                    # the server closed the idle keep-alive connection (a slow library call in
                    # between): reconnect and time the request again
                    conn.close()
                    conn = BlockingConn(host, port)
                    t0 = time.perf_counter()
                    status = conn.send(p)
                http.append(time.perf_counter() - t0)
                if status != 200:
                    raise SystemExit(f"HTTP {status} during the overhead phase")
                local.append(lib.run(b))
    finally:
        conn.close()
        gc.unfreeze()
    return http, local


def run(coro: Any) -> Any:
    """Run a client phase: on uvloop when it is installed (a cheaper client leaves more of the
    shared CPU to the server), with the garbage collector's view of the heap frozen so that a
    full collection in the *client* does not show up as server latency."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# -- the ingest load (a separate process) ---------------------------------------------------------


def load_ingest_docs(path: Path) -> list[bytes]:
    """JSON bodies ``{"title", "text"}`` of a BEIR corpus (``{"_id", "title", "text"}`` a line)."""
    out = [json.dumps({"title": obj.get("title") or "", "text": obj.get("text") or ""}).encode()
           for obj in harness.iter_jsonl_gz(str(path))]
    if not out:
        raise SystemExit(f"no documents in {path}")
    return out


@dataclass
class _Write:
    intended: float  # scheduled send time (time.monotonic: one clock for every process on Linux)
    sent: float
    done: float
    status: int | str


def ingest_worker(argv: list[str]) -> int:
    """``loadtest.py --ingest-worker ...``: ``--clients`` threads, each on its own keep-alive
    connection (blocking socket), together offer ``--rate`` document PUTs per second on a schedule
    (each client paces itself at rate/clients; after a stall it sends at most 1 s of backlog, the
    rest is skipped). Prints ``{"event": "writing"}`` once a first answer came back; reads the
    search window ``{"window": [t0, t1]}`` (time.monotonic) from stdin, which also stops it; prints
    the result as one JSON line."""
    import threading

    ap = argparse.ArgumentParser(prog="loadtest.py --ingest-worker")
    ap.add_argument("--url", required=True)
    ap.add_argument("--index-name", required=True)
    ap.add_argument("--docs", type=Path, required=True)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--api-key")
    a = ap.parse_args(argv)
    bodies = load_ingest_docs(a.docs)
    u = urlsplit(a.url)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    prefix = f"/v1/indexes/{a.index_name}/documents/ingest-{os.getpid()}"  # unique ids per run
    stop = threading.Event()
    answered = threading.Event()
    records: list[list[_Write]] = [[] for _ in range(a.clients)]
    period = a.clients / a.rate
    start = time.monotonic() + 0.05

    def client(k: int) -> None:
        out = records[k]
        conn: BlockingConn | None = None
        t = start + k / a.rate  # the clients' schedules interleave: evenly spaced writes overall
        i = 0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if t > now:
                    if stop.wait(t - now):
                        return
                elif now - t > 1.0:
                    t = now - 1.0  # a stall is made up for at most 1 s
                sent = time.monotonic()
                doc = bodies[(k * 7919 + i) % len(bodies)]
                payload = request_bytes(u.netloc, f"{prefix}-{k}-{i}", doc, a.api_key, "PUT")
                status: int | str
                try:
                    if conn is None:
                        conn = BlockingConn(host, port)
                    status = conn.send(payload)
                except OSError as e:
                    status = type(e).__name__
                    if conn is not None:
                        conn.close()
                    conn = None
                out.append(_Write(t, sent, time.monotonic(), status))
                answered.set()
                i += 1
                t += period
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(a.clients)]
    for th in threads:
        th.start()
    while not answered.wait(0.1):
        if not any(th.is_alive() for th in threads):
            break
    print(json.dumps({"event": "writing"}), flush=True)
    line = sys.stdin.readline()
    stop.set()
    for th in threads:
        th.join(60)
    w0, w1 = json.loads(line)["window"] if line.strip() else (start, time.monotonic())
    writes = [w for rs in records for w in rs]
    ok = [w for w in writes if w.status == 200]
    in_window = [w for w in ok if w0 <= w.done <= w1]
    scheduled = [w for w in ok if w0 <= w.intended <= w1]
    lat = np.asarray([w.done - w.intended for w in scheduled]) * 1000
    svc = np.asarray([w.done - w.sent for w in scheduled]) * 1000
    statuses: dict[str, int] = {}
    for w in writes:
        statuses[str(w.status)] = statuses.get(str(w.status), 0) + 1

    def pct(ms: np.ndarray[Any, Any], p: float) -> float:
        return float(np.percentile(ms, p)) if len(ms) else 0.0

    print(json.dumps({
        "offered_write_rps": a.rate, "ingest_clients": a.clients,
        "writes_acked": len(ok), "write_errors": len(writes) - len(ok), "write_status_counts": statuses,
        "writes_in_window": len(in_window), "writes_per_s": len(in_window) / (w1 - w0) if w1 > w0 else 0.0,
        "write_p50_ms": pct(lat, 50), "write_p99_ms": pct(lat, 99),
        "write_service_p50_ms": pct(svc, 50), "write_service_p99_ms": pct(svc, 99),
        "write_latencies_ms": [round(float(x), 3) for x in lat],
    }), flush=True)
    return 0


class IngestLoad:
    """The ingest worker process, seen from the parent."""

    def __init__(self, url: str, index_name: str, docs: Path, clients: int, rate: float,
                 api_key: str | None) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--ingest-worker", "--url", url,
               "--index-name", index_name, "--docs", str(docs), "--clients", str(clients), "--rate", str(rate)]
        if api_key:
            cmd += ["--api-key", api_key]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_writing(self, timeout: float = 120.0) -> None:
        """Block until the worker's first write was answered."""
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if json.loads(line or "{}").get("event") != "writing":
            self.proc.kill()
            raise SystemExit(f"the ingest worker did not start writing (exit status {self.proc.poll()})")

    def stop(self, window: tuple[float, float]) -> dict[str, Any]:
        """Stop writing; the worker's figures, writes/s and latencies over ``window``."""
        try:
            out, _ = self.proc.communicate(json.dumps({"window": window}) + "\n", timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit("the ingest worker did not stop") from None
        if self.proc.returncode != 0:
            raise SystemExit(f"the ingest worker failed (exit status {self.proc.returncode})")
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# -- report ---------------------------------------------------------------------------------------


def markdown(meta: dict[str, Any], overhead: list[dict[str, Any]], runs: list[RunResult],
             ingest: list[dict[str, Any]] | None = None) -> str:
    lines = [f"# heron load test — {meta['when']}", "",
             f"Server: {meta['url']} ({meta['server']}); queries: {meta['queries']} ({meta['n_queries']}); "
             f"client: {meta['tool']}; host: {meta['host']}.", "", meta["note"], ""]
    if overhead:
        lines += ["## Server overhead (sequential, one connection)", "",
                  "| snippets | library p50 ms | HTTP p50 ms | overhead p50 ms | library p99 ms | HTTP p99 ms |",
                  "|---|---:|---:|---:|---:|---:|"]
        for o in overhead:
            lines.append(f"| {o['snippets']} | {o['library_p50_ms']:.3f} | {o['http_p50_ms']:.3f} | "
                         f"**{o['overhead_p50_ms']:.3f}** | {o['library_p99_ms']:.3f} | {o['http_p99_ms']:.3f} |")
        lines.append("")
    if runs:
        lines += ["## Load", "", "| run | tool | offered rps | achieved rps | requests | errors | p50 ms | p90 ms | "
                  "p99 ms | p99.9 ms | max ms | client lag p99 ms | requests per server CPU-s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in runs:
            offered = f"{r.offered_rps:.0f}" if r.offered_rps else "closed loop"
            lines.append(f"| {r.name} | {r.tool} | {offered} | {r.rps:.0f} | {r.requests} | {r.errors} | "
                         f"{r.p50_ms:.2f} | {r.p90_ms:.2f} | {r.p99_ms:.2f} | {r.p999_ms:.2f} | {r.max_ms:.2f} | "
                         f"{'' if r.client_lag_p99_ms is None else f'{r.client_lag_p99_ms:.2f}'} | "
                         f"{'' if r.rps_per_server_core is None else f'{r.rps_per_server_core:.0f}'} |")
        lines += ["", "Client lag (open loop): how late the load generator started its requests after their "
                  "scheduled time (before waiting for a free connection) — the latencies count from the "
                  "scheduled time, so a lag near them means the client, not the server, fell behind.", ""]
    if ingest:
        lines += ["## Query latency under concurrent ingest (open loop)", "",
                  "| snippets | offered query rps | offered writes/s | writes/s done | write errors | "
                  "query p50 / p99 ms idle | query p50 / p99 ms under ingest | p99 ratio | write p99 ms |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for g in ingest:
            ratio = "" if g["p99_ratio"] is None else f"**{g['p99_ratio']:.2f}**"
            lines.append(f"| {g['snippets']} | {g['offered_query_rps']:.0f} | {g['offered_write_rps']:.0f} | "
                         f"{g['writes_per_s']:.0f} | {g['write_errors']} | "
                         f"{g['query_idle_p50_ms']:.2f} / {g['query_idle_p99_ms']:.2f} | "
                         f"{g['query_ingest_p50_ms']:.2f} / {g['query_ingest_p99_ms']:.2f} | {ratio} | "
                         f"{g['write_p99_ms']:.2f} |")
        for g in ingest:
            if g.get("rounds", 1) > 1:
                rr = sorted(x for x in g["round_p99_ratios"] if x is not None)
                lines += ["", f"{g['snippets']}: {g['rounds']} rounds of {g['window_s']:.1f} s idle then "
                          f"{g['window_s']:.1f} s under ingest, each state's latencies pooled; each round's own "
                          f"p99 ratio: {', '.join(f'{x:.2f}' for x in g['round_p99_ratios'] if x is not None)} "
                          f"(median {float(np.median(rr)) if rr else float('nan'):.2f})."]
        lines += ["", "Write latency counts from each write's scheduled send time (over the search window); "
                  "writes/s done: writes answered 200 during the search window.", ""]
    return "\n".join(lines)


def _cpu(r: RunResult, served: Served | None, cpu0: float | None) -> None:
    if served is None or cpu0 is None:
        return
    r.server_cpu_s = tree_cpu_seconds(served.proc.pid) - cpu0
    # includes the warm-up requests' CPU: a slight underestimate of requests per CPU-second
    r.rps_per_server_core = r.requests / r.server_cpu_s if r.server_cpu_s > 0 else None


def wait_quiet(served: Served | None, settle: float, timeout: float = 20.0) -> None:
    """Between rounds of the ingest phase: wait until the server and its indexer process have
    finished with the last round's writes (their CPU below a tenth of a core over 0.5 s, twice in
    a row; at most ``timeout`` s), so that an idle window is idle. With ``--url`` (no process to
    watch): ``settle`` s."""
    if served is None:
        time.sleep(settle)
        return
    deadline = time.monotonic() + timeout
    quiet = 0
    last = tree_cpu_seconds(served.proc.pid)
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        now = tree_cpu_seconds(served.proc.pid)
        quiet = quiet + 1 if now - last < 0.05 else 0
        last = now


def _summed(counts: list[dict[str, int]]) -> dict[str, int]:
    """Counts by key (status codes) added over several runs."""
    out: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + v
    return out


def _pooled_writes(parts: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The ingest worker's figures over several rounds: counts summed, latencies pooled."""
    lat = np.asarray([x for p in parts for x in p["write_latencies_ms"]], dtype=np.float64)
    statuses = _summed([p["write_status_counts"] for p in parts])
    in_window = sum(p["writes_in_window"] for p in parts)
    return {
        "offered_write_rps": parts[0]["offered_write_rps"], "ingest_clients": parts[0]["ingest_clients"],
        "writes_acked": sum(p["writes_acked"] for p in parts), "write_errors": sum(p["write_errors"] for p in parts),
        "write_status_counts": statuses, "writes_in_window": in_window,
        "writes_per_s": in_window / seconds if seconds > 0 else 0.0,
        "write_p50_ms": float(np.percentile(lat, 50)) if len(lat) else 0.0,
        "write_p99_ms": float(np.percentile(lat, 99)) if len(lat) else 0.0,
    }


def ingest_phase(a: argparse.Namespace, url: str, served: Served | None, payloads: list[bytes], label: str,
                 runs: list[RunResult]) -> dict[str, Any]:
    """The open-loop searches idle, then while the ingest worker writes — ``--ingest-rounds``
    times, each window ``--duration``/rounds s, each state's latencies pooled over the rounds;
    both pooled runs go to ``runs``; the comparison (pooled p99s, and each round's ratio)."""
    rounds = max(1, a.ingest_rounds)
    window = a.duration / rounds
    pooled: dict[str, list[float]] = {"idle": [], "under ingest": []}
    pooled_lag: dict[str, list[float]] = {"idle": [], "under ingest": []}
    parts: dict[str, list[RunResult]] = {"idle": [], "under ingest": []}
    cpu: dict[str, float] = {"idle": 0.0, "under ingest": 0.0}
    writes: list[dict[str, Any]] = []
    ingest_seconds = 0.0
    for k in range(rounds):
        warmup = a.warmup if k == 0 else min(a.warmup, 0.25)  # later windows: the server is warm
        if k:
            wait_quiet(served, a.ingest_settle)  # the last round's writes are indexed: idle is idle
        for state in ("idle", "under ingest"):
            load = None
            if state == "under ingest":
                load = IngestLoad(url, a.index_name, a.ingest_docs, a.ingest_clients, a.ingest_rate, a.api_key)
            try:
                if load is not None:
                    load.wait_writing()
                    time.sleep(a.ingest_settle)  # steady state: the indexer process is up
                cpu0 = tree_cpu_seconds(served.proc.pid) if served else None
                t0 = time.monotonic()
                r = run(open_loop(url, payloads, a.rate, window, warmup, f"open, {label}, {state}",
                                  sink=pooled[state], lag_sink=pooled_lag[state]))
                t1 = time.monotonic()
                if load is not None:
                    writes.append(load.stop((t0 + warmup, t1)))
                    ingest_seconds += t1 - (t0 + warmup)
            finally:
                if load is not None:
                    load.kill()
            if served is not None and cpu0 is not None:
                cpu[state] += tree_cpu_seconds(served.proc.pid) - cpu0
            parts[state].append(r)
    results = []
    for state in ("idle", "under ingest"):
        rs = parts[state]
        statuses = _summed([r.status_counts for r in rs])
        name = f"open, {label}, {state}" + (f" ({rounds} rounds pooled)" if rounds > 1 else "")
        r = summarize(name, pooled[state], sum(r.errors for r in rs), sum(r.seconds for r in rs), statuses,
                      offered=a.rate)
        _set_client_lag(r, pooled_lag[state])
        if served is not None:
            r.server_cpu_s = cpu[state]
            r.rps_per_server_core = r.requests / cpu[state] if cpu[state] > 0 else None
        runs.append(r)
        print(json.dumps(asdict(r)), file=sys.stderr)
        results.append(r)
    idle, busy = results
    round_ratios = [b.p99_ms / i.p99_ms if i.p99_ms > 0 else None
                    for i, b in zip(parts["idle"], parts["under ingest"], strict=True)]
    return {
        "snippets": label, "offered_query_rps": a.rate, "rounds": rounds, "window_s": window,
        **_pooled_writes(writes, ingest_seconds),
        "query_idle_p50_ms": idle.p50_ms, "query_idle_p99_ms": idle.p99_ms, "query_idle_errors": idle.errors,
        "query_ingest_p50_ms": busy.p50_ms, "query_ingest_p99_ms": busy.p99_ms, "query_ingest_errors": busy.errors,
        "query_idle_client_lag_p99_ms": idle.client_lag_p99_ms,
        "query_ingest_client_lag_p99_ms": busy.client_lag_p99_ms,
        "p99_ratio": busy.p99_ms / idle.p99_ms if idle.p99_ms > 0 else None,
        "round_p99_ratios": round_ratios,
        "round_idle_p99_ms": [r.p99_ms for r in parts["idle"]],
        "round_ingest_p99_ms": [r.p99_ms for r in parts["under ingest"]],
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--ingest-worker"]:
        return ingest_worker(args[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", help="a running server (else --index-path or --scifact starts one); the "
                    "'ingest' phase WRITES documents into its index --index-name (ids ingest-*)")
    ap.add_argument("--index-path", type=Path, help="index to serve (and to query in process for 'overhead')")
    ap.add_argument("--scifact", action="store_true", help="SciFact from ../shared/data (index built on first use)")
    ap.add_argument("--queries", type=Path, help="one query a line, or BEIR queries.jsonl[.gz]")
    ap.add_argument("--index-name", default="bench")
    ap.add_argument("--workers", type=int, default=1, help="heron serve --workers, when this script starts it")
    ap.add_argument("--phase", action="append", choices=["overhead", "closed", "open", "ingest"],
                    help="repeatable; default: overhead, closed, open (ingest writes to the index: ask for it)")
    ap.add_argument("--snippets", choices=["on", "off", "both"], default="both")
    ap.add_argument("--tool", choices=["python", "wrk"], default="python")
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=500.0, help="open-loop offered rate (requests/s)")
    ap.add_argument("--ingest-rate", type=float, default=500.0, help="ingest phase: offered writes/s")
    ap.add_argument("--ingest-clients", type=int, default=8, help="ingest phase: writer connections (threads)")
    ap.add_argument("--ingest-docs", type=Path, default=SCIFACT / "corpus.jsonl.gz",
                    help="ingest phase: documents to write, BEIR corpus.jsonl[.gz] ({_id, title, text} a line)")
    ap.add_argument("--ingest-rounds", type=int, default=1,
                    help="ingest phase: alternate idle and ingest search windows N times (each --duration/N "
                         "s), pooling each state's latencies, so that machine noise that comes and goes "
                         "over seconds falls on both states alike")
    ap.add_argument("--ingest-settle", type=float, default=1.0,
                    help="ingest phase: seconds of writing before the searches start (the first write "
                         "starts the server's indexer process)")
    ap.add_argument("--max-results", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="overhead phase: passes over the queries")
    ap.add_argument("--server-env", action="append", default=[], metavar="HERON_X=V",
                    help="setting for the server this script starts, e.g. HERON_SEARCH_THREADS=false")
    ap.add_argument("--client-nice", type=int, default=-10,
                    help="niceness of the client processes (load generator, ingest writer), set after the "
                         "server starts; below 0 needs the privilege (else they stay at their own); 0: off")
    ap.add_argument("--api-key")
    ap.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    a = ap.parse_args(argv)
    phases = a.phase or ["overhead", "closed", "open"]

    index = a.index_path
    queries_file = a.queries
    if a.scifact:
        index = index or build_scifact_index()
        queries_file = queries_file or SCIFACT / "queries.jsonl.gz"
    if queries_file is None:
        ap.error("give --queries (or --scifact)")
    queries = load_queries(queries_file)
    if "ingest" in phases and not a.ingest_docs.exists():
        ap.error(f"the ingest phase needs documents to write: {a.ingest_docs} is missing (--ingest-docs)")
    served = None
    copy_dir: Path | None = None
    url = a.url
    if url is None:
        if index is None:
            ap.error("give --url, --index-path or --scifact")
        extra = dict(kv.split("=", 1) for kv in a.server_env)
        serve_path = index
        if "ingest" in phases:
            # the ingest phase writes into the served index: serve a throwaway copy (next to the
            # original: the same file system, so the same fsync cost), deleted at the end
            copy_dir = Path(tempfile.mkdtemp(prefix=".loadtest-ingest-", dir=index.parent))
            serve_path = copy_dir / index.name
            shutil.copytree(index, serve_path)
        try:
            served = start_server(serve_path, a.workers, a.index_name, extra)
        except BaseException:
            if copy_dir is not None:
                shutil.rmtree(copy_dir, ignore_errors=True)
            raise
        url = served.url
    client_nice = set_client_priority(a.client_nice)
    u = urlsplit(url)
    host = u.netloc
    modes = {"on": [True], "off": [False], "both": [False, True]}[a.snippets]

    def bodies(snippets: bool) -> list[dict[str, Any]]:
        extra = {} if snippets else {"snippets": False}
        return [{"query": q, "max_results": a.max_results, "index": a.index_name, **extra} for q in queries]

    overhead: list[dict[str, Any]] = []
    runs: list[RunResult] = []
    ingest: list[dict[str, Any]] = []
    try:
        for snippets in modes:
            bs = bodies(snippets)
            payloads = [request_bytes(host, "/search", b, a.api_key) for b in bs]
            label = "snippets on" if snippets else "snippets off"
            if "overhead" in phases:
                if index is None:
                    print("overhead phase skipped: needs --index-path (the in-process reference)", file=sys.stderr)
                else:
                    lib = Library(index)
                    h, loc = interleaved(url, payloads, bs, lib, a.repeat, warm=1)
                    lib.close()
                    http, lib_ms = np.asarray(h) * 1000, np.asarray(loc) * 1000
                    overhead.append({
                        "snippets": label, "library_p50_ms": float(np.median(lib_ms)),
                        "http_p50_ms": float(np.median(http)),
                        "overhead_p50_ms": float(np.median(http) - np.median(lib_ms)),
                        "library_p99_ms": float(np.percentile(lib_ms, 99)), "http_p99_ms": float(np.percentile(http, 99)),
                        "samples": len(http),
                    })
                    print(json.dumps(overhead[-1]), file=sys.stderr)
            if "closed" in phases:
                cpu0 = tree_cpu_seconds(served.proc.pid) if served else None
                if a.tool == "wrk":
                    r = wrk_closed(url + "/search", bs, a.connections, a.duration, "/search", f"closed, {label}")
                else:
                    r = run(closed_loop(url, payloads, a.connections, a.duration, a.warmup,
                                                f"closed, {label}, {a.connections} conns"))
                _cpu(r, served, cpu0)
                runs.append(r)
                print(json.dumps(asdict(r)), file=sys.stderr)
            if "open" in phases:
                cpu0 = tree_cpu_seconds(served.proc.pid) if served else None
                r = run(open_loop(url, payloads, a.rate, a.duration, a.warmup, f"open, {label}"))
                _cpu(r, served, cpu0)
                runs.append(r)
                print(json.dumps(asdict(r)), file=sys.stderr)
        # last, as it adds documents to the served index (a second snippets mode sees the first's)
        for snippets in modes if "ingest" in phases else []:
            payloads = [request_bytes(host, "/search", b, a.api_key) for b in bodies(snippets)]
            label = "snippets on" if snippets else "snippets off"
            ingest.append(ingest_phase(a, url, served, payloads, label, runs))
            print(json.dumps(ingest[-1]), file=sys.stderr)
    finally:
        if served is not None:
            stop_server(served)
        if copy_dir is not None:
            shutil.rmtree(copy_dir, ignore_errors=True)
    meta = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "url": url,
        "server": (f"started by this script: heron serve --workers {a.workers} {' '.join(a.server_env)}".strip()
                   if served else "given"),
        "queries": str(queries_file), "n_queries": len(queries), "tool": a.tool,
        "host": f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "note": "Client and server share this machine (the load generator takes CPU from the server); "
                "other work running at the same time lowers the figures. "
                f"Client processes' niceness: {client_nice} (the server's: its own).",
    }
    md = markdown(meta, overhead, runs, ingest)
    print(md)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.with_suffix(".md").write_text(md)
        a.out.with_suffix(".json").write_text(json.dumps(
            {"meta": meta, "overhead": overhead, "runs": [asdict(r) for r in runs], "ingest": ingest}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
