"""The access log's handler (``heron.service.logsetup.AccessLineHandler``): lines written in
batches, none lost or reordered, none held longer than the flush interval; the request
middleware writes straight into it only when it is the access logger's sole handler."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from heron.service import ServiceConfig, create_app
from heron.service.logsetup import AccessLineHandler, configure_logging, write_access_line

from .support import build_index


class CountingStream(io.StringIO):
    """A text stream that counts the ``write`` calls it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, s: str) -> int:
        self.writes += 1
        return super().write(s)


def wait_for(cond: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_lines_come_out_in_order_in_batches_within_the_interval() -> None:
    stream = CountingStream()
    h = AccessLineHandler(stream, flush_interval_s=0.1)
    try:
        t0 = time.monotonic()
        for i in range(100):
            h.write_line(f'{{"n":{i}}}')
        assert stream.getvalue() == ""  # buffered, not written per line
        wait_for(lambda: stream.getvalue().count("\n") == 100)
        waited = time.monotonic() - t0
        assert [json.loads(x)["n"] for x in stream.getvalue().splitlines()] == list(range(100))
        assert stream.writes == 1 and waited < 2.0
        h.write_line("late")  # a later line starts a new batch
        wait_for(lambda: stream.getvalue().endswith("late\n"))
        assert stream.getvalue().endswith("late\n") and stream.writes == 2
    finally:
        h.close()


def test_a_full_buffer_is_written_at_once_and_close_writes_the_rest() -> None:
    stream = CountingStream()
    h = AccessLineHandler(stream, flush_interval_s=60.0, max_bytes=100)
    line = "x" * 30
    for _ in range(3):
        h.write_line(line)
    assert stream.getvalue() == ""  # 93 bytes buffered
    h.write_line(line)  # 124 bytes: over the limit
    assert stream.getvalue() == (line + "\n") * 4 and stream.writes == 1
    h.write_line("tail")
    h.close()  # e.g. logging.shutdown at exit: nothing stays behind
    assert stream.getvalue().endswith("tail\n")
    h.write_line("after close")  # written at once: no flusher any more
    assert stream.getvalue().endswith("after close\n")


def test_records_go_through_the_same_buffer() -> None:
    stream = io.StringIO()
    h = AccessLineHandler(stream, flush_interval_s=60.0)
    logger = logging.getLogger("heron.test.access-records")
    logger.propagate = False
    logger.addHandler(h)
    logger.setLevel(logging.INFO)
    try:
        logger.info('{"a": %d}', 1)
        h.flush()
        assert stream.getvalue() == '{"a": 1}\n'
    finally:
        logger.removeHandler(h)
        h.close()


def test_concurrent_writers_lose_nothing() -> None:
    stream = io.StringIO()
    h = AccessLineHandler(stream, flush_interval_s=0.01, max_bytes=512)

    def writer(k: int) -> None:
        for i in range(500):
            h.write_line(f"{k}-{i}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h.close()
    lines = stream.getvalue().splitlines()
    assert sorted(lines) == sorted(f"{k}-{i}" for k in range(4) for i in range(500))
    for k in range(4):  # each writer's lines in its order
        mine = [int(x.split("-")[1]) for x in lines if x.startswith(f"{k}-")]
        assert mine == list(range(500))


@pytest.fixture
def access_logger() -> Iterator[logging.Logger]:
    """``heron.access`` as configure_logging leaves it; restored afterwards."""
    logger = logging.getLogger("heron.access")
    saved = (logger.handlers[:], logger.level, logger.propagate, logger.filters[:])
    logger.handlers.clear()
    root = logging.getLogger()
    root_saved = (root.handlers[:], root.level)
    configure_logging(ServiceConfig(warmup=False))
    try:
        yield logger
    finally:
        for h in logger.handlers:
            h.close()
        logger.handlers[:], logger.level, logger.propagate, logger.filters[:] = saved
        root.handlers[:], root.level = root_saved


def test_serve_logging_writes_requests_straight_into_the_handler(access_logger: logging.Logger) -> None:
    """With heron's handler alone on the logger, the middleware hands it the line without a
    ``LogRecord``; a handler someone adds (or a filter) gets records again."""
    ours = [x for x in access_logger.handlers if type(x) is AccessLineHandler]
    assert len(ours) == 1
    h = ours[0]
    others = [x for x in access_logger.handlers if x is not h]  # pytest's capture handlers, if any
    for x in others:
        access_logger.removeHandler(x)
    stream = CountingStream()
    h.setStream(stream)
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting_factory(*args: object, **kw: object) -> logging.LogRecord:
        rec = factory(*args, **kw)
        if rec.name == "heron.access":
            made.append(rec)
        return rec

    logging.setLogRecordFactory(counting_factory)
    try:
        with TestClient(create_app(ServiceConfig(warmup=False), {"t": build_index()})) as c:
            for _ in range(5):
                assert c.post("/search", json={"query": "grey heron"}).status_code == 200
            h.flush()
            lines = [json.loads(x) for x in stream.getvalue().splitlines()]
            assert [x["path"] for x in lines] == ["/search"] * 5 and all(x["status"] == 200 for x in lines)
            assert made == []  # no record per request
            assert stream.writes <= 2  # one batch (two if the interval passed in between)

            seen: list[logging.LogRecord] = []

            class Keep(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    seen.append(record)

            extra = Keep()
            access_logger.addHandler(extra)
            try:
                c.post("/search", json={"query": "grey heron"})
            finally:
                access_logger.removeHandler(extra)
            assert len(seen) == 1 and json.loads(seen[0].getMessage())["path"] == "/search"
            h.flush()
            assert len(stream.getvalue().splitlines()) == 6  # heron's handler got that one too
    finally:
        logging.setLogRecordFactory(factory)
        for x in others:
            access_logger.addHandler(x)


def test_write_access_line_falls_back_to_the_logger() -> None:
    logger = logging.getLogger("heron.test.fallback")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    got: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            got.append(record.getMessage())

    keep = Keep()
    logger.addHandler(keep)
    try:
        write_access_line(logger, "plain")  # not heron's handler: a record
        assert got == ["plain"]
    finally:
        logger.removeHandler(keep)


def test_a_handler_level_or_filter_is_respected() -> None:
    """Someone raised heron's handler's level or gave it a filter: the line goes through the
    logger as a record, so that setting decides (here: dropped)."""
    stream = io.StringIO()
    h = AccessLineHandler(stream, flush_interval_s=60.0)
    logger = logging.getLogger("heron.test.access-level")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(h)
    try:
        h.setLevel(logging.WARNING)
        write_access_line(logger, "dropped by level")
        h.setLevel(logging.NOTSET)
        h.addFilter(lambda record: False)
        write_access_line(logger, "dropped by filter")
        h.filters.clear()
        write_access_line(logger, "kept")
        h.flush()
        assert stream.getvalue() == "kept\n"
    finally:
        logger.removeHandler(h)
        h.close()
