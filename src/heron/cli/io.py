"""Reading JSON-lines input (plain or gzip'ed, or a BEIR directory) line by line.

Every line comes back as a :class:`Line`: either a parsed JSON object or an error message,
with its ``file:line`` location, so the caller decides whether to skip or to stop.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from heron.errors import HeronError
from heron.eval.beir import find_jsonl

__all__ = ["InputError", "Line", "read_jsonl", "resolve_input"]


class InputError(HeronError):
    """An input file cannot be used at all (missing, a directory without a corpus, ...)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank input line: ``obj`` when it parsed, else ``error``."""

    source: str
    obj: dict[str, Any] | None = None
    error: str | None = None


def resolve_input(path: str | Path) -> Path:
    """The JSONL file to read for ``path``: the file itself, or a directory's ``corpus.jsonl[.gz]``."""
    p = Path(path)
    if p.is_dir():
        found = find_jsonl(p, "corpus")
        if found is None:
            raise InputError(
                f"{str(p)!r} is a directory without corpus.jsonl or corpus.jsonl.gz; "
                "pass a JSONL file or a BEIR dataset directory"
            )
        return found
    if not p.is_file():
        raise InputError(f"input not found: {str(p)!r}")
    return p


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb")


def read_jsonl(path: Path, display: str | None = None) -> Iterator[Line]:
    """Parse ``path`` line by line; blank lines are skipped, bad lines yield an error ``Line``.

    Errors: bytes that are not UTF-8, invalid JSON, a JSON value that is not an object,
    and a damaged gzip stream (reported at the line where reading stopped; the rest of
    that file is unreadable).
    """
    name = display or str(path)
    n = 0
    try:
        with _open(path) as f:
            for n, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                yield _parse(raw, f"{name}:{n}", first=n == 1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        reason = str(e) or type(e).__name__
        yield Line(f"{name}:{n + 1}", error=f"damaged or truncated gzip data ({reason}); the rest of the file was not read")


def _parse(raw: bytes, source: str, first: bool) -> Line:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = raw[e.start : e.start + 1].hex()
        return Line(source, error=f"not valid UTF-8 (byte 0x{bad} at byte offset {e.start} of the line)")
    if first and text.startswith("\ufeff"):
        text = text[1:]
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        return Line(source, error=f"invalid JSON: {e}")
    if not isinstance(obj, dict):
        kind = "array" if isinstance(obj, list) else "null" if obj is None else type(obj).__name__
        return Line(source, error=f"expected a JSON object, got a JSON {kind}")
    return Line(source, obj=obj)
