"""Process logging of ``heron serve`` (the parent and every worker process)."""

from __future__ import annotations

import logging

from heron.service.config import ServiceConfig


def configure_logging(config: ServiceConfig) -> None:
    """Plain lines for heron's own logs; JSON access lines (``heron.access``) to stderr as they are."""
    logging.basicConfig(level=config.log_level.upper() if config.log_level != "trace" else "DEBUG",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    access = logging.getLogger("heron.access")
    access.propagate = False
    access.setLevel(logging.INFO if config.access_log else logging.WARNING)
    if not access.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
