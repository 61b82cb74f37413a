"""Hostile HTTP clients against `retool-data sandbox serve` (issue 15, item 7), over real sockets on 127.0.0.1.

Each case ends by checking that the server still answers a normal request correctly (`assert_serves`).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox import Sandbox
from sandbox.server import SandboxFusionServer
from tests.redteam.raw_http import Conn, exchange, request
from tests.sandbox.conftest import require_isolation, wait_until
from tests.sandbox.test_server import post, verl_request

pytestmark = pytest.mark.timeout(240)

READ_TIMEOUT_S = 2.0  # short, so the slow-client cases end quickly; normal requests arrive in one write
TOKEN = "s3cret"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    require_isolation()
    with Sandbox(workers=2, timeout_s=5.0, memory_mb=512) as sandbox:
        yield sandbox


def _serve(sb: Sandbox, **kw) -> SandboxFusionServer:
    srv = SandboxFusionServer(sb, "127.0.0.1", 0, read_timeout_s=READ_TIMEOUT_S, keep_alive_s=1.0, **kw)
    srv.start_background()
    return srv


def _stop(srv: SandboxFusionServer) -> None:
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def server(sb: Sandbox) -> Iterator[SandboxFusionServer]:
    srv = _serve(sb)
    yield srv
    _stop(srv)


@pytest.fixture(scope="module")
def auth_server(sb: Sandbox) -> Iterator[SandboxFusionServer]:
    srv = _serve(sb, token=TOKEN)
    yield srv
    _stop(srv)


def assert_serves(srv: SandboxFusionServer, token: str | None = None) -> None:
    status, body = post(srv.url, verl_request("import sympy\nprint(sympy.factorint(2**32 + 1))"), token=token)
    assert status == 200 and body["run_result"]["stdout"] == "{641: 1, 6700417: 1}\n", body


# ------------------------------------------------------------------------------------------ framing and length


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "12, 13", " "])
def test_malformed_content_length_gets_json_400(server: SandboxFusionServer, value: str) -> None:
    reply = exchange(server, request(b'{"code": "print(1)"}', f"Content-Length: {value}", length=False))
    assert reply.status == 400 and "Content-Length" in reply.json()["detail"]
    assert reply.headers["connection"] == "close"
    assert_serves(server)


def test_missing_content_length_is_411(server: SandboxFusionServer) -> None:
    reply = exchange(server, request(b"", length=False))
    assert reply.status == 411 and "Content-Length is required" in reply.json()["detail"]
    assert_serves(server)


def test_chunked_body_is_refused_unread(server: SandboxFusionServer) -> None:
    with Conn(server) as c:
        c.send(request(b"", "Transfer-Encoding: chunked", length=False))  # no chunk sent yet
        reply = c.reply()
        assert reply.status == 411 and reply.headers["connection"] == "close"
        assert c.closed_by_server()
    assert_serves(server)


def test_oversized_body_rejected_before_it_is_read(server: SandboxFusionServer) -> None:
    declared = 1536 << 20  # 1.5 GB, as in the report
    sent = 0
    with Conn(server) as c:
        c.send(request(b"", f"Content-Length: {declared}", length=False))
        reply = c.reply()  # answered on the headers alone
        assert reply.status == 413 and str(declared) in reply.json()["detail"]
        try:  # the server closed: pushing the body fails long before 1.5 GB
            c.sock.settimeout(10)
            chunk = b"x" * (1 << 20)
            while sent < declared:
                c.send(chunk)
                sent += len(chunk)
        except OSError:
            pass
    assert sent < 256 << 20
    assert_serves(server)


def test_body_over_declared_length_is_not_swallowed(server: SandboxFusionServer) -> None:
    # The bytes after Content-Length are the next request: here garbage, which gets its own JSON 400.
    body = json.dumps(verl_request("print(7)")).encode()
    with Conn(server) as c:
        c.send(request(body) + b"NOT HTTP AT ALL\r\n\r\n")
        first, second = c.reply(), c.reply()
    assert first.status == 200 and first.json()["run_result"]["stdout"] == "7\n"
    assert second.status == 400 and second.json()["detail"].startswith("invalid HTTP request")
    assert_serves(server)


def test_oversized_headers_and_garbage_get_json_400(server: SandboxFusionServer) -> None:
    padding = "X-Padding: " + "a" * (20 << 10)
    reply = exchange(server, request(b"{}", padding))  # arrives whole: measured by the app
    assert reply.status == 431 and "16384 bytes" in reply.json()["detail"]
    with Conn(server) as c:  # trickled: h11 refuses the incomplete block once it passes 16 KiB
        c.send(b"POST /run_code HTTP/1.1\r\n")
        for _ in range(5):
            c.send(padding[:5000].encode() + b"\r\n")
            time.sleep(0.05)
        reply = c.reply()
    assert reply.status == 400 and "16384 bytes" in reply.json()["detail"]
    reply = exchange(
        server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n"
    )  # TLS hello
    assert reply.status == 400
    assert_serves(server)


# --------------------------------------------------------------------------------------------- authentication


def test_body_is_not_read_before_auth(auth_server: SandboxFusionServer) -> None:
    with Conn(auth_server) as c:
        # 100 MB announced, nothing sent, and the client waits for "100 Continue" before sending it.
        c.send(
            request(
                b"",
                "Content-Length: 100000000",
                "Expect: 100-continue",
                "Authorization: Bearer no",
                length=False,
            )
        )
        reply = c.reply()
        assert reply.status == 401 and reply.headers["www-authenticate"] == "Bearer"
        assert reply.json()["detail"] == "missing or wrong bearer token"
        assert c.closed_by_server()
    assert (
        exchange(auth_server, request(b"", "Content-Length: 5", length=False)).status == 401
    )  # no token at all
    assert exchange(auth_server, request(b"", path="/health", method="GET", length=False)).status == 401
    assert_serves(auth_server, token=TOKEN)


# ------------------------------------------------------------------------------------------- slow and stalled


def test_slowloris_headers_are_cut_off(server: SandboxFusionServer) -> None:
    conns = [Conn(server) for _ in range(40)]
    try:
        for c in conns:
            c.send(b"POST /run_code HTTP/1.1\r\nHost: x\r\n")
        for _ in range(3):  # keep trickling: the deadline is absolute, not reset per byte
            time.sleep(READ_TIMEOUT_S / 2)
            for c in conns:
                try:
                    c.send(b"X-a: b\r\n")
                except OSError:
                    pass
        assert_serves(server)  # served while 40 connections are stalled
        replies = [c.reply() for c in conns]
        assert {r.status for r in replies} == {408}
        assert all(c.closed_by_server() for c in conns)
    finally:
        for c in conns:
            c.sock.close()
    assert_serves(server)


def test_silent_connections_do_not_hold_the_server(server: SandboxFusionServer) -> None:
    conns = [Conn(server) for _ in range(300)]
    try:
        assert_serves(server)
        assert all(c.closed_by_server() for c in conns)  # closed by the server, with no reply owed
        assert all(c.buf == b"" for c in conns)
    finally:
        for c in conns:
            c.sock.close()
    assert_serves(server)


def test_stalled_body_gets_408(server: SandboxFusionServer) -> None:
    with Conn(server) as c:
        c.send(request(b'{"code": "pri', "Content-Length: 200", length=False))
        reply = c.reply()
        assert reply.status == 408 and "13 of 200 bytes" in reply.json()["detail"]
        assert c.closed_by_server()
    assert_serves(server)


def test_client_that_never_reads_is_dropped(sb: Sandbox) -> None:
    srv = _serve(sb)
    one = json.dumps(verl_request("print('x' * (1 << 20))")).encode()  # ~1 MiB reply each
    try:
        with Conn(srv) as c:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send(request(one) * 12)  # more than the kernel buffers hold, and never read
            assert wait_until(lambda: srv.app.pending == 1, 60)  # the server is blocked writing to it...
            # ...until the reply has not drained for read_timeout_s: then the socket is aborted, the handler freed
            assert wait_until(
                lambda: len(srv._server.server_state.connections) == 0 and srv.app.pending == 0, 60
            )
        assert_serves(srv)
    finally:
        _stop(srv)


def test_disconnected_client_run_is_cancelled(sb: Sandbox, server: SandboxFusionServer) -> None:
    body = json.dumps(verl_request("while True: pass", run_timeout=50)).encode()
    with Conn(server) as c:
        c.send(request(body))
        assert wait_until(lambda: sb.stats()["running"] >= 1, 30)
    # The client went away: its run is killed instead of burning a worker for 50 s.
    assert wait_until(lambda: sb.stats()["running"] == 0, 30)
    assert_serves(server)


# ------------------------------------------------------------------------------------------------- load


def test_200_concurrent_clients_get_answers_not_resets(server: SandboxFusionServer) -> None:
    def one(k: int) -> tuple[int, str]:
        status, body = post(server.url, verl_request(f"print({k} * 3)"))
        return status, body["run_result"]["stdout"]

    with ThreadPoolExecutor(200) as ex:
        results = list(ex.map(one, range(200)))  # a reset would raise here
    assert results == [(200, f"{k * 3}\n") for k in range(200)]
    assert_serves(server)


def test_pending_limit_answers_503_not_a_reset(sb: Sandbox) -> None:
    srv = _serve(sb, max_pending=1)
    try:
        slow = threading.Thread(target=post, args=(srv.url, verl_request("import time; time.sleep(3)")))
        slow.start()
        assert wait_until(lambda: srv.app.pending == 1, 30)
        status, body = post(srv.url, verl_request("print(1)"))
        assert status == 503 and "already pending" in body["detail"]
        slow.join()
        assert_serves(srv)
    finally:
        _stop(srv)


def test_connection_limit_answers_503(sb: Sandbox) -> None:
    srv = _serve(sb, max_connections=4)
    held = [Conn(srv) for _ in range(4)]
    try:
        assert wait_until(lambda: len(srv._server.server_state.connections) == 4, 10)
        reply = exchange(srv, request(b"{}"))
        assert reply.status == 503 and "connections open" in reply.json()["detail"]
    finally:
        for c in held:
            c.sock.close()
    assert wait_until(lambda: len(srv._server.server_state.connections) == 0, 10)
    try:
        assert_serves(srv)
    finally:
        _stop(srv)


def test_pipelined_and_kept_alive_requests(server: SandboxFusionServer) -> None:
    one, two = (json.dumps(verl_request(f"print({k})")).encode() for k in (1, 2))
    with Conn(server) as c:
        c.send(request(one) + request(two))
        assert [c.reply().json()["run_result"]["stdout"] for _ in range(2)] == ["1\n", "2\n"]
        c.send(request(one))
        assert c.reply().json()["run_result"]["stdout"] == "1\n"
        assert c.closed_by_server()  # idle keep-alive connections are closed too
    assert_serves(server)


# ------------------------------------------------------------------------------------------------ bodies


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"code": "print(1)", "x": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001, "nested too deeply"),
        (b'{"code": "print(\xff)"}', "not UTF-8 (byte 0xff at offset 16)"),
        (b'{"code": "print(1)", "run_timeout": 1' + b"0" * 5000 + b"}", "invalid JSON body"),
        (b'{"code": "print(1)"', "invalid JSON body"),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b'"print(1)"', "must be a JSON object, not str"),
        (b"", "invalid JSON body"),
    ],
)
def test_malformed_json_gets_400(server: SandboxFusionServer, body: bytes, detail: str) -> None:
    reply = exchange(server, request(body))
    assert reply.status == 400 and detail in reply.json()["detail"]
    assert_serves(server)


@pytest.mark.parametrize(
    ("fields", "detail"),
    [
        ({"code": 5}, "`code` must be a string"),
        ({"code": None}, "`code` must be a string"),
        ({"code": ...}, "`code` is required"),  # ... = key left out
        ({"code": "\ud800print(1)"}, "`code` holds a lone surrogate at index 0"),
        ({"stdin": "a\udfffb"}, "`stdin` holds a lone surrogate at index 1"),
        ({"stdin": 5}, "`stdin` must be a string"),
        ({"run_timeout": "abc"}, "`run_timeout` must be a finite number"),
        ({"run_timeout": float("nan")}, "`run_timeout` must be a finite number"),
        ({"run_timeout": float("inf")}, "`run_timeout` must be a finite number"),
        ({"run_timeout": -5}, "`run_timeout` must be a finite number"),
        ({"run_timeout": True}, "`run_timeout` must be a finite number"),
        ({"compile_timeout": [1]}, "`compile_timeout` must be a finite number"),
        ({"memory_limit_MB": 1.5}, "`memory_limit_MB` must be an integer >= 16"),
        ({"memory_limit_MB": 8}, "`memory_limit_MB` must be an integer >= 16"),
        ({"language": ["python"]}, "`language` must be a string"),
        ({"files": []}, "`files` must be an object"),
        ({"files": {"a.txt": 5}}, "`files['a.txt']` must be a base64 string"),
        ({"files": {"a.txt": "!!"}}, "`files['a.txt']` is not valid base64"),
        ({"files": {"": "YQ=="}}, "`files` keys must be non-empty paths"),
        ({"fetch_files": "a.txt"}, "`fetch_files` must be a list of strings"),
        ({"fetch_files": [1]}, "`fetch_files` must be a list of strings"),
    ],
)
def test_wrong_field_types_get_422(server: SandboxFusionServer, fields: dict, detail: str) -> None:
    body = {k: v for k, v in {"code": "print(1)", **fields}.items() if v is not ...}
    reply = exchange(
        server, request(json.dumps(body).encode())
    )  # NaN/Infinity literals, as Python writes them
    assert reply.status == 422 and detail in reply.json()["detail"], reply
    assert_serves(server)


def test_lone_surrogates_in_output_come_back_as_valid_utf8(server: SandboxFusionServer) -> None:
    code = "import sys\nsys.stdout.buffer.write(b'\\xed\\xa0\\x80 \\xff\\n')\nraise ValueError('\\ud800')"
    reply = exchange(server, request(json.dumps(verl_request(code)).encode()))
    assert reply.status == 200
    body = reply.json()  # strict UTF-8 decode of the whole reply succeeded
    assert body["status"] == "Failed" and body["run_result"]["return_code"] == 1
    for text in (body["run_result"]["stdout"], body["run_result"]["stderr"], body["retool"]["output"]):
        text.encode("utf-8")  # no lone surrogate survived into the JSON
    assert "ValueError" in body["retool"]["output"]
    assert_serves(server)


def test_unknown_routes_and_methods_get_json(server: SandboxFusionServer) -> None:
    assert exchange(server, request(b"{}", path="/admin")).status == 404
    reply = exchange(server, request(b"", method="GET", length=False))
    assert reply.status == 405 and reply.headers["allow"] == "POST" and "GET" in reply.json()["detail"]
    assert exchange(server, request(b"", path="/v1/ping", method="GET", length=False)).body == b"pong"
    assert_serves(server)


def test_unsupported_language_keeps_sandboxfusion_shape(server: SandboxFusionServer) -> None:
    status, body = post(server.url, verl_request("int main() {}", language="cpp"))
    assert status == 200 and body["status"] == "SandboxError" and "python only" in body["message"]
    assert_serves(server)
