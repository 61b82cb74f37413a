"""A local LLM server that dies is reported as dead (exit code or signal, last log lines), not as a connection
error. The servers here are small Python processes on 127.0.0.1 that behave like a crashing llama.cpp server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

from retool_data.llm.local_server import LocalServer, LocalServerDied, describe_exit, run_foreground

# Answers GET /v1/models; a POST makes it print a last line and die of SIGSEGV, as llama.cpp built with
# instructions the CPU (or the VM's kernel) does not grant does on its first multi-token batch.
CRASHING_SERVER = textwrap.dedent(
    """
    import os, signal, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"object": "list", "data": [{"id": "m"}]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            print("llama_decode: evaluating 12 tokens", flush=True)
            os.kill(os.getpid(), signal.SIGSEGV)

        def log_message(self, *a):
            pass

    print("model loaded", flush=True)
    HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_exits_while_starting_is_reported_at_once_with_its_code_and_log(tmp_path):
    cmd = [
        sys.executable,
        "-c",
        "print('loading model'); print('error: bad magic in GGUF'); raise SystemExit(3)",
    ]
    t0 = time.monotonic()
    with pytest.raises(LocalServerDied) as err:
        LocalServer.start(cmd, f"http://127.0.0.1:{free_port()}/v1", tmp_path / "server.log", timeout_s=60)
    assert time.monotonic() - t0 < 30  # not the readiness timeout
    msg = str(err.value)
    assert "exit code 3" in msg and "error: bad magic in GGUF" in msg and str(tmp_path / "server.log") in msg


def test_a_server_that_crashes_on_a_request_is_reported_as_dead_not_as_connection_refused(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-c", CRASHING_SERVER, str(port)]
    server = LocalServer.start(cmd, f"http://127.0.0.1:{port}/v1", timeout_s=60)
    assert server.log_path.is_file()  # a log even when the caller names none
    server.check()  # alive
    with pytest.raises(LocalServerDied) as err, server.guard():
        httpx.post(f"{server.base_url}/chat/completions", json={"messages": []}, timeout=10)
    msg = str(err.value)
    assert "killed by signal 11 (SIGSEGV)" in msg and "make install-local" in msg
    assert "model loaded" in msg and "llama_decode: evaluating 12 tokens" in msg
    assert isinstance(err.value.__cause__, httpx.HTTPError)  # the client's error stays attached
    with pytest.raises(LocalServerDied, match="SIGSEGV"):
        server.stop()


def test_guard_lets_other_errors_through_while_the_server_lives(tmp_path):
    port = free_port()
    server = LocalServer.start(
        [sys.executable, "-c", CRASHING_SERVER, str(port)], f"http://127.0.0.1:{port}/v1", timeout_s=60
    )
    try:
        with pytest.raises(ValueError, match="a client-side bug"), server.guard():
            raise ValueError("a client-side bug")
    finally:
        server.stop()  # alive until now: a clean stop
    assert server.proc.returncode is not None


def test_describe_exit():
    assert describe_exit(0) == "exit code 0" and describe_exit(2) == "exit code 2"
    assert describe_exit(-signal.SIGKILL) == "killed by signal 9 (SIGKILL)"
    assert describe_exit(-signal.SIGSEGV).startswith("killed by signal 11 (SIGSEGV); a crash in llama.cpp")


def test_foreground_run_says_how_the_server_died(capfd):
    rc = run_foreground([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"])
    assert rc == 128 + signal.SIGSEGV
    assert "llama.cpp server died: killed by signal 11 (SIGSEGV)" in capfd.readouterr().err
    assert run_foreground([sys.executable, "-c", "raise SystemExit(4)"]) == 4
    assert "died: exit code 4" in capfd.readouterr().err
    assert run_foreground([sys.executable, "-c", "pass"]) == 0
    assert "died" not in capfd.readouterr().err


def test_foreground_run_forwards_sigterm_and_stops_cleanly():
    # serve-local itself gets SIGTERM: the server gets it too, and that is no crash
    script = textwrap.dedent(
        """
        import sys
        from retool_data.llm.local_server import run_foreground
        cmd = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
        sys.exit(run_foreground(cmd))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "up"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM and "died" not in err
