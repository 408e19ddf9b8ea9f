"""The public surface is small, typed and explicit: ``__all__`` is exactly what is exported."""

from __future__ import annotations

import types

import heron


def test_all_matches_public_names() -> None:
    # subpackages become attributes once imported; they are namespaces, not exports
    public = {n for n in dir(heron) if not n.startswith("_") and not isinstance(getattr(heron, n), types.ModuleType)}
    assert set(heron.__all__) == public | {"__version__"}


def test_every_export_is_documented() -> None:
    for name in heron.__all__:
        if name == "__version__":
            continue
        obj = getattr(heron, name)
        assert obj.__doc__, f"heron.{name} has no docstring"


def test_errors_share_one_root() -> None:
    for name in heron.__all__:
        obj = getattr(heron, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, heron.HeronError), name
