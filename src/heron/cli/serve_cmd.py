"""``heron serve``: run the HTTP service (Perplexity-compatible search API) with uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from heron.api import Index
from heron.errors import ConfigError
from heron.service.config import load_config, parse_index_specs


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
def serve_command(
    indexes: tuple[str, ...],
    host: str | None,
    port: int | None,
    config_path: Path | None,
    data_dir: str | None,
    default_index: str | None,
    log_level: str | None,
    no_warmup: bool,
) -> None:
    """Serve indexes over HTTP: POST /search (Perplexity-compatible), /v1/indexes, /metrics.

    \b
    heron serve --index docs=./docs-index --port 8000
    curl -s localhost:8000/search -H 'content-type: application/json' -d '{"query": "heron"}'
    """
    import uvicorn

    from heron.service.app import create_app

    config = load_config(
        config_path,
        overrides={
            "indexes": parse_index_specs(indexes, "--index") if indexes else None,
            "host": host,
            "port": port,
            "data_dir": data_dir,
            "default_index": default_index,
            "log_level": log_level,
            "warmup": False if no_warmup else None,
        },
    )
    if not config.indexes and config.data_dir is None:
        raise ConfigError("nothing to serve: give --index NAME=PATH (or [indexes] in --config, or HERON_INDEXES), "
                          "or --data-dir to create indexes over the API")
    for path in config.indexes.values():  # fail fast with a clean message, before uvicorn starts
        Index.open(path).close()
    logging.basicConfig(level=config.log_level.upper() if config.log_level != "trace" else "DEBUG",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    click.echo(f"heron serving {sorted(config.indexes) or 'no index yet'} on http://{config.host}:{config.port}",
               err=True)
    uvicorn.run(
        app, host=config.host, port=config.port, log_level=config.log_level,
        timeout_graceful_shutdown=int(config.graceful_shutdown_s), access_log=config.log_level == "debug",
    )
