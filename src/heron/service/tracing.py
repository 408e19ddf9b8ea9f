"""OpenTelemetry tracing of the service: off by default, one span per request and per stage.

With ``tracing = "console"`` (spans printed as JSON on stdout) or ``"otlp"`` (OTLP/HTTP to
``otlp_endpoint``, else the SDK's ``OTEL_EXPORTER_OTLP_*`` settings), every HTTP request
gets a server span from ``opentelemetry-instrumentation-asgi`` (which also continues a
W3C ``traceparent`` sent by the caller), and a search adds child spans ``heron.parse``,
``heron.bind`` (index + options + snapshot), ``heron.search``, ``heron.snippets`` and
``heron.serialize``. The spans carry the request id, the index and the number of queries,
never the query text.

The OpenTelemetry packages are the optional extra ``heron[otel]``; with tracing off they
are not imported and the request path pays nothing. Tests pass their own
``TracerProvider`` (with an in-memory exporter) to :func:`create_app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from heron.errors import ConfigError
from heron.service.config import ServiceConfig

INSTRUMENTATION_NAME = "heron.service"


def _otel_missing(e: ImportError) -> ConfigError:
    return ConfigError(f"tracing needs the OpenTelemetry packages ({e.name} is missing): "
                       "pip install 'heron[otel]', or set tracing = \"off\"")


def make_tracer_provider(config: ServiceConfig) -> Any | None:
    """A ``TracerProvider`` exporting as configured, or None when tracing is off."""
    if config.tracing == "off":
        return None
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as e:
        raise _otel_missing(e) from None
    from heron import __version__

    exporter: SpanExporter
    if config.tracing == "console":
        exporter = ConsoleSpanExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as e:
            raise _otel_missing(e) from None
        exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint) if config.otlp_endpoint else OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "heron", "service.version": __version__}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def asgi_middleware(provider: Any) -> tuple[Any, dict[str, Any]]:
    """The OpenTelemetry ASGI middleware class and its options (server spans, no send/receive spans)."""
    try:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    except ImportError as e:
        raise _otel_missing(e) from None
    return OpenTelemetryMiddleware, {"tracer_provider": provider, "exclude_spans": ["receive", "send"]}


class Tracing:
    """Stage spans for one app: ``span(name)`` is a no-op context manager when tracing is off."""

    def __init__(self, provider: Any | None) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer(INSTRUMENTATION_NAME) if provider is not None else None

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def span(self, name: str, **attributes: Any) -> AbstractContextManager[Any]:
        """A child span of the current one (the request's server span); ``None`` values are dropped."""
        if self._tracer is None:
            return nullcontext()
        return self._span(name, attributes)

    @contextmanager
    def _span(self, name: str, attributes: dict[str, Any]) -> Iterator[Any]:
        assert self._tracer is not None
        attrs = {k.replace("_", "."): v for k, v in attributes.items() if v is not None}
        with self._tracer.start_as_current_span(name, attributes=attrs) as s:
            yield s

    def annotate(self, **attributes: Any) -> None:
        """Set attributes on the current span (the request's server span outside any stage)."""
        if self._tracer is None:
            return
        from opentelemetry import trace

        span = trace.get_current_span()
        for k, v in attributes.items():
            if v is not None:
                span.set_attribute(k.replace("_", "."), v)

    def shutdown(self) -> None:
        """Flush and stop the exporter (at app shutdown)."""
        if self.provider is not None and hasattr(self.provider, "shutdown"):
            self.provider.shutdown()
