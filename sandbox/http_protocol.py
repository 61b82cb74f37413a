"""uvicorn's h11 HTTP/1.1 protocol with the connection-level guards uvicorn leaves to a proxy.

uvicorn parses requests (h11: strict framing, a 16 KiB cap on the request line + headers, `Content-Length` must
be digits), but a connection that never finishes its headers is never timed out (its keep-alive timer only runs
between requests and stops at the first byte), a client that never reads its response keeps the socket and the
buffered body, and framing errors are answered in plain text. This subclass adds, per connection:

- an idle deadline, armed whenever no request is being handled (just connected, or a response finished): the
  request line and headers must be in within `read_timeout_s`, else the client gets a JSON 408 (or a plain close
  if it sent nothing) — a slowloris that trickles one byte a second holds a socket for `read_timeout_s`, no more;
- a client that stops reading its responses: once the send buffer is over its high-water mark, it must drain
  within `read_timeout_s` or the socket is aborted (a plain `close()` would wait for the buffer forever), which
  also releases the handler waiting to write;
- at most `max_connections` open at once: the next one gets a JSON 503 and is closed;
- framing errors (bad or negative `Content-Length`, oversized headers, garbage) get a JSON 400, not text.

The request body and the handling are timed and capped by the app (`sandbox/server.py`). Only the h11 backend is
used: uvicorn's httptools backend has no header size limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 << 10  # request line + headers; h11's default, named here because the docs quote it


def json_error_bytes(status: int, detail: str) -> bytes:
    """A complete HTTP/1.1 error response that closes the connection, for use outside a request cycle."""
    body = json.dumps({"detail": detail}).encode()
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedH11Protocol(H11Protocol):
    read_timeout_s: float = 10.0
    max_connections: int = 4096

    _idle_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.max_connections:
            log.warning("refusing a connection: %d open (max_connections)", len(self.connections) - 1)
            self._reject(503, f"the server has {self.max_connections} connections open; retry later")
            return
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._handling_request():
            self._disarm_idle_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self._handling_request():  # a pipelined request may already have started in super()
            self._arm_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_idle_timer()
        self._disarm_write_timer()
        super().connection_lost(exc)

    def pause_writing(self) -> None:  # asyncio: the transport's buffer went over its high-water mark
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.read_timeout_s, self._write_stalled)

    def resume_writing(self) -> None:
        self._disarm_write_timer()
        super().resume_writing()

    def send_400_response(self, msg: str) -> None:
        log.warning("invalid HTTP request from %s: %s", self.client, msg)
        self._reject(
            400,
            "invalid HTTP request: the request line, headers or framing are malformed "
            f"(Content-Length must be a non-negative integer; request line + headers at most "
            f"{MAX_HEADER_BYTES} bytes)",
        )

    # ------------------------------------------------------------------------------------------- internals

    def _handling_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _arm_idle_timer(self) -> None:
        self._disarm_idle_timer()
        self._idle_timer = self.loop.call_later(self.read_timeout_s, self._idle_expired)

    def _disarm_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _disarm_write_timer(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _write_stalled(self) -> None:
        self._write_timer = None
        log.warning(
            "aborting a connection from %s: its reply did not drain for %.0f s",
            self.client,
            self.read_timeout_s,
        )
        self.transport.abort()

    def _idle_expired(self) -> None:
        self._idle_timer = None
        if self._handling_request():
            return
        if self.transport.get_write_buffer_size() > 0:
            # The client stopped reading (under the high-water mark): close() would wait for it forever.
            self.transport.abort()
            return
        if self.transport.is_closing():
            return
        partial = bool(self.conn.trailing_data[0]) or self.conn.their_state is not h11.IDLE
        if partial:
            log.warning(
                "closing a connection from %s: request not received within %.0f s",
                self.client,
                self.read_timeout_s,
            )
            self._reject(408, f"the request line and headers must arrive within {self.read_timeout_s:g} s")
        else:
            self.transport.close()

    def _reject(self, status: int, detail: str) -> None:
        self._disarm_idle_timer()
        if not self.transport.is_closing():
            self.transport.write(json_error_bytes(status, detail))
            self.transport.close()


def guarded_h11_protocol(read_timeout_s: float, max_connections: int) -> type[GuardedH11Protocol]:
    """A protocol class bound to one server's limits (uvicorn instantiates it once per connection)."""
    return type(
        "GuardedH11Protocol",
        (GuardedH11Protocol,),
        {"read_timeout_s": float(read_timeout_s), "max_connections": int(max_connections)},
    )
