"""``heron serve``: run the HTTP service (Perplexity-compatible search API) with uvicorn."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import click

from heron.api import Index
from heron.errors import ConfigError
from heron.service.config import load_config, parse_index_specs
from heron.service.logsetup import configure_logging
from heron.service.protocol import uvicorn_options


@click.command("serve")
@click.option("--index", "indexes", multiple=True, metavar="NAME=PATH",
              help="Serve the index at PATH as NAME (repeatable; a bare PATH is named after its folder).")
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="TCP port (default 8000).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="TOML configuration file (see heron.service.config); HERON_* variables override it.")
@click.option("--data-dir", default=None, metavar="DIR", help="Where POST /v1/indexes creates indexes.")
@click.option("--default-index", default=None, metavar="NAME", help="Index searched when a request names none.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default=None)
@click.option("--no-warmup", is_flag=True, default=False, help="Skip compiling the kernels at start.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes (default 1). Searches scale across them; rate limits are split "
                   "evenly, writes serialize on the index lock (409 → retry), and index create/delete "
                   "over the API needs 1 worker.")
def serve_command(
    indexes: tuple[str, ...],
    host: str | None,
    port: int | None,
    config_path: Path | None,
    data_dir: str | None,
    default_index: str | None,
    log_level: str | None,
    no_warmup: bool,
    workers: int | None,
) -> None:
    """Serve indexes over HTTP: POST /search (Perplexity-compatible), /v1/indexes, /metrics.

    \b
    heron serve --index docs=./docs-index --port 8000
    curl -s localhost:8000/search -H 'content-type: application/json' -d '{"query": "heron"}'
    """
    import uvicorn

    from heron.service.app import create_app

    overrides = {
        "indexes": parse_index_specs(indexes, "--index") if indexes else None,
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "default_index": default_index,
        "log_level": log_level,
        "warmup": False if no_warmup else None,
        "workers": workers,
    }
    config = load_config(config_path, overrides=overrides)
    if not config.indexes and config.data_dir is None:
        raise ConfigError("nothing to serve: give --index NAME=PATH (or [indexes] in --config, or HERON_INDEXES), "
                          "or --data-dir to create indexes over the API")
    for path in config.indexes.values():  # fail fast with a clean message, before uvicorn starts
        Index.open(path).close()
    configure_logging(config)
    click.echo(f"heron serving {sorted(config.indexes) or 'no index yet'} on http://{config.host}:{config.port}"
               + (f" with {config.workers} workers" if config.workers > 1 else ""), err=True)
    common: dict[str, Any] = {
        "host": config.host, "port": config.port, "log_level": config.log_level,
        "timeout_graceful_shutdown": int(config.graceful_shutdown_s), "access_log": False,
        **uvicorn_options(),
    }
    if config.workers == 1:
        uvicorn.run(create_app(config), **common)
        return
    from heron.service.registry import SHARE_KEY_ENV
    from heron.service.worker import SPEC_ENV, spec_for

    os.environ[SPEC_ENV] = spec_for(str(config_path) if config_path is not None else None, overrides)
    os.environ[SHARE_KEY_ENV] = secrets.token_hex(32)  # the workers share one indexer per index
    uvicorn.run("heron.service.worker:app_factory", factory=True, workers=config.workers, **common)

