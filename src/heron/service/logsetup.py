"""Process logging of ``heron serve`` (the parent and every worker process), and the access
log's handler."""

from __future__ import annotations

import logging
import threading
import time
from typing import IO, Any

from heron.service.config import ServiceConfig

#: how long an access-log line may wait in the buffer, and how many bytes the buffer holds
ACCESS_FLUSH_INTERVAL_S = 0.2
ACCESS_BUFFER_BYTES = 64 * 1024


class AccessLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The ``heron.access`` handler ``heron serve`` installs: each record's message as one line,
    written in batches — when ``max_bytes`` are buffered, and at the latest
    ``flush_interval_s`` after a line came in (a background thread), at ``flush()``/``close()``
    (``logging.shutdown`` at exit, graceful shutdown) — instead of one ``write`` + ``flush`` per
    request on the thread that answered it. A line waits at most ``flush_interval_s``; a killed
    process loses at most that much of its access log (never a request).

    :meth:`write_line` takes an already formatted line without a ``LogRecord`` (the request
    middleware's path when this is the logger's only handler: a record costs more than the
    JSON line it carries).
    """

    def __init__(self, stream: IO[str] | None = None, flush_interval_s: float = ACCESS_FLUSH_INTERVAL_S,
                 max_bytes: int = ACCESS_BUFFER_BYTES) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.flush_interval_s = flush_interval_s
        self.max_bytes = max_bytes
        self._lines: list[str] = []
        self._bytes = 0
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closed = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.write_line(self.format(record))
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        """Buffer one line (no newline); written within ``flush_interval_s``."""
        with self.lock:  # type: ignore[union-attr]
            self._lines.append(line)
            self._bytes += len(line) + 1
            if self._bytes >= self.max_bytes or self._closed:
                self._write_buffered()
                return
            if self._flusher is None:  # started on first use: a thread does not survive a fork
                self._flusher = threading.Thread(target=self._flush_loop, name="heron-access-log", daemon=True)
                self._flusher.start()
            if len(self._lines) == 1:  # the first line of a batch: the flusher's clock starts
                self._wake.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_buffered()

    def close(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._closed = True
            self._write_buffered()
        self._wake.set()
        super().close()

    def _write_buffered(self) -> None:
        """Write and flush the buffered lines (the caller holds ``self.lock``)."""
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            self._bytes = 0
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # stderr closed or full: the access log is best effort
                pass
        else:
            super().flush()

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            time.sleep(self.flush_interval_s)  # let a batch gather
            self.flush()


def write_access_line(logger: logging.Logger, line: str) -> None:
    """Log ``line`` at INFO on ``logger`` (the caller checked that INFO is enabled): straight into
    an :class:`AccessLineHandler` that is the logger's only handler (no filters, level INFO or
    lower), else as a record through the logger (its handlers, filters and propagation, e.g. a
    test's capture)."""
    handlers: list[Any] = logger.handlers
    if (len(handlers) == 1 and type(handlers[0]) is AccessLineHandler and not logger.filters
            and not handlers[0].filters and handlers[0].level <= logging.INFO):
        handlers[0].write_line(line)
    else:
        logger.info(line)


def configure_logging(config: ServiceConfig) -> None:
    """Plain lines for heron's own logs; JSON access lines (``heron.access``) to stderr as they are,
    in batches (:class:`AccessLineHandler`)."""
    logging.basicConfig(level=config.log_level.upper() if config.log_level != "trace" else "DEBUG",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    access = logging.getLogger("heron.access")
    access.propagate = False
    access.setLevel(logging.INFO if config.access_log else logging.WARNING)
    if not access.handlers:
        access.addHandler(AccessLineHandler())
