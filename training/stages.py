"""The training phases as plain functions over folders: what the Dagster assets `sft_model`, `rl_model`,
`eval_report` and `itool_rounds` call (no Dagster here).

Each phase reads a recipe (`configs/*.yaml`) plus overrides (``["--max_steps", "3"]``, the CLI's syntax), takes
the policy the previous phase left, and leaves its own: a `PolicyRef` (base + LoRA chain) written to
``<output_dir>/policy.json`` with a fresh ``version``, so a later phase knows exactly what it builds on and its
outputs are keyed by that version (an evaluation never reuses samples of an older policy). A LoRA chain is merged
into one checkpoint only for consumers that need a single model directory (GRPO's trainer, the evaluation),
under ``<output_dir>/merged-<version>``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.models.policy import PolicyRef

POLICY_FILE = "policy.json"
CHECKOUT = Path(__file__).resolve().parents[1]


def _resolve(path: str | None) -> str | None:
    """A relative path that does not exist from the working directory is read from the checkout (recipes name
    `configs/...` and `training/data/...` relative to the repository root; Dagster may run elsewhere)."""
    if path is None or Path(path).is_absolute() or Path(path).exists() or not (CHECKOUT / path).exists():
        return path
    return str(CHECKOUT / path)


@dataclass(frozen=True)
class TrainedPolicy:
    policy: PolicyRef
    version: str  # changes with every training run: downstream outputs are keyed by it
    output_dir: str

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy.to_dict(), "version": self.version, "output_dir": self.output_dir}


def write_policy(output_dir: str | Path, policy: PolicyRef) -> TrainedPolicy:
    trained = TrainedPolicy(policy, uuid.uuid4().hex[:12], str(output_dir))
    Path(output_dir, POLICY_FILE).write_text(json.dumps(trained.to_dict(), indent=2), encoding="utf-8")
    return trained


def read_policy(output_dir: str | Path) -> TrainedPolicy:
    path = Path(output_dir, POLICY_FILE)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: train that phase first (its asset, or its `train` command)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return TrainedPolicy(PolicyRef.from_dict(data["policy"]), data["version"], data["output_dir"])


def policy_checkpoint(trained: TrainedPolicy) -> str:
    """One model directory for the policy: the base itself when there is no adapter, else the merged chain."""
    if not trained.policy.adapters:
        return trained.policy.base
    from training.models.loading import load_tokenizer
    from training.models.policy import merge_policy

    out = Path(trained.output_dir) / f"merged-{trained.version}"
    if not (out / "config.json").is_file():
        merge_policy(trained.policy, out, load_tokenizer(trained.policy.base))
    return str(out)


def _argv(recipe: str, settings: dict[str, Any], overrides: list[str]) -> list[str]:
    argv = ["--config", _resolve(recipe)]
    for key, value in settings.items():
        argv += [f"--{key}", str(value)]
    return argv + list(overrides)  # the user's overrides come last and win


def train_sft(
    recipe: str, dataset: str, output_dir: str, overrides: list[str] = ()
) -> tuple[Any, TrainedPolicy]:
    """SFT on the exported dataset; the policy is the recipe's model (+ the LoRA adapter when `use_peft`)."""
    from training.sft.train import parse_config, run_sft

    config = parse_config(
        _argv(recipe, {"dataset_name_or_path": dataset, "output_dir": output_dir}, overrides)
    )
    result = run_sft(config)
    policy = (
        PolicyRef(output_dir) if not config.use_peft else PolicyRef(config.model_name_or_path, (output_dir,))
    )
    return result, write_policy(output_dir, policy)


def train_grpo(
    recipe: str, start: TrainedPolicy, dataset: str, output_dir: str, overrides: list[str] = ()
) -> tuple[Any, TrainedPolicy]:
    """GRPO from `start` on the exported problems (columns `problem`, `answer`)."""
    from training.grpo.train import parse_config, run_grpo

    model = policy_checkpoint(start)
    settings = {"model_name_or_path": model, "dataset_name_or_path": dataset, "output_dir": output_dir}
    config = parse_config(_argv(recipe, settings, overrides))
    result = run_grpo(config)
    policy = PolicyRef(model, (output_dir,)) if config.use_peft else PolicyRef(output_dir)
    return result, write_policy(output_dir, policy)


def evaluate(recipe: str, trained: TrainedPolicy, output_root: str, overrides: list[str] = ()) -> Any:
    """The evaluation of `trained` into ``<output_root>/<policy version>`` (a killed evaluation resumes there)."""
    from training.eval.run import parse_config, run_eval

    model = policy_checkpoint(trained)
    out = str(Path(output_root) / trained.version)
    return run_eval(parse_config(_argv(recipe, {"model": model, "output_dir": out}, overrides)))


def itool_round(
    recipe: str,
    start: TrainedPolicy,
    problems: str,
    output_dir: str,
    round_index: int,
    overrides: list[str] = (),
) -> Any:
    """Round `round_index` of iTool from `start` (round 0) or from round r-1's policy; resumes a finished round.

    Round r > 0 needs round r-1's `round.json` in `output_dir` (rounds run in order: the policy is a chain)."""
    from sandbox import Sandbox
    from training.itool.report import write_report
    from training.itool.round import ROUND_FILE, RoundResult, round_dir, run_itool_round
    from training.itool.run import parse_config
    from training.models.loading import load_tokenizer

    settings = {"model_name_or_path": start.policy.base, "problems_path": problems, "output_dir": output_dir}
    argv = _argv(recipe, settings, overrides)
    if start.policy.adapters:
        argv += ["--adapters", *start.policy.adapters]
    config = parse_config(argv)
    config.heldout_path = _resolve(config.heldout_path)
    earlier = [RoundResult.load(round_dir(config, r) / ROUND_FILE) for r in range(round_index)
               if (round_dir(config, r) / ROUND_FILE).exists()]  # fmt: skip
    if len(earlier) != round_index:
        raise FileNotFoundError(
            f"iTool round {round_index} needs rounds 0..{round_index - 1} in {output_dir}"
        )
    policy = PolicyRef.from_dict(earlier[-1].policy_out) if earlier else start.policy
    tokenizer = load_tokenizer(config.tokenizer_name_or_path or config.model_name_or_path)
    with Sandbox(**config.sandbox_kwargs()) as sandbox:
        result = run_itool_round(config, round_index, policy, tokenizer=tokenizer, sandbox=sandbox,
                                 deficiency_sizes=[r.deficient for r in earlier])  # fmt: skip
    report = write_report(Path(output_dir), [*earlier, result], None, config.to_dict())
    return result, report


def fc_itool_round(recipe: str, output_dir: str, round_index: int, overrides: list[str] = ()) -> Any:
    """Round `round_index` of iTool on function calling (``environment: function_calling`` recipes): the policy
    is the recipe's model, after its easy-to-hard warm-up (round 0 runs it; ``<output_dir>/warmup/``), then
    round r-1's ``policy_out``. No sandbox: calls are verified, not run. Resumes a finished round."""
    from training.itool.envs.function_calling import load_fc_problems
    from training.itool.fc import WARMUP_DIR, load_examples, warmup_phase
    from training.itool.report import write_report
    from training.itool.round import ROUND_FILE, RoundResult, round_dir, run_itool_round
    from training.itool.run import parse_config
    from training.models.loading import load_tokenizer

    config = parse_config(_argv(recipe, {"output_dir": output_dir}, overrides))
    if config.environment != "function_calling":
        raise ValueError(f"{recipe} is not a function-calling recipe (environment: {config.environment})")
    config.problems_path = _resolve(config.problems_path)
    earlier = [RoundResult.load(round_dir(config, r) / ROUND_FILE) for r in range(round_index)
               if (round_dir(config, r) / ROUND_FILE).exists()]  # fmt: skip
    if len(earlier) != round_index:
        raise FileNotFoundError(
            f"iTool round {round_index} needs rounds 0..{round_index - 1} in {output_dir}"
        )
    tokenizer = load_tokenizer(config.tokenizer_name_or_path or config.model_name_or_path)
    train, _, _ = load_examples(config)
    policy = PolicyRef(config.model_name_or_path, tuple(config.adapters or ()))
    if earlier:
        policy = PolicyRef.from_dict(earlier[-1].policy_out)
    elif config.warmup_steps > 0:
        warm = warmup_phase(config, policy, tokenizer, train, Path(output_dir) / WARMUP_DIR)
        policy = policy.then(warm["output_dir"], is_adapter=bool(warm["is_adapter"]))
    problems = load_fc_problems(train, tokenizer, max_problems=config.max_problems)
    result = run_itool_round(config, round_index, policy, tokenizer=tokenizer, sandbox=None,
                             deficiency_sizes=[r.deficient for r in earlier], problems=problems)  # fmt: skip
    report = write_report(Path(output_dir), [*earlier, result], None, config.to_dict())
    return result, report


def fc_bfcl_eval(recipe: str, output_dir: str, rounds_dir: str, overrides: list[str] = ()) -> dict[str, Any]:
    """BFCL (bfcl-eval's checker) of the last finished function-calling iTool round's policy, into
    ``output_dir``; the categories and slice come from the recipe (``bfcl_*``)."""
    from training.itool.fc import evaluate_fc
    from training.itool.round import ROUND_FILE, RoundResult
    from training.itool.run import parse_config
    from training.models.loading import load_tokenizer

    config = parse_config(_argv(recipe, {"output_dir": output_dir}, overrides))
    done = sorted(Path(rounds_dir).glob(f"round-*/{ROUND_FILE}"), key=lambda p: int(p.parent.name[6:]))
    if not done:
        raise FileNotFoundError(f"no finished function-calling iTool round in {rounds_dir}")
    policy = PolicyRef.from_dict(RoundResult.load(done[-1]).policy_out)
    tokenizer = load_tokenizer(config.tokenizer_name_or_path or config.model_name_or_path)
    scores = evaluate_fc(config, policy, tokenizer, Path(output_dir) / "bfcl")
    return {**scores, "policy": policy.to_dict(), "round": done[-1].parent.name}
