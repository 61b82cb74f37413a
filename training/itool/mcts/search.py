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
from training.itool.envs.base import SearchEnvironment, Simulation, Timing
from training.itool.mcts.tree import Node, SearchTree
from training.rollout.generation import GenerationBackend, Tokenizer
from training.rollout.loop import PARAGRAPH_STOP

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
    *,
    env: SearchEnvironment | None = None,
) -> MCTSResult:
    """Search every problem's tree in lock-step (one leaf per tree per iteration) until each hits a budget.
    ``env`` decides what a step is and what is right (default: the code interpreter on ``sandbox``)."""
    if env is None:
        from training.itool.envs.code import CodeInterpreterEnv

        env = CodeInterpreterEnv(sandbox)
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
        new = await _expand(env, backend, tokenizer, leaves, config, result)
        await _evaluate(env, backend, tokenizer, new, config, result)
        for tree, leaf in leaves:
            tree.stats["iterations"] += 1
            tree.refresh_exhausted(leaf)
    result.wall_s = time.monotonic() - started
    for tree in trees:
        result.stop_reasons[tree.stats["stop"]] = result.stop_reasons.get(tree.stats["stop"], 0) + 1
        tree.stats["nodes"] = len(tree.nodes)
    return result


async def _expand(
    env: SearchEnvironment,
    backend: GenerationBackend,
    tokenizer: Tokenizer,
    leaves: list[tuple[SearchTree, Node]],
    config: MCTSConfig,
    result: MCTSResult,
) -> list[tuple[SearchTree, Node]]:
    """Sample ``children`` one-step continuations of every leaf (one batched environment call); returns the new
    nodes. Identical samples (same key: the token ids) merge into one child."""
    timing = Timing()
    batch = await env.sample_steps(backend, tokenizer, leaves, config.children, config, timing)
    _account(result, timing)
    new: list[tuple[SearchTree, Node]] = []
    for (tree, leaf), samples in zip(leaves, batch, strict=True):
        leaf.expanded = True
        tree.stats["expansions"] += 1
        by_key: dict[tuple[int, ...], Node] = {}
        for sample in samples:
            tree.stats["generated_tokens"] += sample.model_tokens
            if sample.key in by_key:
                by_key[sample.key].duplicates += 1
                continue
            child = tree.add_child(leaf, **sample.fields, iteration=result.iterations)
            child.exhausted = child.terminal or child.depth >= config.max_depth
            by_key[sample.key] = child
            new.append((tree, child))
    return new


async def _evaluate(
    env: SearchEnvironment,
    backend: GenerationBackend,
    tokenizer: Tokenizer,
    new: list[tuple[SearchTree, Node]],
    config: MCTSConfig,
    result: MCTSResult,
) -> None:
    """Score every new node ±1 (the environment's step reward when it has one; a terminal node by its own
    answer; any other by one simulation rollout) and back-propagate."""
    known = {id(n): env.step_reward(t, n) for t, n in new}
    for _, node in new:
        if known[id(node)] is not None and not node.terminal:
            node.exhausted = True  # judged already: nothing below it can change its reward
    to_simulate = [(t, n) for t, n in new if not n.terminal and known[id(n)] is None]
    sims_by_node: dict[int, Simulation] = {}
    if to_simulate:
        timing = Timing()
        sims = await env.simulate(backend, tokenizer, to_simulate, config, timing)
        _account(result, timing)
        for (tree, node), sim in zip(to_simulate, sims, strict=True):
            node.simulation_text, node.simulation_end = sim.text, sim.end
            sims_by_node[id(node)] = sim
            tree.stats["simulations"] += 1
            tree.stats["generated_tokens"] += sim.model_tokens
    judged = [(t, n) for t, n in new if known[id(n)] is None]
    # the code environment scores only what the model wrote (never interpreter output): it gets the simulations
    verdicts = env.rewards(judged, [sims_by_node.get(id(n)) for _, n in judged])
    rewards = dict(zip((id(n) for _, n in judged), verdicts, strict=True))
    for tree, node in new:
        node.reward = known[id(node)] if known[id(node)] is not None else rewards[id(node)]
        tree.backpropagate(node, node.reward)


def _account(result: MCTSResult, timing: Timing) -> None:
    result.generation_s += timing.generation_s
    result.sandbox_s += timing.sandbox_s
    result.replay_calls += timing.replay_calls


def run_mcts(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    problems: Sequence[SearchProblem],
    config: MCTSConfig,
    *,
    env: SearchEnvironment | None = None,
) -> MCTSResult:
    """Synchronous `arun_mcts` (also callable from inside a running event loop)."""
    return run_sync(arun_mcts(backend, sandbox, tokenizer, problems, config, env=env))
