"""A SandboxFusion-compatible HTTP front end, so verl's ReTool recipe and other SandboxFusion clients can use
this sandbox unchanged: `POST /run_code` with `{code, language, run_timeout, memory_limit_MB, stdin, files,
fetch_files}` answers `{status, message, compile_result, run_result: {status, execution_time, return_code,
stdout, stderr}, executor_pod_name, files}`. It also adds `retool: {status, output, truncated}`, where
`output` is exactly what goes into `<interpreter>`.

Standard library only (ThreadingHTTPServer): each connection gets a thread that blocks on `Sandbox.run`,
which is thread-safe; the sandbox's own queue does the scheduling.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.pool import Sandbox
from sandbox.result import ExecResult

log = logging.getLogger(__name__)

MAX_BODY = 8 << 20
LANGUAGES = ("python", "python3")


def run_code_response(r: ExecResult) -> dict[str, Any]:
    """Map an `ExecResult` onto SandboxFusion's RunCodeResponse."""
    run_status = "TimeLimitExceeded" if r.status == "timeout" else "Finished"
    return {
        "status": "Success" if r.status == "ok" else "Failed",
        "message": "" if r.status == "ok" else (r.error or ""),
        "compile_result": None,
        "run_result": {
            "status": run_status,
            "execution_time": r.duration_s,
            "return_code": r.return_code,
            "stdout": r.stdout,
            "stderr": r.stderr,
        },
        "executor_pod_name": None,
        "files": r.extra.get("files", {}),
        "retool": {"status": r.status, "output": r.output, "truncated": r.truncated},
    }


def sandbox_error(message: str) -> dict[str, Any]:
    return {"status": "SandboxError", "message": message, "compile_result": None, "run_result": None,
            "executor_pod_name": None, "files": {}}


class SandboxFusionServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 8080, token: str | None = None,
                 max_timeout_s: float = 60.0, max_memory_mb: int = 4096) -> None:
        self.sandbox = sandbox
        self.token = token
        self.max_timeout_s = max_timeout_s
        self.max_memory_mb = max_memory_mb
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sandbox-http", daemon=True)
        thread.start()
        return thread

    def handle_run_code(self, req: dict[str, Any]) -> dict[str, Any]:
        language = req.get("language", "python")
        if language not in LANGUAGES:
            return sandbox_error(f"unsupported language {language!r}: this sandbox runs python only")
        code = req.get("code")
        if not isinstance(code, str):
            return sandbox_error("`code` must be a string")
        timeout = req.get("run_timeout")
        timeout = self.sandbox.config.timeout_s if timeout in (None, -1) else float(timeout)
        memory = req.get("memory_limit_MB")
        memory = self.sandbox.config.memory_mb if memory in (None, -1) else int(memory)
        if timeout <= 0 or memory < 16:
            return sandbox_error("run_timeout must be > 0 and memory_limit_MB >= 16 (or -1)")
        files = req.get("files") or {}
        fetch = req.get("fetch_files") or []
        if not isinstance(files, dict) or not isinstance(fetch, list):
            return sandbox_error("`files` must be an object of base64 strings and `fetch_files` a list")
        result = self.sandbox.run(code, timeout_s=min(timeout, self.max_timeout_s),
                                  memory_mb=min(memory, self.max_memory_mb), stdin=req.get("stdin") or None,
                                  files=files or None, fetch_files=fetch or None)
        return run_code_response(result)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxFusionServer

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)

    def _reply(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if not self.server.token:
            return True
        expected = f"Bearer {self.server.token}".encode()
        return hmac.compare_digest(self.headers.get("Authorization", "").encode(), expected)

    def do_GET(self) -> None:
        if self.path in ("/v1/ping", "/ping"):
            self._reply(200, b"pong", "text/plain")
        elif self.path == "/health":
            if not self._authorized():
                self._reply(401, {"detail": "missing or wrong bearer token"})
                return
            self._reply(200, {"status": "ok", "layers": list(self.server.sandbox.layers)})
        else:
            self._reply(404, {"detail": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"detail": f"body over {MAX_BODY} bytes"})
            self.close_connection = True
            return
        body = self.rfile.read(length)
        if not self._authorized():
            self._reply(401, {"detail": "missing or wrong bearer token"})
            return
        if self.path.rstrip("/") != "/run_code":
            self._reply(404, {"detail": "not found"})
            return
        try:
            req = json.loads(body)
        except ValueError as e:
            self._reply(400, {"detail": f"invalid JSON body: {e}"})
            return
        if not isinstance(req, dict):
            self._reply(400, {"detail": "the body must be a JSON object"})
            return
        try:
            self._reply(200, self.server.handle_run_code(req))
        except (TypeError, ValueError) as e:
            self._reply(200, sandbox_error(f"bad request: {e}"))
