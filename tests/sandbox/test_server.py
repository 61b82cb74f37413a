"""The SandboxFusion-compatible HTTP server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from sandbox.server import SandboxFusionServer
from tests.conftest import REPO_ROOT
from tests.sandbox.conftest import require_isolation


def post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/run_code", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def verl_request(code: str, **extra) -> dict:
    # What verl's sandbox_fusion client sends.
    return {"compile_timeout": 10, "run_timeout": 5, "code": code, "stdin": "", "language": "python",
            "files": {}, "fetch_files": [], "memory_limit_MB": 512, **extra}


@pytest.fixture(scope="module")
def server(sb: Sandbox) -> Iterator[SandboxFusionServer]:
    srv = SandboxFusionServer(sb, "127.0.0.1", 0)
    srv.start_background()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_run_code_success_shape(server: SandboxFusionServer) -> None:
    code, body = post(server.url, verl_request("print(1 + 1)"))
    assert code == 200
    assert body["status"] == "Success" and body["compile_result"] is None and body["files"] == {}
    run = body["run_result"]
    assert (run["status"], run["stdout"], run["stderr"], run["return_code"]) == ("Finished", "2\n", "", 0)
    assert isinstance(run["execution_time"], float)
    assert body["retool"] == {"status": "ok", "output": "2\n", "truncated": False}


def test_run_code_error_timeout_and_stdin(server: SandboxFusionServer) -> None:
    _, body = post(server.url, verl_request("print('a')\nraise ValueError('bad')"))
    assert body["status"] == "Failed" and body["run_result"]["return_code"] == 1
    assert body["run_result"]["stdout"] == "a\n" and "Traceback" in body["run_result"]["stderr"]
    assert body["retool"]["output"] == "a\nValueError: bad"
    _, body = post(server.url, verl_request("while True: pass", run_timeout=0.5))
    assert body["status"] == "Failed" and body["run_result"]["status"] == "TimeLimitExceeded"
    _, body = post(server.url, verl_request("print(input() * 2)", stdin="ab\n"))
    assert body["run_result"]["stdout"] == "abab\n"


def test_run_code_rejects_other_languages_and_bad_bodies(server: SandboxFusionServer) -> None:
    _, body = post(server.url, verl_request("int main() {}", language="cpp"))
    assert body["status"] == "SandboxError" and "python only" in body["message"]
    req = urllib.request.Request(server.url + "/run_code", data=b"not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400
    with urllib.request.urlopen(server.url + "/v1/ping", timeout=10) as resp:
        assert resp.read() == b"pong"


def test_bearer_token(sb: Sandbox) -> None:
    srv = SandboxFusionServer(sb, "127.0.0.1", 0, token="s3cret")
    srv.start_background()
    try:
        assert post(srv.url, verl_request("print(1)"))[0] == 401
        assert post(srv.url, verl_request("print(1)"), token="wrong")[0] == 401
        status, body = post(srv.url, verl_request("print(1)"), token="s3cret")
        assert status == 200 and body["run_result"]["stdout"] == "1\n"
    finally:
        srv.shutdown()
        srv.server_close()


def test_cli_serve_command() -> None:
    require_isolation()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "retool_data", "sandbox", "serve", "--port", str(port),
                             "--workers", "1"], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/v1/ping", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        status, body = post(url, verl_request("import sympy\nprint(sympy.isprime(2**61 - 1))"))
        assert status == 200 and body["run_result"]["stdout"] == "True\n"
    finally:
        proc.terminate()
        proc.wait(20)
