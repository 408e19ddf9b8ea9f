"""The app factory of ``heron serve --workers N`` (N > 1): uvicorn imports it in each worker.

The parent passes how it was started (config file path and command-line overrides) in
``HERON_SERVE_SPEC``; each worker rebuilds the same validated :class:`ServiceConfig` from
it (reading the TOML file and ``HERON_*`` variables itself, so secrets are never copied
into the environment), opens the indexes read-side and serves.

What is shared and what is per worker: every worker searches the same on-disk indexes and
picks up the others' commits at each refresh; writes are serialized by the index's write
lock (a worker that finds the lock held answers 409, which clients such as the Perplexity
SDK retry); rate limits are split evenly (each worker allows 1/N of the configured rate);
metrics are per worker process (scrape each, or run one worker); creating or deleting
indexes over the API is refused (use one worker for that).
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI

from heron.errors import ConfigError
from heron.service.app import create_app
from heron.service.config import ServiceConfig, load_config
from heron.service.logsetup import configure_logging

SPEC_ENV = "HERON_SERVE_SPEC"


def spec_for(config_path: str | None, overrides: dict[str, Any]) -> str:
    """What the parent puts in ``HERON_SERVE_SPEC``."""
    return json.dumps({"config_path": config_path, "overrides": overrides})


def config_from_env() -> ServiceConfig:
    raw = os.environ.get(SPEC_ENV)
    if not raw:
        raise ConfigError(f"{SPEC_ENV} is not set: start workers with heron serve --workers N")
    spec = json.loads(raw)
    return load_config(spec["config_path"], overrides=spec["overrides"])


def app_factory() -> FastAPI:
    """``uvicorn heron.service.worker:app_factory --factory``."""
    config = config_from_env()
    configure_logging(config)
    return create_app(config)
