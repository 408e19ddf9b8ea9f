"""``heron serve`` argument and configuration errors (exit 2, one clean line)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from heron.cli.main import cli


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, ["serve", *args])
    return r.exit_code, r.output


def test_help() -> None:
    code, out = run("--help")
    assert code == 0 and "--index NAME=PATH" in out


def test_nothing_to_serve() -> None:
    code, out = run()
    assert code == 2 and "nothing to serve" in out


def test_missing_index(tmp_path: Path) -> None:
    code, out = run("--index", f"x={tmp_path / 'none'}", "--no-warmup")
    assert code == 2 and "no heron index" in out and "Traceback" not in out


def test_bad_config(tmp_path: Path) -> None:
    cfg = tmp_path / "h.toml"
    cfg.write_text("port = 'x'\n")
    code, out = run("--config", str(cfg), "--index", "a=/tmp")
    assert code == 2 and "port must be int" in out


def test_bad_index_name() -> None:
    code, out = run("--index", "bad name=/tmp")
    assert code == 2 and "invalid index name" in out


def test_workers_serve_and_refuse_index_admin(tmp_path: Path) -> None:
    """``heron serve --workers 2``: searches answered, writes answered by whichever worker
    takes them (one indexer process, shared: no 409 from the worker that did not start it) and
    visible from every worker, JSON access lines from the workers, index creation refused with
    a clear message, clean shutdown on SIGTERM."""
    import json
    import signal
    import subprocess
    import sys
    import time

    import httpx

    import heron

    from .live import free_port
    from .support import DOCS, SETTINGS

    idx = heron.Index.create(tmp_path / "idx", SETTINGS)
    with idx.writer() as w:
        for d in DOCS:
            w.add(d)
    idx.close()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from heron.cli.main import main; main()", "serve", "--index",
             f"w={tmp_path / 'idx'}", "--port", str(port), "--workers", "2", "--no-warmup",
             "--data-dir", str(tmp_path / "data")],
            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        for _ in range(10):  # new connections: spread over the workers
            with httpx.Client(base_url=url) as c:
                r = c.post("/search", json={"query": "heron"}, headers={"x-request-id": "wk-1"})
                assert r.status_code == 200 and r.json()["results"], r.text
        def put(k: int) -> int:
            with httpx.Client(base_url=url) as c:  # a new connection each: both workers take some
                return c.put(f"/v1/indexes/w/documents/new-{k}", json={"title": "shared", "text": "heron"}).status_code

        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(put, range(60)))
        assert statuses == [200] * 60
        deadline = time.monotonic() + 30
        missing = set(range(60))
        while missing and time.monotonic() < deadline:  # each read on a new connection, any worker
            missing = {k for k in missing if httpx.get(f"{url}/v1/indexes/w/documents/new-{k}").status_code != 200}
            time.sleep(0.2)
        assert not missing
        # SIGKILL the shared indexer (the forkserver's child) under writes: they answer 503 until
        # a worker starts the next one (the other attaches), then 200 again from every worker
        import contextlib
        import os
        import threading

        def children(pid: int) -> list[int]:
            out = []
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        raw = Path(f"/proc/{p}/stat").read_text()
                    except OSError:
                        continue
                    if int(raw[raw.rindex(")") + 2:].split()[1]) == pid:
                        out.append(int(p))
            return out

        def put_retrying(k: int) -> int:
            for _ in range(100):
                status = put(k)
                if status != 503:
                    return status
                time.sleep(0.1)
            return status

        stop = threading.Event()
        results: list[int] = []

        def keep_writing(t: int) -> None:
            k = 0
            while not stop.is_set():
                results.append(put_retrying(1000 * (t + 1) + k))
                k += 1

        writers = [threading.Thread(target=keep_writing, args=(t,)) for t in range(4)]
        for t in writers:
            t.start()
        try:
            indexers: list[int] = []
            deadline = time.monotonic() + 30
            while not indexers and time.monotonic() < deadline:
                indexers = [c for w in children(proc.pid) for fs in children(w) for c in children(fs)]
                time.sleep(0.05)
            assert indexers  # the indexer (and, for a moment, a second worker's child that lost the race)
            for pid in indexers:
                with contextlib.suppress(ProcessLookupError):  # a race loser may have exited meanwhile
                    os.kill(pid, signal.SIGKILL)
            time.sleep(2.0)
        finally:
            stop.set()
            for t in writers:
                t.join(60)
        assert len(results) > 20 and set(results) == {200}, (results, [
            line for line in log.read_text().splitlines() if not line.startswith('{"ts"')][-60:])
        r = httpx.post(url + "/v1/indexes", json={"name": "new"})
        assert r.status_code == 400 and "--workers 1" in r.json()["error"]["message"]
        assert httpx.get(url + "/v1/info").json()["workers"] == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    text = log.read_text()
    assert code in (0, -signal.SIGTERM) and "Traceback" not in text, text
    access = [json.loads(line) for line in text.splitlines() if line.startswith('{"ts"')]
    assert sum(1 for a in access if a["request_id"] == "wk-1" and a["status"] == 200) == 10
