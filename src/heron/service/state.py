"""Everything one app instance owns, created by ``create_app`` and started by its lifespan."""

from __future__ import annotations

import gc
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

#: weight of the newest request in the moving average of search times
SEARCH_AVG_WEIGHT = 0.05


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
        #: moving average of the seconds a search request spends in run_queries (see ``run_inline``)
        self.search_avg_s = 0.0
        self._given = dict(indexes or {})
        self._refresher: RefreshThread | None = None

    def run_inline(self) -> bool:
        """Whether the next search runs inline in the event loop rather than in a worker thread:
        always with ``search_threads = false``, else while searches have averaged less than
        ``inline_search_ms`` (a thread hop costs more than such a search; longer searches go to
        a thread, which keeps the event loop responsive and lets the deadline abandon them)."""
        c = self.config
        return not c.search_threads or self.search_avg_s * 1000.0 < c.inline_search_ms

    def observe_search(self, seconds: float) -> None:
        """Fold one request's search time into :attr:`search_avg_s` (event-loop thread only)."""
        self.search_avg_s += SEARCH_AVG_WEIGHT * (seconds - self.search_avg_s)

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
        if self.config.cross_encoder:  # a bad path fails the start, not the first query
            from heron.search.rerank import CrossEncoderReranker, register_reranker

            register_reranker("cross-encoder", CrossEncoderReranker(self.config.cross_encoder))
        if self.config.writer_process:  # indexer processes fork from a warm server: start it now
            from heron.index.process_writer import prestart

            prestart()
        if self.config.open_access:
            log.warning("no API keys configured: the service is open to anyone who can reach it")
        self._refresher = RefreshThread(self.registry, self.config.refresh_interval_s)
        self._refresher.start()
        if self.config.warmup:
            # the start-up heap (modules, numba, open indexes) lives as long as the process: keep it
            # out of the garbage collector's full collections, whose pauses would land in requests
            gc.collect()
            gc.freeze()
        self.ready = True

    def stop(self) -> None:
        """Stop refreshing, commit pending writes, release writers and readers."""
        self.ready = False
        if self._refresher is not None:
            self._refresher.stop()
        self.registry.close_all()
