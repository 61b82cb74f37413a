"""`retool-data rewrite` killed with SIGKILL half way resumes without paying twice, and ends identical: with the
on-disk SQLite cache, and with the shared Postgres cache (RETOOL_CACHE_URL, live PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import REPO_ROOT
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of
from tests.retool_data.stages.rows import frame, row

N_ROWS = 40
KILL_AFTER = 15  # requests answered before the server stops answering and the run is killed


def trace_for(body: dict[str, Any], seen: int) -> Reply:
    """A valid code-augmented trace derived from the prompt: the same prompt always gets the same reply."""
    n = int(prompt_of(body).split("calc-")[1].split()[0])
    text = (
        f"Compute {n} squared.\n<code>\n```python\nprint({n} ** 2)\n```\n</code>\n<interpreter>\n{n * n}\n"
        f"</interpreter>\nSo it is {n * n}.\n<answer>\\boxed{{{n * n}}}</answer>"
    )
    return Reply(text=text)


def run_cli(inp: Path, out: Path, server: FakeOpenAIServer, cache: Path | str) -> subprocess.Popen:
    """``cache``: a folder (SQLite) or a postgresql:// URL, given through RETOOL_CACHE_URL as a worker would."""
    cmd = [
        sys.executable,
        "-m",
        "retool_data",
        "rewrite",
        str(inp),
        "-o",
        str(out),
        "--backend",
        "openai",
        "--endpoint",
        server.base_url,
        "--model",
        "fake-rewriter",
        "--concurrency",
        "4",
        "--timeout",
        "30",
        "--no-progress",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("RETOOL_CACHE_URL", None)
    if isinstance(cache, str):
        env["RETOOL_CACHE_URL"] = cache
    else:
        cmd += ["--cache-dir", str(cache)]
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def cache(request, tmp_path):
    if request.param == "sqlite":
        yield tmp_path / "cache"
        return
    from tests.services import postgres_database

    with postgres_database("resume") as url:
        yield url


def test_sigkill_half_way_then_resume(tmp_path, cache):
    rows = [
        row(f"What is {n} squared?", f"calc-{n} so {n} times {n}.", f"\\boxed{{{n * n}}}", str(n * n))
        for n in range(N_ROWS)
    ]
    inp = tmp_path / "in.parquet"
    frame(rows).write_parquet(inp)

    with FakeOpenAIServer(trace_for, latency=0.02) as server:  # the uninterrupted reference run
        finish(run_cli(inp, tmp_path / "ref.parquet", server, tmp_path / "cache-ref"))
        assert len(server.records()) == N_ROWS

    calls = {"n": 0}

    def stop_answering_after(body: dict[str, Any], seen: int) -> Reply:
        calls["n"] += 1
        if calls["n"] > KILL_AFTER:
            server.paused = True  # this request and every later one waits: nothing else completes
        return trace_for(body, seen)

    out = tmp_path / "out.parquet"
    with FakeOpenAIServer(stop_answering_after, latency=0.02) as server:
        proc = run_cli(inp, out, server, cache)
        deadline = time.monotonic() + 60
        while not server.paused and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.paused, "the run never got half way"
        time.sleep(1.0)  # let the client store the replies it has received
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        assert not out.exists()  # no half-written output
        completed_before_kill = {r.key for r in server.completed()}
        n_before = len(server.records())
        assert 0 < len(completed_before_kill) < N_ROWS

        server.paused = False
        server.responder = trace_for
        finish(run_cli(inp, out, server, cache))
        after = server.records()[n_before:]

    resent = [r for r in after if r.key in completed_before_kill]
    assert resent == [], f"{len(resent)} completed requests were sent again"
    assert len({r.key for r in server.completed()}) == N_ROWS
    ref, got = pl.read_parquet(tmp_path / "ref.parquet"), pl.read_parquet(out)
    assert got.height == N_ROWS and got.equals(ref)
    assert pl.read_parquet(out.with_suffix(".rejects.parquet")).equals(
        pl.read_parquet((tmp_path / "ref.parquet").with_suffix(".rejects.parquet"))
    )
