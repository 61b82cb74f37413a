"""The code-interpreter environment of the iTool search: steps are code blocks (run in the sandbox) or paragraphs.

Steps come from the shared rollout in step mode (`training.rollout.loop`: ``step_stops`` + ``max_steps=1``).
Sandbox state: a branch's session must match its prefix and the sandbox cannot fork a session, so every rollout
that continues a prefix starts a fresh session and **replays** the prefix's code blocks into it first
(`training.rollout.records.RolloutStart`); a leaf whose replayed outputs differ from the recorded ones (random
numbers, time) is flagged ``replay_mismatch``. Rewards: ±1 by the final answer (`training.rollout.rewards.correct`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.itool.envs.base import Simulation, StepSample, Timing
from training.itool.mcts.tree import Node, SearchTree
from training.rollout.generation import GenerationBackend, Tokenizer
from training.rollout.loop import RolloutConfig, RolloutResult, RolloutStart, arun_rollouts
from training.rollout.rewards import correct


def _start(tree: SearchTree, node: Node, cap: int | None = None) -> RolloutStart:
    """Continue ``node``'s prefix: replay its code, count its calls and tokens. With ``cap`` (a step's token cap)
    the budget is min(cap, what the trace has left): `arun_rollouts` gives ``max_completion_tokens -
    completion_tokens``, and the expansion config's ``max_completion_tokens`` is the cap."""
    used = len(tree.prefix_ids(node))
    code, _, calls = tree.replay_plan(node)
    if cap is not None:
        used = max(0, used + cap - int(tree.config["max_completion_tokens"]))
    return RolloutStart(replay=tuple(code), tool_calls=calls, completion_tokens=used)


def _account(timing: Timing, batch: Any) -> None:
    timing.generation_s += batch.generation_s
    timing.sandbox_s += batch.sandbox_s
    timing.replay_calls += batch.replay_calls


def step_fields(sample: RolloutResult, prefix_len: int, config: Any) -> dict[str, Any]:
    end = sample.end
    if end == "length" and prefix_len + len(sample.completion_ids) < config.max_completion_tokens:
        end = "step_cap"  # cut at max_step_tokens, not at the trace budget: more can follow
    return {
        "step_text": sample.text,
        "step_model_text": sample.model_text,
        "step_ids": list(sample.completion_ids),
        "step_env_mask": list(sample.env_mask),
        "code": [c.code for c in sample.tool_calls],
        "outputs": [c.output for c in sample.tool_calls],
        "statuses": [c.status for c in sample.tool_calls],
        "end": end,
    }


class CodeInterpreterEnv:
    """Code-interleaved reasoning with the sandbox in the loop (`training.itool.mcts.search.MCTSConfig` budgets)."""

    name = "code"

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    async def sample_steps(self, backend: GenerationBackend, tokenizer: Tokenizer,
                           leaves: Sequence[tuple[SearchTree, Node]], n: int, config: Any,
                           timing: Timing) -> list[list[StepSample]]:  # fmt: skip
        prompts, starts = [], []
        for tree, leaf in leaves:
            context = tree.prompt_ids + tree.prefix_ids(leaf)
            for _ in range(n):
                prompts.append(context)
                starts.append(_start(tree, leaf, cap=config.max_step_tokens))
        step_config = RolloutConfig(
            max_completion_tokens=config.max_step_tokens,
            max_tool_calls=config.max_tool_calls,
            code_timeout_s=config.code_timeout_s,
            session_prefix="mcts-expand",
            step_stops=tuple(config.step_stops),
            max_steps=1,
        )
        batch = await arun_rollouts(backend, self.sandbox, tokenizer, prompts, step_config, starts=starts)
        _account(timing, batch)
        out = []
        for i, (tree, leaf) in enumerate(leaves):
            samples = batch.results[i * n : (i + 1) * n]
            recorded = tree.replay_plan(leaf)[1]
            leaf.replay_mismatch = any(s.replay and [c.output for c in s.replay] != recorded for s in samples)
            prefix_len = len(tree.prefix_ids(leaf))
            out.append([StepSample(step_fields(s, prefix_len, config), s.model_tokens, tuple(s.completion_ids))
                        for s in samples])  # fmt: skip
        return out

    async def simulate(self, backend: GenerationBackend, tokenizer: Tokenizer,
                       nodes: Sequence[tuple[SearchTree, Node]], config: Any,
                       timing: Timing) -> list[Simulation]:  # fmt: skip
        sim_config = RolloutConfig(
            max_completion_tokens=config.max_completion_tokens,
            max_tool_calls=config.max_tool_calls,
            code_timeout_s=config.code_timeout_s,
            session_prefix="mcts-simulate",
        )
        prompts = [t.prompt_ids + t.prefix_ids(n) for t, n in nodes]
        starts = [_start(t, n) for t, n in nodes]
        batch = await arun_rollouts(backend, self.sandbox, tokenizer, prompts, sim_config, starts=starts)
        _account(timing, batch)
        return [Simulation(s.text, s.end, s.model_tokens, s.model_text) for s in batch.results]

    def step_reward(self, tree: SearchTree, node: Node) -> float | None:
        return None  # a code step is only judged by where it leads

    def rewards(self, nodes: Sequence[tuple[SearchTree, Node]],
                simulations: Sequence[Simulation | None]) -> list[float]:  # fmt: skip
        """±1 by the final answer, read only from what the model wrote along the path and in the simulation,
        never from interpreter output."""
        if not nodes:
            return []
        texts = [t.prefix_text(n) + (n.simulation_text or "") for t, n in nodes]
        model_texts = [t.prefix_model_text(n) + ((s.model_text or "") if s else "")
                       for (t, n), s in zip(nodes, simulations, strict=True)]  # fmt: skip
        verdicts = correct(texts, [t.answer for t, _ in nodes], model_texts)
        return [1.0 if ok else -1.0 for ok in verdicts]
