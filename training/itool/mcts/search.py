"""Step-level Monte-Carlo tree search over code-interleaved reasoning (iTool's exploration, on ReTool traces).

A node is a trace prefix cut at a step boundary: after an interpreter block (the model closed ``</code>``, the
code ran in the sandbox, the block was appended) or at a paragraph break (a blank line outside a code block). Each
search iteration, for every problem's tree at once:

1. **select**: descend from the root by UCT (`training.itool.mcts.tree.uct_score`, exploration constant ``c_uct``)
   through expanded nodes to a node not yet expanded;
2. **expand**: sample ``children`` continuations of that prefix up to the next step boundary, with the shared
   rollout (`training.rollout.loop`, step mode: ``step_stops`` + ``max_steps=1``); identical samples are merged;
3. **evaluate**: each new child is scored ±1 with `retool_data.answers` (via `training.rollout.rewards.correct`): a child
   that ends the trace (EOS, budget, tool-call limit) by its own final answer, any other by one rollout from its
   prefix to a final answer or the budget (the "simulation");
4. **back-propagate** each child's reward to the root (``visits``, ``value_sum``; Q = mean reward).

Generation is batched across trees: one backend call per turn carries every tree's expansion requests (then
every simulation), so any rollout backend works (transformers, vLLM offline, an OpenAI-compatible server).

Sandbox state: a branch's session must match its prefix. The sandbox cannot fork a session, so every rollout
that continues a prefix starts a fresh session and **replays** the prefix's code blocks into it first
(`training.rollout.records.RolloutStart`); a node whose replayed outputs differ from the recorded ones (random numbers,
time) is flagged ``replay_mismatch``. Cost: one sandbox run per prefix code block per expansion sample and per
simulation (warm-forked interpreter runs, concurrent across branches; see docs/itool.md).

Budgets: ``iterations`` and ``max_nodes`` per tree, ``max_depth`` (deeper nodes are evaluated, never expanded),
``time_limit_s`` for the whole call, and token/tool budgets per trace. The trees are data
(`training.itool.mcts.tree.save_trees`: jsonl) and their Q-values replay from the recorded evaluations.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from retool_data.aio import run_sync
from training.itool.mcts.tree import Node, SearchTree
from training.rollout.generation import GenerationBackend, Tokenizer
from training.rollout.loop import PARAGRAPH_STOP, RolloutConfig, RolloutResult, RolloutStart, arun_rollouts
from training.rollout.rewards import correct

__all__ = ["MCTSConfig", "MCTSResult", "SearchProblem", "arun_mcts", "run_mcts"]


@dataclass(frozen=True)
class MCTSConfig:
    """Search budgets and settings (defaults: a small search per problem; see docs/itool.md)."""

    iterations: int = 8  # select-expand-evaluate rounds per tree
    children: int = 3  # continuations sampled per expansion (iTool: 3 actions per node)
    c_uct: float = 1.0  # UCT exploration constant; rewards are ±1 (docs/itool.md: why 1.0)
    max_depth: int = 6  # steps below the root; nodes at this depth are evaluated but never expanded
    max_nodes: int = 64  # per tree (the root included); no expansion starts once reached
    time_limit_s: float | None = None  # wall clock for the whole search; no iteration starts after it
    max_completion_tokens: int = (
        1024  # whole trace after the prompt (prefix + step + simulation), interpreter incl.
    )
    max_step_tokens: int = 256  # a step is also cut after this many tokens (then it is not terminal)
    max_tool_calls: int = 4  # code blocks per trace
    step_stops: tuple[str, ...] = (PARAGRAPH_STOP,)
    code_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.iterations < 1 or self.children < 1 or self.max_depth < 1 or self.max_nodes < 2:
            raise ValueError("iterations, children and max_depth must be >= 1 and max_nodes >= 2")
        if self.c_uct < 0:
            raise ValueError("c_uct must be >= 0")
        if self.max_step_tokens < 1 or self.max_completion_tokens < 1:
            raise ValueError("max_step_tokens and max_completion_tokens must be >= 1")


@dataclass(frozen=True)
class SearchProblem:
    problem_id: str
    problem: str
    answer: str  # the gold final answer
    prompt_messages: list[dict[str, str]]
    prompt_ids: list[int]


@dataclass
class MCTSResult:
    trees: list[SearchTree]
    iterations: int = 0
    generation_s: float = 0.0
    sandbox_s: float = 0.0
    replay_calls: int = 0
    wall_s: float = 0.0
    stop_reasons: dict[str, int] = field(default_factory=dict)


def _stop_reason(tree: SearchTree, config: MCTSConfig, started: float) -> str | None:
    if tree.stats.get("iterations", 0) >= config.iterations:
        return "iterations"
    if len(tree.nodes) >= config.max_nodes:
        return "max_nodes"
    if config.time_limit_s is not None and time.monotonic() - started >= config.time_limit_s:
        return "time_limit"
    if tree.select(config.c_uct) is None:
        return "exhausted"
    return None


async def arun_mcts(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    problems: Sequence[SearchProblem],
    config: MCTSConfig,
) -> MCTSResult:
    """Search every problem's tree in lock-step (one leaf per tree per iteration) until each hits a budget."""
    started = time.monotonic()
    trees = [
        SearchTree(
            p.problem_id, p.problem, p.answer, p.prompt_messages, list(p.prompt_ids), config=asdict(config)
        )
        for p in problems
    ]
    for t in trees:
        t.stats.update(iterations=0, expansions=0, simulations=0, generated_tokens=0, stop=None)
    result = MCTSResult(trees)
    while True:
        leaves: list[tuple[SearchTree, Node]] = []
        for tree in trees:
            if tree.stats["stop"] is None:
                tree.stats["stop"] = _stop_reason(tree, config, started)
            if tree.stats["stop"] is None:
                leaves.append((tree, tree.select(config.c_uct)))  # type: ignore[arg-type]
        if not leaves:
            break
        result.iterations += 1
        new = await _expand(backend, sandbox, tokenizer, leaves, config, result)
        await _evaluate(backend, sandbox, tokenizer, new, config, result)
        for tree, leaf in leaves:
            tree.stats["iterations"] += 1
            tree.refresh_exhausted(leaf)
    result.wall_s = time.monotonic() - started
    for tree in trees:
        result.stop_reasons[tree.stats["stop"]] = result.stop_reasons.get(tree.stats["stop"], 0) + 1
        tree.stats["nodes"] = len(tree.nodes)
    return result


def _start(tree: SearchTree, node: Node, cap: int | None = None) -> RolloutStart:
    """Continue ``node``'s prefix: replay its code, count its calls and tokens. With ``cap`` (a step's token cap)
    the budget is min(cap, what the trace has left): `arun_rollouts` gives ``max_completion_tokens -
    completion_tokens``, and the expansion config's ``max_completion_tokens`` is the cap."""
    used = len(tree.prefix_ids(node))
    code, _, calls = tree.replay_plan(node)
    if cap is not None:
        used = max(0, used + cap - int(tree.config["max_completion_tokens"]))
    return RolloutStart(replay=tuple(code), tool_calls=calls, completion_tokens=used)


async def _expand(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    leaves: list[tuple[SearchTree, Node]],
    config: MCTSConfig,
    result: MCTSResult,
) -> list[tuple[SearchTree, Node]]:
    """Sample ``children`` one-step continuations of every leaf (one batched rollout call); returns the new nodes."""
    prompts, starts = [], []
    for tree, leaf in leaves:
        context = tree.prompt_ids + tree.prefix_ids(leaf)
        for _ in range(config.children):
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
    batch = await arun_rollouts(backend, sandbox, tokenizer, prompts, step_config, starts=starts)
    _account(result, batch)
    new: list[tuple[SearchTree, Node]] = []
    for i, (tree, leaf) in enumerate(leaves):
        samples = batch.results[i * config.children : (i + 1) * config.children]
        recorded = tree.replay_plan(leaf)[1]
        leaf.replay_mismatch = any(s.replay and [c.output for c in s.replay] != recorded for s in samples)
        leaf.expanded = True
        tree.stats["expansions"] += 1
        by_ids: dict[tuple[int, ...], Node] = {}
        prefix_len = len(tree.prefix_ids(leaf))
        for sample in samples:
            tree.stats["generated_tokens"] += sample.model_tokens
            key = tuple(sample.completion_ids)
            if key in by_ids:
                by_ids[key].duplicates += 1
                continue
            child = tree.add_child(
                leaf, **_step_fields(sample, prefix_len, config), iteration=result.iterations
            )
            child.exhausted = child.terminal or child.depth >= config.max_depth
            by_ids[key] = child
            new.append((tree, child))
    return new


def _step_fields(sample: RolloutResult, prefix_len: int, config: MCTSConfig) -> dict[str, Any]:
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


async def _evaluate(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    new: list[tuple[SearchTree, Node]],
    config: MCTSConfig,
    result: MCTSResult,
) -> None:
    """Score every new node ±1 (terminal: its own answer; else one simulation rollout) and back-propagate."""
    to_simulate = [(t, n) for t, n in new if not n.terminal]
    sim_model_text: dict[int, str] = {}  # id(node) -> its simulation's model text
    if to_simulate:
        sim_config = RolloutConfig(
            max_completion_tokens=config.max_completion_tokens,
            max_tool_calls=config.max_tool_calls,
            code_timeout_s=config.code_timeout_s,
            session_prefix="mcts-simulate",
        )
        prompts = [t.prompt_ids + t.prefix_ids(n) for t, n in to_simulate]
        starts = [_start(t, n) for t, n in to_simulate]
        batch = await arun_rollouts(backend, sandbox, tokenizer, prompts, sim_config, starts=starts)
        _account(result, batch)
        for (tree, node), sim in zip(to_simulate, batch.results, strict=True):
            node.simulation_text, node.simulation_end = sim.text, sim.end
            sim_model_text[id(node)] = sim.model_text
            tree.stats["simulations"] += 1
            tree.stats["generated_tokens"] += sim.model_tokens
    # Scored: only what the model wrote along the path and in the simulation, never interpreter output.
    texts = [t.prefix_text(n) + (n.simulation_text or "") for t, n in new]
    model_texts = [t.prefix_model_text(n) + sim_model_text.get(id(n), "") for t, n in new]
    verdicts = correct(texts, [t.answer for t, _ in new], model_texts) if new else []
    for (tree, node), ok in zip(new, verdicts, strict=True):
        node.reward = 1.0 if ok else -1.0
        tree.backpropagate(node, node.reward)


def _account(result: MCTSResult, batch: Any) -> None:
    result.generation_s += batch.generation_s
    result.sandbox_s += batch.sandbox_s
    result.replay_calls += batch.replay_calls


def run_mcts(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    problems: Sequence[SearchProblem],
    config: MCTSConfig,
) -> MCTSResult:
    """Synchronous `arun_mcts` (also callable from inside a running event loop)."""
    return run_sync(arun_mcts(backend, sandbox, tokenizer, problems, config))
