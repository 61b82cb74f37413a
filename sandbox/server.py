"""A SandboxFusion-compatible HTTP front end, so verl's ReTool recipe and other SandboxFusion clients can use this
sandbox unchanged (wire format: `sandbox/fusion_api.py`; docs/sandbox.md, "HTTP server").

Served by uvicorn (h11 backend, `sandbox/http_protocol.py`) with a plain ASGI app. What a request meets, in order:
1. the connection guards: headers within `read_timeout_s`, at most 16 KiB of them, well-formed framing (else a
   JSON 400/408), at most `max_connections` sockets;
2. routing, then the bearer token, **before any of the body is read** (a 401 closes the connection unread);
3. `Content-Length`: required (411; chunked bodies too), at most `max_body_bytes` (413 before reading);
4. admission: at most `max_pending` requests read, queued or running at once (503 beyond, never a reset);
5. the body, within `read_timeout_s` (408), still capped while it streams in; then UTF-8 JSON of an object
   (400) whose fields have the right types and values (422);
6. the run, through `Sandbox.arun` (the sandbox's own queue schedules; a client that disconnects cancels its run).
Every error is a JSON `{"detail": ...}`; an unexpected exception is a JSON 500 and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import threading
from dataclasses import dataclass
from typing import Any

import uvicorn

from sandbox.fusion_api import (
    LANGUAGES,
    RequestError,
    encode_json,
    parse_run_code,
    run_code_response,
    sandbox_error,
)
from sandbox.http_protocol import MAX_HEADER_BYTES, guarded_h11_protocol
from sandbox.pool import Sandbox, SandboxError

__all__ = [
    "MAX_BODY",
    "AppLimits",
    "SandboxFusionApp",
    "SandboxFusionServer",
    "run_code_response",
    "sandbox_error",
]

log = logging.getLogger(__name__)

MAX_BODY = 8 << 20
_PARSE_INLINE_BYTES = 256 << 10  # larger bodies are decoded in a worker thread, off the event loop
_RUN_PATHS = ("/run_code", "/run_code/")
_PING_PATHS = ("/v1/ping", "/ping")


class HTTPError(Exception):
    def __init__(self, status: int, detail: str, *, close: bool = False, headers: tuple = ()) -> None:
        super().__init__(detail)
        self.status, self.detail, self.close, self.headers = status, detail, close, headers


class _ClientGone(Exception):
    pass


@dataclass(frozen=True)
class AppLimits:
    """What `SandboxFusionApp` enforces per request (docs/sandbox.md, "HTTP server")."""

    token: str | None = None  # bearer token required on /run_code and /health
    max_timeout_s: float = 60.0  # upper bound on a request's run_timeout
    max_memory_mb: int = 4096  # upper bound on a request's memory_limit_MB
    max_body_bytes: int = MAX_BODY
    max_pending: int = 1024  # requests being read, queued or run at once
    read_timeout_s: float = 10.0  # for the body, once the headers are in


class SandboxFusionApp:
    """The ASGI application: `POST /run_code`, `GET /v1/ping`, `GET /health`."""

    def __init__(self, sandbox: Sandbox, limits: AppLimits | None = None) -> None:
        self.sandbox = sandbox
        self.limits = limits or AppLimits()
        self.pending = 0  # only touched from the event loop

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        try:
            reply = await self._route(scope, receive)
        except HTTPError as e:
            reply = (e.status, {"detail": e.detail}, e.close, e.headers)
        except _ClientGone:
            return
        except Exception:
            log.exception("unexpected error serving %s %s", scope.get("method"), scope.get("path"))
            reply = (500, {"detail": "internal server error (logged on the server)"}, True, ())
        status, payload, close, headers = reply
        body = payload if isinstance(payload, bytes) else encode_json(payload)
        kind = b"text/plain; charset=utf-8" if isinstance(payload, bytes) else b"application/json"
        head = [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *headers]
        if close:  # the body was not read: do not let the client keep pushing it into a kept-alive socket
            head.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _route(self, scope: dict[str, Any], receive: Any) -> tuple:
        method, path = scope["method"], scope["path"]
        headers = scope["headers"]
        # h11 refuses a header block still incomplete past MAX_HEADER_BYTES; one that arrived whole in a single
        # read can be larger, so it is measured here too.
        if sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEADER_BYTES:
            raise HTTPError(431, f"the request headers are over {MAX_HEADER_BYTES} bytes", close=True)
        if path in _PING_PATHS:
            _allow(method, "GET", "HEAD")
            return 200, b"pong", False, ()
        if path == "/health":
            _allow(method, "GET", "HEAD")
            self._authorize(headers)
            layers = await asyncio.get_running_loop().run_in_executor(None, lambda: self.sandbox.layers)
            return 200, {"status": "ok", "layers": list(layers), "pending": self.pending}, False, ()
        if path in _RUN_PATHS:
            _allow(method, "POST")
            self._authorize(headers)
            return await self._run_code(headers, receive)
        raise HTTPError(404, f"no route {path!r}: POST /run_code, GET /v1/ping, GET /health", close=True)

    def _authorize(self, headers: list[tuple[bytes, bytes]]) -> None:
        if not self.limits.token:
            return
        given = b"".join(v for k, v in headers if k == b"authorization")
        if not hmac.compare_digest(given, f"Bearer {self.limits.token}".encode()):
            raise HTTPError(
                401, "missing or wrong bearer token", close=True, headers=((b"www-authenticate", b"Bearer"),)
            )

    async def _run_code(self, headers: list[tuple[bytes, bytes]], receive: Any) -> tuple:
        length = self._content_length(headers)
        if self.pending >= self.limits.max_pending:
            raise HTTPError(
                503,
                f"{self.limits.max_pending} requests are already pending; retry later",
                close=True,
                headers=((b"retry-after", b"1"),),
            )
        self.pending += 1
        try:
            req = await self._decode(await self._read_body(receive, length))
            try:
                args = parse_run_code(req)
            except RequestError as e:
                raise HTTPError(422, str(e)) from None
            if args.language not in LANGUAGES:
                return (
                    200,
                    sandbox_error(f"unsupported language {args.language!r}: this sandbox runs python only"),
                    False,
                    (),
                )
            try:
                result = await self._run_watching(args, receive)
            except SandboxError as e:  # SandboxFusion reports its own failures as 200 + status SandboxError
                return 200, sandbox_error(str(e)), False, ()
            return 200, run_code_response(result), False, ()
        finally:
            self.pending -= 1

    def _content_length(self, headers: list[tuple[bytes, bytes]]) -> int:
        # h11 has already refused a malformed, negative or conflicting Content-Length (JSON 400).
        values = [v for k, v in headers if k == b"content-length"]
        if not values:
            raise HTTPError(
                411, "Content-Length is required (chunked request bodies are not accepted)", close=True
            )
        try:
            length = int(values[0])
        except ValueError:
            raise HTTPError(400, "Content-Length must be a non-negative integer", close=True) from None
        if length < 0:
            raise HTTPError(400, "Content-Length must be a non-negative integer", close=True)
        if length > self.limits.max_body_bytes:
            raise HTTPError(
                413,
                f"the body ({length} bytes) is over the {self.limits.max_body_bytes}-byte limit",
                close=True,
            )
        return length

    async def _read_body(self, receive: Any, length: int) -> bytes:
        body = bytearray()
        try:
            async with asyncio.timeout(self.limits.read_timeout_s):
                while True:
                    msg = await receive()
                    if msg["type"] == "http.disconnect":
                        raise _ClientGone
                    body += msg.get("body", b"")
                    if len(body) > min(
                        length, self.limits.max_body_bytes
                    ):  # never more than declared or allowed
                        raise HTTPError(
                            413,
                            f"the body is over {min(length, self.limits.max_body_bytes)} bytes",
                            close=True,
                        )
                    if not msg.get("more_body", False):
                        return bytes(body)
        except TimeoutError:
            raise HTTPError(
                408,
                f"the body ({len(body)} of {length} bytes so far) did not arrive within "
                f"{self.limits.read_timeout_s:g} s",
                close=True,
            ) from None

    async def _decode(self, body: bytes) -> dict[str, Any]:
        if len(body) > _PARSE_INLINE_BYTES:
            req = await asyncio.get_running_loop().run_in_executor(None, _parse_json, body)
        else:
            req = _parse_json(body)
        if not isinstance(req, dict):
            raise HTTPError(400, f"the body must be a JSON object, not {type(req).__name__}")
        return req

    async def _run_watching(self, args: Any, receive: Any) -> Any:
        timeout = self.sandbox.config.timeout_s if args.run_timeout is None else args.run_timeout
        memory = self.sandbox.config.memory_mb if args.memory_mb is None else args.memory_mb
        run = asyncio.ensure_future(
            self.sandbox.arun(
                args.code,
                timeout_s=min(timeout, self.limits.max_timeout_s),
                memory_mb=min(memory, self.limits.max_memory_mb),
                stdin=args.stdin,
                files=args.files,
                fetch_files=args.fetch_files,
            )
        )
        # Once the body is read, receive() only returns when the client disconnects: then its run is cancelled
        # (killed), so a client that gave up does not hold a worker.
        gone = asyncio.ensure_future(receive())
        try:
            done, _ = await asyncio.wait((run, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not run.done():
                run.cancel()
        if run not in done:
            raise _ClientGone
        return run.result()


def _parse_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HTTPError(
            400, f"the body is not UTF-8 (byte {body[e.start]:#04x} at offset {e.start})"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise HTTPError(400, "the JSON body is nested too deeply") from None
    except ValueError as e:  # also: integers over sys.get_int_max_str_digits() digits
        raise HTTPError(400, f"invalid JSON body: {e}") from None


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise HTTPError(
            405,
            f"{method} is not allowed here (allowed: {', '.join(allowed)})",
            close=True,
            headers=((b"allow", ", ".join(allowed).encode()),),
        )


class SandboxFusionServer:
    """uvicorn serving `SandboxFusionApp` on a socket bound at construction (port 0 picks a free one).

    `serve_forever()` blocks (SIGINT/SIGTERM stop it gracefully from the main thread); `start_background()` serves
    from a daemon thread until `shutdown()`. Limits (docs/sandbox.md, "HTTP server"): `max_body_bytes` per body,
    `max_pending` requests admitted at once, `read_timeout_s` for the headers and again for the body,
    `keep_alive_s` idle between requests, `max_connections` sockets, `backlog` connections waiting to be accepted.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        host: str = "127.0.0.1",
        port: int = 8080,
        token: str | None = None,
        max_timeout_s: float = 60.0,
        max_memory_mb: int = 4096,
        *,
        max_body_bytes: int = MAX_BODY,
        max_pending: int = 1024,
        read_timeout_s: float = 10.0,
        keep_alive_s: float = 5.0,
        max_connections: int = 4096,
        backlog: int = 2048,
        shutdown_grace_s: float = 10.0,
    ) -> None:
        if max_body_bytes < 1 or max_pending < 1 or max_connections < 1 or backlog < 1 or read_timeout_s <= 0:
            raise ValueError(
                "max_body_bytes, max_pending, max_connections, backlog >= 1 and read_timeout_s > 0 required"
            )
        self.sandbox = sandbox
        limits = AppLimits(token, max_timeout_s, max_memory_mb, max_body_bytes, max_pending, read_timeout_s)
        self.app = SandboxFusionApp(sandbox, limits)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, port), family=family, backlog=backlog)
        config = uvicorn.Config(
            self.app,
            http=guarded_h11_protocol(read_timeout_s, max_connections),
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            backlog=backlog,
            timeout_keep_alive=keep_alive_s,
            timeout_graceful_shutdown=shutdown_grace_s,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def token(self) -> str | None:
        return self.app.limits.token

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self._server.run(sockets=[self._sock])

    def start_background(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox-http", daemon=True)
        self._thread.start()
        return self._thread

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop serving (in-flight requests get `shutdown_grace_s` to finish) and wait for the serving thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)

    def server_close(self) -> None:
        self._sock.close()
