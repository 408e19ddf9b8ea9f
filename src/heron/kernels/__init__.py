"""Compiled kernels: the only package that imports numba.

Each kernel takes contiguous arrays and scalars and returns arrays: no I/O, no objects,
no exceptions. ``reference.py`` holds a readable pure-Python version of each one, the
executable specification that differential tests compare against.

The backend is chosen once per process (``numba`` unless ``HERON_KERNELS=reference`` is
set or numba cannot be imported) and the choice is logged, never switched silently.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

log = logging.getLogger("heron.kernels")

_backend: str | None = None
_impl: ModuleType | None = None


def backend() -> str:
    """Name of the active kernel backend: ``"numba"`` or ``"reference"``."""
    global _backend
    if _backend is None:
        wanted = os.environ.get("HERON_KERNELS", "numba")
        if wanted == "reference":
            _backend = "reference"
            log.warning("heron kernels: using the pure-Python reference backend (HERON_KERNELS=reference)")
        else:
            try:
                import numba  # noqa: F401
            except ImportError:  # pragma: no cover - numba is a hard dependency
                _backend = "reference"
                log.warning("heron kernels: numba not importable, falling back to the slow reference backend")
            else:
                _backend = "numba"
                log.info("heron kernels: numba backend")
    return _backend


def impl() -> ModuleType:
    """The module implementing the kernels for the active backend (looked up once: every
    query calls this several times)."""
    global _impl
    if _impl is None:
        if backend() == "numba":
            from heron.kernels import compiled

            _impl = compiled
        else:
            from heron.kernels import reference

            _impl = reference
    return _impl


def warmup() -> None:
    """Compile (or load from cache) every kernel so the first query is not slow."""
    if backend() == "numba":
        from heron.kernels import compiled

        compiled.warmup()
