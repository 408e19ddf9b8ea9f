"""Token-bucket rate limiting: the limiter itself and the 429 answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig
from heron.service.ratelimit import TokenBucketLimiter

from .support import auth, keyed_config


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_refill() -> None:
    clock = FakeClock()
    lim = TokenBucketLimiter(rate=10, burst=3, clock=clock)
    assert [lim.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert lim.acquire("k") == pytest.approx(0.1)
    assert lim.acquire("other") == 0.0  # per key
    clock.t += 0.1
    assert lim.acquire("k") == 0.0
    clock.t += 10
    assert [lim.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]  # never more than the burst
    assert lim.acquire("k") > 0


def test_idle_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    from heron.service import ratelimit

    monkeypatch.setattr(ratelimit, "MAX_TRACKED_KEYS", 5)
    clock = FakeClock()
    lim = TokenBucketLimiter(rate=1, burst=1, clock=clock)
    for i in range(5):
        lim.acquire(f"k{i}")
    clock.t += 10
    lim.acquire("x")
    assert lim.acquire("x") > 0  # refused, and the sweep drops the idle keys
    assert len(lim._buckets) <= 2


def test_invalid_limiter() -> None:
    with pytest.raises(ValueError):
        TokenBucketLimiter(0, 1)


def test_429_with_retry_after(make_client: Callable[..., TestClient]) -> None:
    c = make_client(keyed_config(rate_limit_rps=0.5, rate_limit_burst=2))
    for _ in range(2):
        assert c.post("/search", json={"query": "heron"}, headers=auth("search")).status_code == 200
    r = c.post("/search", json={"query": "heron"}, headers=auth("search"))
    assert r.status_code == 429
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(r.headers["retry-after"]) <= 2
    assert 0 < int(r.headers["retry-after-ms"]) <= 2000
    assert r.headers["x-should-retry"] == "true"
    # another key has its own bucket
    assert c.get("/v1/indexes", headers=auth("admin")).status_code == 200


def test_open_mode_limits_per_client(make_client: Callable[..., TestClient]) -> None:
    c = make_client(ServiceConfig(warmup=False, rate_limit_rps=0.5, rate_limit_burst=1))
    assert c.post("/search", json={"query": "heron"}).status_code == 200
    assert c.post("/search", json={"query": "heron"}).status_code == 429
    assert c.get("/healthz").status_code == 200  # health is never limited
