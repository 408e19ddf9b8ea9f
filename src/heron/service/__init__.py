"""heron's HTTP service: a thin FastAPI adapter over :class:`heron.Index`.

::

    from heron.service import ServiceConfig, create_app
    app = create_app(ServiceConfig(indexes={"docs": "/path/to/index"}))

Routes: ``POST /search`` and ``/v1/search`` (Perplexity Search API), ``/v1/indexes``
(create, list, stats, delete, refresh), ``/v1/indexes/{name}/documents`` (NDJSON bulk,
get/put/delete by id), ``/healthz``, ``/readyz``, ``/metrics``, ``/v1/info``, and the web UI
(``/`` search page, ``/admin`` status page, ``/static``). Every answer carries an
``x-request-id``; each request is one JSON line on the ``heron.access`` logger; tracing
(OpenTelemetry) is off unless configured. Run it with ``heron serve``.
"""

from heron.service.app import create_app
from heron.service.config import ApiKey, ServiceConfig, load_config

__all__ = ["ApiKey", "ServiceConfig", "create_app", "load_config"]
