"""Length-prefixed JSON frames: the wire format between the caller, the supervisor and each run.

JSON (never pickle/marshal) because the supervisor reads frames written by untrusted snippets: a frame is at
most `max_frame` bytes, holds at most `max_containers` JSON objects/arrays (checked on the bytes before parsing,
so a deeply nested frame never reaches the recursive parser) and must decode to a JSON object; anything else is
a `FrameError`. `scrub` is the one escaping applied to every text that leaves the sandbox.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
from typing import Any

HEADER = struct.Struct(">I")
MAX_CONTROL_FRAME = 64 << 20  # caller <-> supervisor: code and results (results are capped well below)
# Objects and arrays a frame may hold. Every frame of the protocol is flat: a run's report has at most 2
# (itself and `files`), a caller's request 4 (the config: itself, `config`, `preload`, `extra_ro_paths`).
MAX_CONTAINERS = 8

# A JSON string, escapes included (unrolled loop: linear, no backtracking). What is left once strings are
# removed is the frame's structure; its brackets bound the nesting depth from above.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class FrameError(ValueError):
    """A malformed or oversized frame."""


def encode(obj: dict[str, Any]) -> bytes:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return HEADER.pack(len(body)) + body


def decode(body: bytes | bytearray, max_containers: int = MAX_CONTAINERS) -> dict[str, Any]:
    """Parse one frame body; `FrameError` for anything but a JSON object of at most `max_containers` containers."""
    body = bytes(body)
    if body.count(b"{") + body.count(b"[") > max_containers:  # brackets inside strings may explain them
        skeleton = _JSON_STRING.sub(b"", body)
        containers = skeleton.count(b"{") + skeleton.count(b"[")
        if containers > max_containers:
            raise FrameError(f"frame nests {containers} objects/arrays (at most {max_containers})")
    try:
        obj = json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as e:  # the bound above stops the 2 last
        raise FrameError(f"undecodable frame: {type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(obj, dict):
        raise FrameError("frame is not a JSON object")
    return obj


REPORT_STATUSES = ("ok", "error", "memory")  # what a run may say of itself; the rest the supervisor decides


def parse_report(frame: dict[str, Any]) -> tuple[str, str | None, str | None, dict[str, str] | None]:
    """(status, error, expr, files) of a run's decoded report, texts scrubbed; `FrameError` if it is not one."""
    status, error, expr, files = frame.get("status"), frame.get("error"), frame.get("expr"), frame.get("files")
    if status not in REPORT_STATUSES or not isinstance(error, (str, type(None))) \
            or not isinstance(expr, (str, type(None))) or not (files is None or _is_file_map(files)):
        raise FrameError("a report holds a status, error and expr strings (or null) and a map of files")
    return (status, None if error is None else scrub(error), None if expr is None else scrub(expr),
            None if files is None else {scrub(k): v for k, v in files.items()})


def _is_file_map(files: object) -> bool:
    return isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())


def scrub(text: str) -> str:
    """`text` as valid UTF-8: lone surrogates become `\\udXXX` escapes (backslashreplace), everything else stays.

    Applied to every string that leaves the sandbox (error lines, reprs, file names; captured bytes are decoded
    with the same rule), so results can always be encoded by the HTTP layer, polars and pyarrow.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


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

    def __init__(self, sock: socket.socket, max_frame: int, max_containers: int = MAX_CONTAINERS) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.max_frame = max_frame
        self.max_containers = max_containers
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
            frames.append(decode(body, self.max_containers))
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
