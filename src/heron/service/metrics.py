"""Prometheus metrics, in a registry owned by one app (so tests and apps never collide).

* ``heron_http_requests_total{route,method,status}`` and
  ``heron_http_request_duration_seconds{route,method}``: every request, by route template;
* ``heron_search_stage_seconds{stage}``: time per search stage (``search``, ``snippets``);
* ``heron_search_queries_total``: queries run (a multi-query request counts each);
* ``heron_index_documents{index}``, ``heron_index_deleted_documents{index}``,
  ``heron_index_segments{index}``, ``heron_index_pending_writes{index}``,
  ``heron_index_size_bytes{index}``: read at scrape time (``Index.stats`` is cached per snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from heron.service.registry import IndexRegistry

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _IndexCollector(Collector):
    def __init__(self, get_registry: Callable[[], IndexRegistry | None]) -> None:
        self._get = get_registry

    def collect(self) -> Iterable[Metric]:
        docs = GaugeMetricFamily("heron_index_documents", "Live documents per index", labels=["index"])
        dels = GaugeMetricFamily("heron_index_deleted_documents", "Deleted, not yet merged away", labels=["index"])
        segs = GaugeMetricFamily("heron_index_segments", "Segments per index", labels=["index"])
        pend = GaugeMetricFamily("heron_index_pending_writes", "Write operations not yet committed",
                                 labels=["index"])
        size = GaugeMetricFamily("heron_index_size_bytes", "Index files on disk (as of the snapshot)",
                                 labels=["index"])
        reg = self._get()
        for h in reg.handles() if reg is not None else ():
            st = h.index.stats()
            docs.add_metric([h.name], st.doc_count)
            dels.add_metric([h.name], st.deleted_count)
            segs.add_metric([h.name], st.segment_count)
            pend.add_metric([h.name], h.pending)
            size.add_metric([h.name], st.size_bytes)
        return [docs, dels, segs, pend, size]


class ServiceMetrics:
    """The metrics of one app."""

    def __init__(self, get_registry: Callable[[], IndexRegistry | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("heron_http_requests", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("heron_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.stages = Histogram("heron_search_stage_seconds", "Time per search stage", ["stage"],
                                buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.queries = Counter("heron_search_queries", "Search queries run", registry=self.registry)
        self.registry.register(_IndexCollector(get_registry))
        # labelled children, looked up once (``labels()`` takes a lock and builds a key per call)
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._stage_children: dict[str, Histogram] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:  # label values are bounded (route templates, methods, statuses)
            children = self._request_children[key] = (
                self.requests.labels(route, method, str(status)), self.latency.labels(route, method))
        children[0].inc()
        children[1].observe(seconds)

    def observe_stages(self, seconds: Mapping[str, float], queries: int) -> None:
        stage_children = self._stage_children
        for stage, s in seconds.items():
            child = stage_children.get(stage)
            if child is None:
                child = stage_children[stage] = self.stages.labels(stage)
            child.observe(s)
        self.queries.inc(queries)

    def render(self) -> bytes:
        return generate_latest(self.registry)
