"""Property-based API fuzzing from the app's own OpenAPI spec (schemathesis), over real HTTP.

Every operation gets bounded generated requests (valid and invalid); no answer may be a
5xx, and every answer must match the status, content type and schema the spec documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
)

from heron.service import ServiceConfig, create_app  # noqa: E402

from .live import LiveServer, serve  # noqa: E402
from .support import build_index  # noqa: E402


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_ctx: object, value: object) -> bytes:
    """Bulk bodies: the spec says "a string of JSON lines"; send what was generated as is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else json.dumps(value).encode()


#: generated examples per operation (bounded: the whole run takes seconds)
EXAMPLES = 30


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with serve(create_app(ServiceConfig(warmup=False, access_log=False), {"t": build_index()})) as s:
        yield s


#: the spec of the very app served below (the same routes and models)
SCHEMA = schemathesis.openapi.from_dict(create_app(ServiceConfig(warmup=False)).openapi())


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: schemathesis.Case, live: LiveServer) -> None:
    case.call_and_validate(base_url=live.url,
                           checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
