"""One iTool round: mine -> MCTS -> pairs -> preference training -> held-out evaluation.

`run_itool_round(config, round_index, policy, ...) -> RoundResult` is the function a Dagster asset with one
partition per round calls; each phase is also a plain function with file outputs in ``<output_dir>/round-<r>/``:

| phase | function | writes |
|---|---|---|
| mine | `mine_phase` | ``mining.jsonl`` (per-problem pass rate; the deficiency set) |
| search | `search_phase` | ``trees.jsonl`` (`training.itool.mcts.tree`: replayable) |
| pairs | `pairs_phase` | ``pairs.jsonl`` (fragment + whole-trace pairs, with node ids and Q-values) |
| train | `train_phase` | ``adapter/`` (LoRA; or the full model) + ``preference_result.json`` |
| evaluate | `evaluate_phase` | ``eval/`` (an evaluation run of `training.eval.run_eval` on the held-out problems) and ``eval.json`` (its avg@k, pass@k, behaviour metrics) |

and ``round.json`` (the `RoundResult`) last. A phase whose output exists is read back instead of re-run, so an
interrupted round resumes where it stopped.

Stop rule (`stop_reason`): after mining, the round stops (no search, no training) when the deficiency set is
empty or has not shrunk for ``stop_patience`` rounds in a row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.itool.backends import policy_backend
from training.itool.config import IToolRunConfig
from training.itool.deficiency import MiningResult, ProblemStats, load_problems, mine_deficiencies
from training.itool.mcts.search import SearchProblem, run_mcts
from training.itool.mcts.tree import SearchTree, load_trees, save_trees
from training.itool.preference.pairs import build_pairs, load_pairs, save_pairs
from training.models.policy import PolicyRef

ROUND_FILE = "round.json"


@dataclass
class RoundResult:
    round: int
    policy_in: dict[str, Any]
    policy_out: dict[str, Any]
    problems: int = 0
    deficient: int = 0  # size of the deficiency set
    mining_pass_rate: float = 0.0  # mean pass rate of the policy_in on the training problems
    searched: int = 0
    nodes: int = 0
    fragment_pairs: int = 0
    trace_pairs: int = 0
    pairs_trained: int = 0
    pair_skips: dict[str, int] = field(default_factory=dict)
    train_steps: int = 0
    final_loss: float | None = None
    heldout: dict[str, Any] | None = None  # policy_out on the held-out problems (training.itool.evaluation)
    mining_behaviour: dict[str, float] = field(default_factory=dict)
    stop: str | None = None  # why the iterations end at this round
    timings: dict[str, float] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> RoundResult:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def round_dir(config: IToolRunConfig, round_index: int) -> Path:
    return Path(config.output_dir) / f"round-{round_index}"


def stop_reason(deficiency_sizes: Sequence[int], patience: int) -> str | None:
    """``no_deficiencies`` when the latest set is empty; ``deficiency_set_not_shrinking`` when each of the last
    ``patience`` rounds found at least as many deficient problems as the round before it."""
    if deficiency_sizes and deficiency_sizes[-1] == 0:
        return "no_deficiencies"
    if len(deficiency_sizes) > patience and all(
        deficiency_sizes[-i] >= deficiency_sizes[-i - 1] for i in range(1, patience + 1)
    ):
        return "deficiency_set_not_shrinking"
    return None


# ------------------------------------------------------------------------------------------------ phases


def mine_phase(config, backend, sandbox, tokenizer, problems, out: Path) -> MiningResult:
    path = out / "mining.jsonl"
    if path.exists():
        stats = [ProblemStats(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]
        meta = (
            json.loads((out / "mining_meta.json").read_text()) if (out / "mining_meta.json").exists() else {}
        )
        return MiningResult(stats, config.mining_threshold, meta.get("behaviour", {}))
    if config.environment == "function_calling":
        from training.itool.envs.function_calling import mine_fc

        result = mine_fc(backend, problems, samples=config.mining_samples,
                         max_completion_tokens=config.max_completion_tokens, threshold=config.mining_threshold)  # fmt: skip
        (out / "mining_meta.json").write_text(json.dumps({"behaviour": result.behaviour}), encoding="utf-8")
        result.save(path)
        return result
    result = mine_deficiencies(
        backend,
        sandbox,
        tokenizer,
        problems,
        config.sampling_config(config.mining_samples),
        config.mining_threshold,
    )
    (out / "mining_meta.json").write_text(json.dumps({"behaviour": result.behaviour}), encoding="utf-8")
    result.save(path)
    return result


def search_phase(
    config, backend, sandbox, tokenizer, problems: list[SearchProblem], out: Path
) -> list[SearchTree]:
    path = out / "trees.jsonl"
    if path.exists():
        return load_trees(path)
    env = None
    if config.environment == "function_calling":
        from training.itool.envs.function_calling import FunctionCallEnv

        env = FunctionCallEnv()  # nothing runs: the sandbox is not used
    result = run_mcts(backend, sandbox, tokenizer, problems, config.mcts_config(), env=env)
    (out / "search_stats.json").write_text(
        json.dumps({k: v for k, v in asdict(result).items() if k != "trees"}, indent=2), encoding="utf-8"
    )
    return load_trees(save_trees(result.trees, path))


def pairs_phase(config, trees: list[SearchTree], out: Path, tag: str) -> tuple[list[dict], dict[str, Any]]:
    path, stats_path = out / "pairs.jsonl", out / "pairs_stats.json"
    if path.exists() and stats_path.exists():
        return load_pairs(path), json.loads(stats_path.read_text())
    pairs, stats = build_pairs(trees, config.pair_config(), tag=tag)
    save_pairs(pairs, path)
    stats_path.write_text(json.dumps(stats.to_dict(), indent=2), encoding="utf-8")
    return pairs, stats.to_dict()


def train_phase(config, policy: PolicyRef, pairs: list[dict], tokenizer, out: Path) -> dict[str, Any]:
    from training.itool.preference.train import RESULT_FILE, train_preference

    target = out / "adapter"
    if (target / RESULT_FILE).exists():
        return json.loads((target / RESULT_FILE).read_text())
    return asdict(train_preference(pairs, policy, tokenizer, config.preference_settings(), target))


def evaluate_phase(config, policy: PolicyRef, tokenizer, out: Path, name: str = "eval") -> dict[str, Any]:
    """`training.itool.evaluation.evaluate_policy` into ``out/<name>/`` (a full evaluation run; BFCL with
    `training.itool.fc.evaluate_fc` for function calling); its summary is ``out/<name>.json``."""
    from training.itool.evaluation import evaluate_policy
    from training.itool.fc import evaluate_fc

    path = out / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    evaluate = evaluate_fc if config.environment == "function_calling" else evaluate_policy
    scores = evaluate(config, policy, tokenizer, out / name)
    path.write_text(json.dumps(scores, indent=2), encoding="utf-8")
    return scores


# ------------------------------------------------------------------------------------------------ a round


def selected_pairs(pairs: list[dict], kind: str) -> list[dict]:
    return [p for p in pairs if kind == "both" or p["kind"] == kind]


def run_itool_round(
    config: IToolRunConfig,
    round_index: int,
    policy: PolicyRef,
    *,
    tokenizer: Any,
    sandbox: Any,
    deficiency_sizes: Sequence[int] = (),
    problems: list[SearchProblem] | None = None,
) -> RoundResult:
    """Run (or resume) round ``round_index`` from ``policy``; ``deficiency_sizes`` are the earlier rounds'
    deficiency-set sizes (the stop rule). Returns what it did; ``policy_out`` is the next round's policy."""
    out = round_dir(config, round_index)
    if (out / ROUND_FILE).exists():
        return RoundResult.load(out / ROUND_FILE)
    out.mkdir(parents=True, exist_ok=True)
    if problems is None and config.environment == "function_calling":
        from training.itool.fc import load_problems_fc

        problems = load_problems_fc(config, tokenizer)
    problems = (
        problems
        if problems is not None
        else load_problems(
            config.problems_path,
            tokenizer,
            system_prompt=config.system_prompt,
            max_problems=config.max_problems,
        )
    )
    result = RoundResult(round_index, policy.to_dict(), policy.to_dict(), problems=len(problems))
    clock = time.perf_counter()
    with policy_backend(config, policy, tokenizer) as backend:
        mined = mine_phase(config, backend, sandbox, tokenizer, problems, out)
        result.timings["mine_s"] = time.perf_counter() - clock
        result.deficient = len(mined.deficient_ids)
        result.mining_pass_rate = sum(s.pass_rate for s in mined.stats) / max(1, len(mined.stats))
        result.mining_behaviour = mined.behaviour
        result.stop = stop_reason([*deficiency_sizes, result.deficient], config.stop_patience)
        if result.stop is None:
            rate = {s.problem_id: s.pass_rate for s in mined.stats}
            targets = sorted(
                (p for p in problems if p.problem_id in set(mined.deficient_ids)),
                key=lambda p: rate[p.problem_id],
            )
            targets = targets[: config.mcts_max_problems] if config.mcts_max_problems else targets
            clock = time.perf_counter()
            trees = search_phase(config, backend, sandbox, tokenizer, targets, out)
            result.timings["search_s"] = time.perf_counter() - clock
            result.searched, result.nodes = len(trees), sum(len(t.nodes) for t in trees)
    files = {"mining": str(out / "mining.jsonl")}
    if result.stop is None:
        pairs, stats = pairs_phase(config, trees, out, tag=f"round-{round_index}")
        result.fragment_pairs, result.trace_pairs = stats["fragment_pairs"], stats["trace_pairs"]
        result.pair_skips = stats["skipped"]
        chosen = selected_pairs(pairs, config.pref_pairs)
        result.pairs_trained = len(chosen)
        files.update(trees=str(out / "trees.jsonl"), pairs=str(out / "pairs.jsonl"))
        if not chosen:
            result.stop = "no_pairs"
    if result.stop is None:
        clock = time.perf_counter()
        trained = train_phase(config, policy, chosen, tokenizer, out)
        result.timings["train_s"] = time.perf_counter() - clock
        result.train_steps = int(trained["global_step"])
        result.final_loss = trained["loss_history"][-1][1] if trained["loss_history"] else None
        new_policy = policy.then(trained["output_dir"], is_adapter=bool(trained["is_adapter"]))
        result.policy_out = new_policy.to_dict()
        files["adapter"] = trained["output_dir"]
        # a vLLM server still serves policy_in: evaluate policy_out after restarting it (docs/itool.md)
        has_heldout = config.heldout_path or config.environment == "function_calling"  # FC: BFCL
        if has_heldout and config.generation_backend != "vllm_server":
            clock = time.perf_counter()
            result.heldout = evaluate_phase(config, new_policy, tokenizer, out)
            result.timings["evaluate_s"] = time.perf_counter() - clock
            files["eval"] = str(out / "eval")
    result.files = files
    (out / ROUND_FILE).write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    return result
