"""Acceptance: the unchanged official ``perplexityai`` SDK against a real ``heron serve``.

A real server process is started on a free loopback port over a small on-disk index; the
SDK is pointed at it with ``base_url`` (it appends ``/search``), with the sync and async
clients, single and multi-query requests, filters, typed 4xx exceptions and a 429 that
the SDK's own retry logic rides out.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import perplexity
import pytest
from perplexity import AsyncPerplexity, Perplexity

import heron

from .support import DOCS, SETTINGS

#: the SDK builds nested results with pydantic's deprecated ``construct`` (its own code)
SDK_NESTED_WARNING = "ignore:The `construct` method is deprecated:pydantic.warnings.PydanticDeprecatedSince20"
SEARCH_KEY = "sk-sdk-search-1"
WRITE_KEY = "sk-sdk-write-01"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start(tmp: Path, extra_toml: str, warmup: bool) -> Server:
    idx = heron.Index.create(tmp / "index", SETTINGS)
    with idx.writer() as w:
        for d in DOCS:
            w.add(d)
    for _attempt in range(3):  # another process may grab the free port before the server binds it
        server = _launch(tmp, extra_toml, warmup)
        if server is not None:
            return server
    pytest.fail("could not start heron serve on a free port")


def _launch(tmp: Path, extra_toml: str, warmup: bool) -> Server | None:
    port = _free_port()
    cfg = tmp / "heron.toml"
    cfg.write_text(
        f'port = {port}\nrequest_timeout_s = 60.0\nwarmup = {"true" if warmup else "false"}\n{extra_toml}\n'
        f'[indexes]\nwiki = "index"\n\n'
        f'[[api_keys]]\nname = "sdk"\nkey = "{SEARCH_KEY}"\nscopes = ["search"]\n\n'
        f'[[api_keys]]\nname = "writer"\nkey = "{WRITE_KEY}"\nscopes = ["write"]\n'
    )
    log = tmp / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HERON_", "PERPLEXITY_"))}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from heron.cli.main import main; main()", "serve", "--config", str(cfg)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text()
            if "address already in use" in text.lower():
                return None
            pytest.fail(f"heron serve exited with {proc.returncode}:\n{text}")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return Server(url, proc, log)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"heron serve did not become ready:\n{log.read_text()}")


def _stop(server: Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        raise
    log = server.log.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert code in (0, -signal.SIGTERM), log
    assert "Application shutdown complete." in log
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = _start(tmp_path_factory.mktemp("sdk"), "", warmup=True)
    yield s
    _stop(s)


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = _start(tmp_path_factory.mktemp("sdk-429"), "rate_limit_rps = 1.0\nrate_limit_burst = 1", warmup=False)
    yield s
    _stop(s)


def test_sync_single_query(server: Server) -> None:
    with Perplexity(api_key=SEARCH_KEY, base_url=server.url) as client:
        r = client.search.create(query="grey heron", max_results=3, max_tokens_per_page=64)
    assert r.id and r.server_time is None
    assert 0 < len(r.results) <= 3
    top = r.results[0]
    assert top.title == "Grey heron" and top.url == "https://en.wikipedia.org/wiki/Grey_heron"
    assert top.date == "2020-05-01" and top.last_updated == "2024-01-10"
    assert "heron" in top.snippet.lower() and len(top.snippet) <= 64 * 4
    assert top.doc_id == "a" and top.score > 0 and top.highlights  # type: ignore[attr-defined]


@pytest.mark.filterwarnings(SDK_NESTED_WARNING)
def test_sync_multi_query_and_v1_base_url(server: Server) -> None:
    with Perplexity(api_key=SEARCH_KEY, base_url=server.url + "/v1") as client:
        r = client.search.create(query=["cat", "heron island", "zebra"], max_results=2, display_server_time=True)
    assert r.server_time
    per_query = r.results
    assert len(per_query) == 3
    assert per_query[0][0].doc_id == "c"  # type: ignore[index]
    assert per_query[1][0].title == "Heron Island"  # type: ignore[index]
    assert per_query[2] == []


def test_sync_filters(server: Server) -> None:
    with Perplexity(api_key=SEARCH_KEY, base_url=server.url) as client:
        allow = client.search.create(query="heron", search_domain_filter=["wikipedia.org"])
        deny = client.search.create(query="heron", search_domain_filter=["-wikipedia.org"])
        lang = client.search.create(query="reiher heron", search_language_filter=["de"])
        dated = client.search.create(query="heron", search_after_date_filter="1/1/2021",
                                     search_before_date_filter="12/31/2022")
        updated = client.search.create(query="heron", last_updated_after_filter="1/1/2024")
        recent = client.search.create(query="heron", search_recency_filter="week", country="US",
                                      search_context_size="low")
        meta = client.search.create(query="heron", extra_body={"filters": {"topic": "places"}})
    assert {x.url for x in allow.results} == {"https://en.wikipedia.org/wiki/Grey_heron"}
    assert all("wikipedia" not in x.url for x in deny.results) and deny.results
    assert [x.title for x in lang.results] == ["Graureiher"]
    assert [x.title for x in dated.results] == ["Heron Island"]
    assert [x.title for x in updated.results] == ["Grey heron"]
    assert recent.results == []
    assert [x.title for x in meta.results] == ["Heron Island"]


@pytest.mark.filterwarnings(SDK_NESTED_WARNING)
def test_async_client(server: Server) -> None:
    async def main() -> tuple[int, list[int]]:
        async with AsyncPerplexity(api_key=SEARCH_KEY, base_url=server.url) as client:
            single = await client.search.create(query="heron")
            many = await asyncio.gather(*(client.search.create(query=["heron", "cat"]) for _ in range(4)))
        return len(single.results), [len(m.results) for m in many]

    n, many = asyncio.run(main())
    assert n >= 2 and many == [2, 2, 2, 2]


def test_typed_exceptions(server: Server) -> None:
    with Perplexity(api_key=SEARCH_KEY, base_url=server.url, max_retries=0) as client:
        with pytest.raises(perplexity.BadRequestError) as bad:
            client.search.create(query=["q"] * 6)
        assert bad.value.status_code == 400
        assert bad.value.body["error"]["param"] == "query"  # type: ignore[index,call-overload]
        with pytest.raises(perplexity.BadRequestError, match="position"):
            client.search.create(query='heron "open')
        with pytest.raises(perplexity.NotFoundError):
            client.search.create(query="heron", extra_body={"index": "nope"})
    with Perplexity(api_key="sk-wrong-key", base_url=server.url) as client, \
            pytest.raises(perplexity.AuthenticationError):
        client.search.create(query="heron")
    with Perplexity(api_key=WRITE_KEY, base_url=server.url) as client, \
            pytest.raises(perplexity.PermissionDeniedError):
        client.search.create(query="heron")


def test_429_is_retried_by_the_sdk(limited_server: Server) -> None:
    warm = httpx.post(limited_server.url + "/search", json={"query": "heron"},
                      headers={"Authorization": f"Bearer {SEARCH_KEY}"}, timeout=60)
    assert warm.status_code == 200  # first query loads the kernels (warmup is off here)
    time.sleep(1.0)  # let the bucket refill
    with Perplexity(api_key=SEARCH_KEY, base_url=limited_server.url) as client:
        first = client.search.with_raw_response.create(query="heron")
        second = client.search.with_raw_response.create(query="heron")  # bucket empty: 429, then retried
    assert first.retries_taken == 0 and first.parse().results
    assert second.retries_taken >= 1 and second.parse().results
    metrics = httpx.get(limited_server.url + "/metrics").text
    assert 'route="/search",status="429"' in metrics
