"""One error hierarchy for heron.

::

    HeronError
    ├── ConfigError              bad settings / parameters (value named in the message)
    ├── SchemaError              a document or field does not fit the index schema
    │   └── DocumentError        one input document is malformed (source location when known)
    ├── QueryError
    │   ├── QueryParseError      query string syntax error (carries ``position``)
    │   └── FilterError          invalid filter (bad domain list, date, unknown field)
    ├── IndexNotFoundError       no index at a path
    ├── IndexExistsError         creating over an existing index
    ├── LockError                another writer holds the index lock
    ├── WriteRejectedError       back-pressure: write buffer / merge backlog over budget (``retry_after_s``)
    ├── CorruptIndexError        a file fails its checksum/format check (carries ``path``)
    ├── StorageError             the disk refused a write (full, permissions); the last commit is intact
    └── IncompatibleFormatError  a file's format version is not supported (carries ``path``)

Every message says what went wrong, where, and how to fix it when that is knowable.
"""

from __future__ import annotations


class HeronError(Exception):
    """Base class of every error heron raises on purpose."""


class ConfigError(HeronError, ValueError):
    """Invalid configuration or parameter value."""


class SchemaError(HeronError, ValueError):
    """A document or field definition does not fit the schema."""


class DocumentError(SchemaError):
    """One input document is malformed.

    ``source`` is a ``file:line`` style location when the document came from a file.
    """

    def __init__(self, message: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class QueryError(HeronError, ValueError):
    """A query cannot be executed as given."""


class QueryParseError(QueryError):
    """Syntax error in a query string; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.query = query
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position}:\n  {query}\n  {pointer}")


class FilterError(QueryError):
    """A search filter is invalid (e.g. mixed allow/deny domain lists, bad date)."""


class IndexNotFoundError(HeronError, FileNotFoundError):
    """There is no heron index at the given location."""


class IndexExistsError(HeronError, FileExistsError):
    """An index already exists where a new one was to be created."""


class LockError(HeronError):
    """Another writer holds the index write lock."""


class WriteRejectedError(HeronError):
    """A write was refused because the writer is over its memory or merge budget; retry later.

    ``retry_after_s`` is a hint; ``overloaded`` is True for a merge backlog (HTTP 503) and
    False for a full write buffer (HTTP 429).
    """

    def __init__(self, message: str, retry_after_s: float = 1.0, overloaded: bool = False) -> None:
        self.retry_after_s = retry_after_s
        self.overloaded = overloaded
        super().__init__(message)


class CorruptIndexError(HeronError):
    """A file of the index is damaged. ``path`` names the file."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"corrupt index file {path!r}: {reason}. The index was not used; "
            "restore it from a snapshot or rebuild it."
        )


class StorageError(HeronError):
    """Writing the index failed (disk full, permission denied, I/O error). The previous commit
    is intact; ``__cause__`` is the ``OSError``."""


class IncompatibleFormatError(HeronError):
    """A file was written in a format version this heron cannot read."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path = path
        super().__init__(
            f"index file {path!r} has format version {found}, this heron reads version {supported}; "
            "rebuild the index with this version of heron"
        )
