"""uvicorn's httptools protocol with one socket write per response instead of two.

uvicorn writes a response's status line + headers and its body with two
``transport.write`` calls, i.e. two ``send`` system calls (and often two TCP segments) per
request; on loopback at thousands of requests a second the first of them was the single
most expensive line of the request path. :class:`CoalescingHttpToolsProtocol` gives the
protocol a transport wrapper that collects what is written during one turn of the event
loop and writes it at the end of that turn with one call (at once when 64 KiB are
waiting, and before the transport is closed), so header and body leave together. Nothing
else changes: flow control, keep-alive and closing are the real transport's.

A complete response is written at once, not at the end of the loop turn: the protocol
flushes when uvicorn reports the response complete, so the answer is on the wire before
the application's bookkeeping after it (metrics, the access-log line) runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: flush at once when this many bytes are waiting (big or streamed bodies keep flowing)
FLUSH_BYTES = 64 * 1024


class CoalescingTransport:
    """Wraps an ``asyncio.Transport``: writes in one loop turn go out as one write."""

    __slots__ = ("_buf", "_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buf: list[bytes] = []
        self._size = 0
        self._pending = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._buf.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES:
            self.flush()
        elif not self._pending:
            self._pending = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._pending = False
        if not self._buf:
            return
        data = self._buf[0] if len(self._buf) == 1 else b"".join(self._buf)
        self._buf.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._buf.clear()
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.run(..., http=CoalescingHttpToolsProtocol)``."""

    def connection_made(self, transport: Any) -> None:  # uvloop's transports are not asyncio.Transport
        wrapped: Any = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)

    def on_response_complete(self) -> None:
        transport = self.transport
        if isinstance(transport, CoalescingTransport):
            transport.flush()
        super().on_response_complete()


def uvicorn_options() -> dict[str, Any]:
    """What ``heron serve`` passes to ``uvicorn.run``: uvloop and this protocol (httptools)."""
    import importlib.util

    opts: dict[str, Any] = {"http": "heron.service.protocol:CoalescingHttpToolsProtocol"}
    if importlib.util.find_spec("uvloop") is not None:
        opts["loop"] = "uvloop"
    return opts
