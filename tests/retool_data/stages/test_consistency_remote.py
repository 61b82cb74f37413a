"""The consistency stage against `retool-data sandbox serve` endpoints (real servers, real HTTP on 127.0.0.1)
gives the verdicts of the in-process pool, trace for trace, also while one of the endpoints is down."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import polars as pl
import pytest

from retool_data.remote_sandbox import RemoteConfig, RemoteSandbox, endpoints_ready, replay_program
from retool_data.stages.consistency import consistency_stage
from tests.conftest import REPO_ROOT
from tests.retool_data.frames import frame, row, trace
from tests.sandbox.conftest import require_isolation

TOKEN = "test-token"
SETTINGS = {"timeout_s": 2.0, "memory_mb": 1024}

TRACES = {
    "stateful": trace(("code", "x = 3**4\nprint(x)"), ("out", "81"), ("code", "y = x + 19\nprint(y)"), ("out", "100"), answer="100"),
    "mismatch": trace(("code", "x = 3**4\nprint(x)"), ("out", "81"), ("code", "print(x + 19)"), ("out", "101"), answer="100"),
    "expression": trace(("code", "import math\nmath.comb(10, 3)"), ("out", "120"), answer="120"),
    "error_expected": trace(("code", "print(1 / 0)"), ("out", "ZeroDivisionError: division by zero"), answer="0"),
    "error_then_state": trace(
        ("code", "a = 6\nprint(a)\nraise ValueError('late')"),
        ("out", "6\nValueError: late"),
        ("code", "print(a * 7)"),  # the session kept `a` although the block raised
        ("out", "42"),
        answer="42",
    ),
    "unexpected_error": trace(("code", "print(undefined_name + 1)"), ("out", "42"), answer="42"),
    "timeout": trace(("code", "while True:\n    pass"), ("out", "done"), ("code", "print(1)"), ("out", "1"), answer="1"),
    "no_interpreter": trace(("code", "print(6 * 7)"), ("text", "So it is 42."), answer="42"),
    "isolated": trace(("code", "print('x' in globals(), 'a' in globals())"), ("out", "False False"), answer="0"),
    "long_output": trace(("code", "print('7' * 2000)"), ("out", "7" * 2000), answer="7"),
    "silent_earlier_output": trace(
        ("code", "print('noise')\nz = 5"), ("out", "noise"), ("code", "z * 2"), ("out", "10"), answer="10"
    ),
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoints() -> Iterator[list[str]]:
    """Two `retool-data sandbox serve` processes (one worker each), as two sandbox hosts."""
    require_isolation()
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "retool_data", "sandbox", "serve", "--port", str(port), "--workers", "1"]
            + ["--timeout-s", "2", "--max-output-chars", "400", "--token", TOKEN],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 90
        while not endpoints_ready(urls):
            assert time.monotonic() < deadline, "the sandbox servers did not start"
            assert all(p.poll() is None for p in procs), "a sandbox server exited"
            time.sleep(0.3)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def _rows() -> pl.DataFrame:
    return frame([row(f"problem {name}", text, None) | {"id": name} for name, text in TRACES.items()])


def test_replay_keeps_the_new_block_last():
    program = replay_program(["a = 1", "print(a)"], "a + 1")
    assert program.splitlines()[-1] == "a + 1" and len(program.splitlines()) == 2


def test_remote_endpoints_give_the_local_pool_s_verdicts(endpoints):
    from sandbox import Sandbox

    df = _rows()
    with Sandbox(workers=2, max_output_chars=400, **SETTINGS) as local:
        want = consistency_stage(df, local, concurrency=4)
    with RemoteSandbox(endpoints, token=TOKEN, config=RemoteConfig(**SETTINGS)) as remote:
        got = consistency_stage(df, remote, concurrency=4)
    assert got.kept.sort("id").equals(want.kept.sort("id"))
    assert got.rejected.sort("id").equals(want.rejected.sort("id"))
    kept = set(want.kept["id"])
    assert {"stateful", "expression", "error_expected", "error_then_state", "isolated"} <= kept
    assert {"mismatch", "unexpected_error", "timeout", "no_interpreter"}.isdisjoint(kept)


def test_a_down_endpoint_is_skipped(endpoints):
    down = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    with RemoteSandbox([down, *endpoints], token=TOKEN, config=RemoteConfig(**SETTINGS)) as remote:
        results = [remote.run("print(6 * 7)") for _ in range(4)]  # round-robin: two of them try `down` first
    assert [r.output for r in results] == ["42\n"] * 4


def test_the_pipeline_sandbox_resource_uses_the_endpoints_from_the_environment(endpoints, monkeypatch):
    from pipelines.resources import resources_from_env

    monkeypatch.setenv("RETOOL_SANDBOX_TOKEN", TOKEN)
    env = {"RETOOL_SANDBOX_ENDPOINTS": ",".join(endpoints), "RETOOL_SANDBOX_TOKEN": TOKEN}
    resource = resources_from_env(env)["sandbox"]
    with resource.process_config_and_initialize_cm() as ready:  # as a run initializes it (EnvVar resolved)
        box = ready.open("shard-00000")
        assert isinstance(box, RemoteSandbox) and box.endpoints == endpoints
        assert box.run("print(2 + 3)").output == "5\n"
