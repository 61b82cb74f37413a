"""The training phases after the curation: cold-start SFT, GRPO, evaluation, and iTool rounds.

Thin wrappers over `training.stages`: each asset runs its recipe (`TrainingSettings`) on what the asset before
it left (the exported dataset, a `policy.json`) and reports what people look at (loss curve, masked-token share,
RL behaviour metrics, accuracies). They are not part of `retool-data run`: materialize them from the UI or with
`dagster asset materialize` when the dataset is good.
"""

import os
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
)

from pipelines import checks
from pipelines.resources import ExportSettings, TrainingSettings

ITOOL_ROUNDS = int(os.environ.get("RETOOL_ITOOL_ROUNDS", "3"))
itool_partitions = StaticPartitionsDefinition([f"round-{r}" for r in range(ITOOL_ROUNDS)])


def _require_clean_export(context: AssetExecutionContext) -> None:
    """Train only on an export whose blocking contamination check passed (as `published_dataset` publishes)."""
    key = AssetCheckKey(asset_key=AssetKey("cold_start_dataset"), name="no_contaminated_rows")
    if not checks.latest_check_passed(context.instance, key):
        raise Failure(
            "cold_start_dataset's latest no_contaminated_rows check did not pass (or never ran): "
            "materialize cold_start_dataset first (retool-data run); not training on it"
        )


def _dirs(training: TrainingSettings, name: str) -> str:
    return str(Path(training.runs_dir) / name)


def _png(path: str | Path | None, title: str) -> dict[str, MetadataValue]:
    if not path or not Path(path).is_file():
        return {}
    import base64

    data = base64.b64encode(Path(path).read_bytes()).decode()
    return {f"plot/{title}": MetadataValue.md(f"![{title}](data:image/png;base64,{data})")}


def _numbers(values: dict[str, Any]) -> dict[str, MetadataValue]:
    return {k: MetadataValue.float(float(v)) for k, v in values.items() if isinstance(v, (int, float))}


@asset(
    deps=["cold_start_dataset"],
    group_name="training",
    kinds={"pytorch", "huggingface"},
    description="Cold-start SFT (TRL SFTTrainer) on the exported dataset, interpreter tokens masked from the loss "
    "(docs/training.md). Leaves the policy (model or base + LoRA adapter) in policy.json.",
)
def sft_model(
    context: AssetExecutionContext, export: ExportSettings, training: TrainingSettings
) -> MaterializeResult:
    from training.stages import train_sft

    _require_clean_export(context)
    result, trained = train_sft(
        training.sft_recipe, export.hf_dataset_dir, _dirs(training, "sft_model"), training.sft_overrides
    )
    return MaterializeResult(
        metadata={
            "output_dir": MetadataValue.path(result.output_dir),
            "policy": MetadataValue.json(trained.to_dict()),
            "steps": MetadataValue.int(result.global_step),
            "tokens_trained": MetadataValue.int(result.tokens_seen),
            "loss_tokens": MetadataValue.int(result.loss_tokens),
            "masked_token_share": MetadataValue.float(result.masked_token_share),
            "interpreter_token_share": MetadataValue.float(result.interpreter_token_share),
            "first_loss": MetadataValue.float(result.first_loss),
            "final_loss": MetadataValue.float(result.final_loss),
            "rows_dropped": MetadataValue.json(result.data_stats.get("dropped", {})),
            **_png(result.loss_curve_png, "loss_curve"),
        }
    )


@asset(
    deps=["sft_model"],
    group_name="training",
    kinds={"pytorch", "huggingface"},
    description="GRPO (TRL) from the SFT policy with the code-interpreter rollout: generation pauses at </code>, the "
    "sandbox runs the code, <interpreter> output is appended (masked), reward ±1 on the answer.",
)
def rl_model(export: ExportSettings, training: TrainingSettings) -> MaterializeResult:
    from training.stages import read_policy, train_grpo

    start = read_policy(_dirs(training, "sft_model"))
    out = _dirs(training, "rl_model")
    result, trained = train_grpo(
        training.grpo_recipe, start, export.hf_dataset_dir, out, training.grpo_overrides
    )
    last = next((h for h in reversed(result.metrics_history) if any(k.startswith("retool/") for k in h)), {})
    return MaterializeResult(
        metadata={
            "output_dir": MetadataValue.path(result.output_dir),
            "policy": MetadataValue.json(trained.to_dict()),
            "started_from": MetadataValue.json(start.to_dict()),
            "steps": MetadataValue.int(result.global_step),
            "problems": MetadataValue.int(result.problems),
            "problems_dropped": MetadataValue.json(result.dropped),
            **_numbers({k: v for k, v in last.items() if k.startswith("retool/")}),
        }
    )


@asset(
    deps=["rl_model"],
    group_name="training",
    kinds={"pytorch"},
    description="Tool-integrated evaluation of the RL policy (AIME24/25, AMC23, ...): avg@k, pass@k, maj@k and "
    "ReTool's behaviour metrics, with every sample saved (docs/evaluation.md).",
)
def eval_report(training: TrainingSettings) -> MaterializeResult:
    from training.stages import evaluate, read_policy

    policy = read_policy(_dirs(training, "rl_model"))
    result = evaluate(training.eval_recipe, policy, _dirs(training, "eval_report"), training.eval_overrides)
    metrics: dict[str, MetadataValue] = {}
    for bench, values in result.report.get("benchmarks", {}).items():
        metrics.update(_numbers({f"{bench}/{k}": v for k, v in values.items() if "@" in k}))
    plots: dict[str, MetadataValue] = {}
    for name, path in result.files.items():
        if name.endswith("_plot"):
            plots.update(_png(path, name))
    return MaterializeResult(
        metadata={
            "output_dir": MetadataValue.path(result.output_dir),
            "policy": MetadataValue.json(policy.to_dict()),
            "samples": MetadataValue.int(result.samples),
            "generated": MetadataValue.int(result.generated),
            "report": MetadataValue.path(result.files.get("markdown", result.output_dir)),
            **metrics,
            **plots,
        }
    )


@asset(
    deps=["sft_model", "cold_start_dataset"],
    partitions_def=itool_partitions,
    group_name="training",
    kinds={"pytorch"},
    description="One iTool round per partition (docs/itool.md): mine the problems the policy fails, step-level "
    "MCTS, fragment-level preference pairs, SimPO/DPO, held-out evaluation. Rounds run in order from the SFT policy.",
)
def itool_rounds(
    context: AssetExecutionContext, export: ExportSettings, training: TrainingSettings
) -> MaterializeResult:
    from training.stages import itool_round, read_policy

    _require_clean_export(context)
    round_index = int(context.partition_key.removeprefix("round-"))
    start = read_policy(_dirs(training, "sft_model"))
    result, report = itool_round(
        training.itool_recipe,
        start,
        export.hf_dataset_dir,
        _dirs(training, "itool"),
        round_index,
        training.itool_overrides,
    )
    held = result.heldout or {}
    return MaterializeResult(
        metadata={
            "round": MetadataValue.int(result.round),
            "policy_out": MetadataValue.json(result.policy_out),
            "deficient": MetadataValue.int(result.deficient),
            "problems": MetadataValue.int(result.problems),
            "fragment_pairs": MetadataValue.int(result.fragment_pairs),
            "trace_pairs": MetadataValue.int(result.trace_pairs),
            "pairs_trained": MetadataValue.int(result.pairs_trained),
            "stop": MetadataValue.text(result.stop or "-"),
            **_numbers({f"heldout/{k}": v for k, v in held.items()}),
            "report": MetadataValue.path(report.get("markdown", "")),
            **_png(report.get("plot"), "rounds"),
        }
    )


@asset(
    partitions_def=itool_partitions,
    group_name="training",
    kinds={"pytorch"},
    description="One round of iTool on function calling per partition (docs/itool.md, Function calling): "
    "ToolACE dialogs, easy-to-hard warm-up (round 0), MCTS over call steps, fragment pairs, SimPO/DPO, BFCL "
    "with bfcl-eval's checker. Independent of the curation: the recipe names its data and model.",
)
def fc_itool_rounds(context: AssetExecutionContext, training: TrainingSettings) -> MaterializeResult:
    from training.stages import fc_itool_round

    round_index = int(context.partition_key.removeprefix("round-"))
    result, report = fc_itool_round(
        training.fc_itool_recipe, _dirs(training, "fc_itool"), round_index, training.fc_itool_overrides
    )
    held = {k: v for k, v in (result.heldout or {}).items() if k != "categories"}
    categories = (result.heldout or {}).get("categories", {})
    return MaterializeResult(
        metadata={
            "round": MetadataValue.int(result.round),
            "policy_out": MetadataValue.json(result.policy_out),
            "deficient": MetadataValue.int(result.deficient),
            "problems": MetadataValue.int(result.problems),
            "fragment_pairs": MetadataValue.int(result.fragment_pairs),
            "pairs_trained": MetadataValue.int(result.pairs_trained),
            "stop": MetadataValue.text(result.stop or "-"),
            **_numbers({f"bfcl/{k}": v for k, v in held.items()}),
            **_numbers({f"bfcl/{k}": v for k, v in categories.items()}),
            "report": MetadataValue.path(report.get("markdown", "")),
        }
    )


@asset(
    deps=["fc_itool_rounds"],
    group_name="training",
    kinds={"pytorch"},
    description="BFCL (bfcl-eval's own data and AST checker) of the last finished function-calling iTool round's "
    "policy: accuracy per category and the non-live AST average.",
)
def fc_bfcl_report(training: TrainingSettings) -> MaterializeResult:
    from training.stages import fc_bfcl_eval

    scores = fc_bfcl_eval(training.fc_itool_recipe, _dirs(training, "fc_bfcl_report"),
                          _dirs(training, "fc_itool"), training.fc_itool_overrides)  # fmt: skip
    return MaterializeResult(
        metadata={
            "round": MetadataValue.text(scores["round"]),
            "policy": MetadataValue.json(scores["policy"]),
            **_numbers({k: v for k, v in scores.items() if isinstance(v, int | float)}),
            **_numbers({f"category/{k}": v for k, v in scores["categories"].items()}),
        }
    )


TRAINING_ASSETS = [sft_model, rl_model, eval_report, itool_rounds, fc_itool_rounds, fc_bfcl_report]
