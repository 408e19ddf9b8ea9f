"""Everything one app instance owns, created by ``create_app`` and started by its lifespan."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from heron.api import Index
from heron.service.config import ServiceConfig
from heron.service.metrics import ServiceMetrics
from heron.service.ratelimit import TokenBucketLimiter
from heron.service.registry import IndexRegistry, RefreshThread
from heron.service.tracing import Tracing

log = logging.getLogger("heron.service")


class ServiceState:
    """Config, open indexes, rate limiter, metrics, readiness."""

    def __init__(self, config: ServiceConfig, indexes: Mapping[str, Index] | None = None,
                 tracing: Tracing | None = None) -> None:
        self.config = config
        self.tracing = tracing or Tracing(None)
        self.started_at = time.time()
        self.registry = IndexRegistry(config.data_dir, config.writer_options())
        # with N worker processes each holds 1/N of the configured rate, so the total never exceeds it
        n = config.workers
        self.limiter = TokenBucketLimiter(config.rate_limit_rps / n, max(1, config.rate_limit_burst // n))
        self.metrics = ServiceMetrics(lambda: self.registry)
        self.ready = False
        self._given = dict(indexes or {})
        self._refresher: RefreshThread | None = None

    def start(self) -> None:
        """Open the indexes, warm the kernels, start the refresh thread (blocking)."""
        for name, idx in self._given.items():
            self.registry.add(name, idx)
        self.registry.open_all(self.config.indexes)
        self.registry.open_data_dir()
        if self.config.warmup:
            from heron import kernels

            kernels.warmup()
            log.info("kernels warmed up (backend: %s)", kernels.backend())
        if self.config.writer_process:  # indexer processes fork from a warm server: start it now
            from heron.index.process_writer import prestart

            prestart()
        if self.config.open_access:
            log.warning("no API keys configured: the service is open to anyone who can reach it")
        self._refresher = RefreshThread(self.registry, self.config.refresh_interval_s)
        self._refresher.start()
        self.ready = True

    def stop(self) -> None:
        """Stop refreshing, commit pending writes, release writers and readers."""
        self.ready = False
        if self._refresher is not None:
            self._refresher.stop()
        self.registry.close_all()
