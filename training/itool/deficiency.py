"""Deficiency mining: k samples per training problem through the shared rollout, scored ±1.

`mine_deficiencies` runs the current policy on the training problems (``samples`` each, the real sandbox in the
loop) and keeps the problems whose pass rate is below ``threshold``: the *deficiency set* the next MCTS explores.
Every problem gets a stats row (pass rate, tool calls, code errors, truncations), kept or not. (Held-out
evaluation is the evaluation stage's `run_eval`: `training.itool.evaluation`.)

Problems come from any file the SFT/GRPO loaders read (`load_problems`): ``problem`` and ``answer`` columns, an
optional ``id`` (else `retool_data.schema.problem_id`); the prompt is the RL template (`RL_TEMPLATE`), as GRPO
and evaluation use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retool_data.schema import problem_id
from retool_data.templates import build_prompt_messages
from training.itool.mcts.search import SearchProblem
from training.rollout.generation import GenerationBackend, Tokenizer
from training.rollout.loop import RolloutConfig, run_rollouts
from training.rollout.metrics import behaviour_metrics, finite
from training.rollout.rewards import correct


@dataclass(frozen=True)
class SamplingConfig:
    samples: int = 4  # k rollouts per problem
    max_completion_tokens: int = 1024
    max_tool_calls: int = 4
    code_timeout_s: float | None = None

    def rollout_config(self, prefix: str) -> RolloutConfig:
        return RolloutConfig(
            max_completion_tokens=self.max_completion_tokens,
            max_tool_calls=self.max_tool_calls,
            code_timeout_s=self.code_timeout_s,
            session_prefix=prefix,
        )


@dataclass
class ProblemStats:
    problem_id: str
    samples: int
    correct: int
    pass_rate: float
    deficient: bool
    tool_calls: float  # mean per sample
    code_errors: int
    truncated: int


@dataclass
class MiningResult:
    stats: list[ProblemStats]
    threshold: float
    behaviour: dict[str, float] = field(default_factory=dict)

    @property
    def deficient_ids(self) -> list[str]:
        return [s.problem_id for s in self.stats if s.deficient]

    def save(self, path: str | Path) -> Path:
        """One JSON row per problem (``problem_id``, ``pass_rate``, ...): also the pass-rate file the SFT
        curriculum reads (`SFTRunConfig.curriculum_pass_rates`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(asdict(s)) + "\n" for s in self.stats), encoding="utf-8")
        return path


def load_problems(
    path: str, tokenizer: Tokenizer, *, system_prompt: str | None = None, max_problems: int | None = None
) -> list[SearchProblem]:
    """Problems with gold answers from a jsonl/parquet/save_to_disk/Hub source, as RL-template chat prompts.
    Rows without a problem or an answer raise (a training set with holes is a curation bug, not a fact to skip)."""
    from training.sft.data import load_sft_dataset

    rows = load_sft_dataset(path, "train", max_problems)
    out = []
    for i, row in enumerate(rows):
        text, answer = str(row.get("problem") or "").strip(), str(row.get("answer") or "").strip()
        if not text or not answer:
            raise ValueError(f"{path} row {i}: needs non-empty `problem` and `answer`")
        messages = build_prompt_messages(text, system_prompt=system_prompt)
        ids = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )  # type: ignore[attr-defined]
        out.append(
            SearchProblem(
                str(row.get("id") or problem_id(text)), text, answer, messages, list(ids["input_ids"])
            )
        )
    return out


def _sample(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    problems: Sequence[SearchProblem],
    config: SamplingConfig,
    prefix: str,
) -> tuple[list[list[bool]], list[dict[str, Any]]]:
    """k rollouts per problem in one batch: (verdicts per problem, every rollout's summary)."""
    k = config.samples
    prompts = [p.prompt_ids for p in problems for _ in range(k)]
    batch = run_rollouts(backend, sandbox, tokenizer, prompts, config.rollout_config(prefix))
    golds = [p.answer for p in problems for _ in range(k)]
    verdicts = correct([r.text for r in batch.results], golds, [r.model_text for r in batch.results])
    per_problem = [verdicts[i * k : (i + 1) * k] for i in range(len(problems))]
    return per_problem, [r.summary() for r in batch.results]


def mine_deficiencies(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    problems: Sequence[SearchProblem],
    config: SamplingConfig,
    threshold: float,
) -> MiningResult:
    """Per-problem pass rates over ``config.samples`` rollouts; deficient = pass rate < ``threshold``."""
    verdicts, summaries = _sample(backend, sandbox, tokenizer, problems, config, "mine")
    k = config.samples
    stats = []
    for i, (p, ok) in enumerate(zip(problems, verdicts, strict=True)):
        mine = summaries[i * k : (i + 1) * k]
        rate = sum(ok) / k
        stats.append(
            ProblemStats(
                problem_id=p.problem_id,
                samples=k,
                correct=sum(ok),
                pass_rate=rate,
                deficient=rate < threshold,
                tool_calls=sum(s["num_tool_calls"] for s in mine) / k,
                code_errors=sum(s["code_errors"] for s in mine),
                truncated=sum(bool(s["truncated"]) for s in mine),
            )
        )
    return MiningResult(stats, threshold, finite(behaviour_metrics(summaries)))
