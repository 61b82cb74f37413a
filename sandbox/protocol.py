"""Length-prefixed JSON frames: the wire format between the caller, the supervisor and each run.

JSON (never pickle/marshal) because the supervisor reads frames written by untrusted snippets: a frame is at
most `max_frame` bytes and must decode to a JSON object, anything else is a `FrameError`.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_CONTROL_FRAME = 64 << 20  # caller <-> supervisor: code and results (results are capped well below)


class FrameError(ValueError):
    """A malformed or oversized frame."""


def encode(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return HEADER.pack(len(body)) + body


def decode(body: bytes | bytearray) -> dict[str, Any]:
    try:
        obj = json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FrameError(f"undecodable frame: {e}") from None
    if not isinstance(obj, dict):
        raise FrameError("frame is not a JSON object")
    return obj


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_frame(sock: socket.socket, max_frame: int = MAX_CONTROL_FRAME) -> dict[str, Any] | None:
    """Blocking read of one frame; None on a clean EOF."""
    head = _recv_exact(sock, HEADER.size)
    if head is None:
        return None
    (n,) = HEADER.unpack(head)
    if n > max_frame:
        raise FrameError(f"frame of {n} bytes exceeds {max_frame}")
    body = _recv_exact(sock, n)
    if body is None:
        raise FrameError("EOF inside a frame")
    return decode(body)


class Channel:
    """Non-blocking framed duplex over a stream socket, for the supervisor's event loop."""

    def __init__(self, sock: socket.socket, max_frame: int) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.max_frame = max_frame
        self._in = bytearray()
        self._out = bytearray()
        self.eof = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> list[dict[str, Any]]:
        """Read what is available and return the complete frames; sets `eof` when the peer closed."""
        while True:
            try:
                chunk = self.sock.recv(1 << 18)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.eof = True
                break
            if not chunk:
                self.eof = True
                break
            self._in += chunk
            if len(self._in) > self.max_frame + HEADER.size:
                break
        frames = []
        while len(self._in) >= HEADER.size:
            (n,) = HEADER.unpack_from(self._in)
            if n > self.max_frame:
                raise FrameError(f"frame of {n} bytes exceeds {self.max_frame}")
            if len(self._in) < HEADER.size + n:
                break
            body = self._in[HEADER.size : HEADER.size + n]
            del self._in[: HEADER.size + n]
            frames.append(decode(body))
        return frames

    def send(self, obj: dict[str, Any]) -> None:
        self._out += encode(obj)
        self.flush()

    def flush(self) -> None:
        while self._out:
            try:
                n = self.sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._out.clear()  # the peer is gone; its exit is reported elsewhere
                return
            del self._out[:n]

    @property
    def pending_output(self) -> bool:
        return bool(self._out)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def read_available(fd: int, limit: int = 1 << 16) -> bytes | None:
    """Non-blocking read; b'' when nothing is there now, None at EOF."""
    try:
        data = os.read(fd, limit)
    except (BlockingIOError, InterruptedError):
        return b""
    except OSError:
        return None
    return data if data else None
