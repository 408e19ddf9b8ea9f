"""Per-key token buckets: ``rate`` tokens a second, at most ``burst`` saved up.

Perplexity documents 50 requests/s with a burst of 50 for ``POST /search``; those are the
defaults. A request takes one token; without one it is refused with the time until the
next token, which the HTTP layer sends as ``retry-after`` (whole seconds, rounded up) and
``retry-after-ms`` (the Perplexity SDK prefers the latter).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: above this many tracked keys, full (idle) buckets are forgotten
MAX_TRACKED_KEYS = 10_000


class TokenBucketLimiter:
    """Thread-safe token buckets keyed by a string (API key name or client address)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)

    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else seconds until one is available."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0 - 1e-9:  # tolerate float rounding of the refill
                self._buckets[key] = (max(0.0, tokens - 1.0), now)
                return 0.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_TRACKED_KEYS:
                self._forget_idle(now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
        for k in idle:
            del self._buckets[k]
