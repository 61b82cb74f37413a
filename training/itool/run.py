"""iTool on ReTool traces: rounds of deficiency mining, step-level MCTS, fragment-level preference pairs, DPO or
SimPO with the interpreter masked, and held-out evaluation, until the deficiency set stops shrinking.

    retool-data train itool --config configs/itool_cpu_smoke.yaml [--any_IToolRunConfig_field value ...]

`run_itool(config) -> IToolResult` runs (or resumes) every round with `training.itool.round.run_itool_round`
and rewrites the report after each. The easy-to-hard warm-up is the SFT stage with a curriculum
(``retool-data train sft --curriculum easy_to_hard``). See docs/itool.md.
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retool_data.recipe_paths import resolve_recipe_argv
from training.itool.config import IToolRunConfig
from training.itool.round import RoundResult, evaluate_phase, run_itool_round
from training.models.policy import PolicyRef

__all__ = ["IToolResult", "IToolRunConfig", "cli", "main", "parse_config", "run_itool"]

CLI_DESCRIPTION = (
    "iTool: rounds of mine -> MCTS -> fragment pairs -> DPO/SimPO (interpreter masked) -> evaluate. "
    "`--config recipe.yaml` sets any option below (see configs/itool_*.yaml); command-line options override it."
)
RUN_CONFIG_FILE = "run_config.yaml"
BASELINE_NAME = "baseline_eval"  # an evaluation run dir + its summary baseline_eval.json


@dataclass
class IToolResult:
    output_dir: str
    rounds: list[RoundResult]
    baseline: dict[str, Any] | None
    stop: str | None
    final_policy: dict[str, Any]
    report: dict[str, str] = field(default_factory=dict)


def parse_config(argv: list[str] | None = None, prog: str | None = None) -> IToolRunConfig:
    from trl import TrlParser

    (config,) = TrlParser([IToolRunConfig], prog=prog, description=CLI_DESCRIPTION).parse_args_and_config(
        args=resolve_recipe_argv(sys.argv[1:] if argv is None else argv)  # recipe paths: from its folder
    )
    return config


def run_itool(config: IToolRunConfig) -> IToolResult:
    """All rounds (resuming finished ones from their ``round.json``), the baseline evaluation and the report."""
    import yaml
    from transformers import set_seed

    from sandbox import Sandbox
    from training.itool.deficiency import load_problems
    from training.itool.report import write_report
    from training.models.loading import load_tokenizer

    set_seed(config.seed)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_CONFIG_FILE).write_text(yaml.safe_dump(config.to_dict(), sort_keys=True), encoding="utf-8")
    tokenizer = load_tokenizer(config.tokenizer_name_or_path or config.model_name_or_path)
    policy = PolicyRef(config.model_name_or_path, tuple(config.adapters or ()))  # type: ignore[arg-type]
    function_calling = config.environment == "function_calling"
    if function_calling:  # ToolACE dialogs; an easy-to-hard warm-up first; BFCL as the held-out evaluation
        from training.itool.envs.function_calling import load_fc_problems
        from training.itool.fc import WARMUP_DIR, load_examples, warmup_phase

        train, _, _ = load_examples(config)
        problems = load_fc_problems(train, tokenizer, max_problems=config.max_problems)
        if config.warmup_steps > 0:
            warm = warmup_phase(config, policy, tokenizer, train, out / WARMUP_DIR)
            policy = policy.then(warm["output_dir"], is_adapter=bool(warm["is_adapter"]))
    else:
        problems = load_problems(config.problems_path, tokenizer, system_prompt=config.system_prompt,  # type: ignore[arg-type]
                                 max_problems=config.max_problems)  # fmt: skip
    rounds: list[RoundResult] = []
    report: dict[str, str] = {}
    # function calls run nothing: no sandbox
    with contextlib.nullcontext() if function_calling else Sandbox(**config.sandbox_kwargs()) as sandbox:
        baseline = None
        if (config.heldout_path or function_calling) and config.evaluate_initial:
            baseline = evaluate_phase(config, policy, tokenizer, out, name=BASELINE_NAME)
        ran_new = False
        for r in range(config.rounds):
            resumed = (out / f"round-{r}" / "round.json").exists()
            if config.generation_backend == "vllm_server" and ran_new and not resumed:
                rounds[-1].stop = (
                    rounds[-1].stop or "restart_server"
                )  # the server still serves the old policy
                break
            result = run_itool_round(config, r, policy, tokenizer=tokenizer, sandbox=sandbox,
                                     deficiency_sizes=[x.deficient for x in rounds], problems=problems)  # fmt: skip
            ran_new = ran_new or not resumed
            rounds.append(result)
            policy = PolicyRef.from_dict(result.policy_out)
            report = write_report(out, rounds, baseline, config.to_dict())
            if result.stop:
                break
    stop = next((x.stop for x in reversed(rounds) if x.stop), None)
    if rounds and stop == "restart_server":
        report = write_report(out, rounds, baseline, config.to_dict())
    return IToolResult(str(out), rounds, baseline, stop, policy.to_dict(), report)


def main(config: IToolRunConfig) -> IToolResult:
    result = run_itool(config)
    for r in result.rounds:
        held = r.heldout or {}
        print(
            f"round {r.round}: deficient {r.deficient}/{r.problems}, pairs {r.fragment_pairs} fragment + "
            f"{r.trace_pairs} trace (trained on {r.pairs_trained}), held-out pass rate "
            f"{held.get('pass_rate', float('nan')):.3f}" + (f", stop: {r.stop}" if r.stop else "")
        )
    print(f"report: {result.report.get('markdown')}; final policy: {json.dumps(result.final_policy)}")
    return result


def cli(argv: list[str] | None = None, prog: str | None = None) -> IToolResult:
    return main(parse_config(argv if argv is not None else sys.argv[1:], prog=prog))


if __name__ == "__main__":
    cli()
