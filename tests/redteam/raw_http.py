"""A raw HTTP/1.1 client for the hostile-server tests: it sends exactly the bytes a test gives (broken framing,
trickled headers, pipelined requests) and parses replies strictly."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.server import SandboxFusionServer


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        assert self.headers["content-type"] == "application/json", self
        return json.loads(self.body.decode("utf-8"))  # strict: a reply is always valid UTF-8


class Conn:
    """A raw client socket that keeps what it read past one reply (pipelined replies)."""

    def __init__(self, srv: SandboxFusionServer, timeout_s: float = 30.0) -> None:
        u = urlsplit(srv.url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout_s)
        self.buf = b""

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed before a complete reply; got {self.buf!r}")
        self.buf += chunk

    def reply(self) -> Reply:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        size = int(headers.get("content-length", "0"))
        while len(self.buf) < size:
            self._fill()
        body, self.buf = self.buf[:size], self.buf[size:]
        return Reply(int(lines[0].split()[1]), headers, body)

    def closed_by_server(self) -> bool:
        """True once the server closed (or reset) the connection; False if it stays open past the timeout."""
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False


def exchange(srv: SandboxFusionServer, raw: bytes) -> Reply:
    with Conn(srv) as c:
        c.send(raw)
        return c.reply()


def request(
    body: bytes, *headers: str, path: str = "/run_code", method: str = "POST", length: bool = True
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
