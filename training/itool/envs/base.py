"""What the one iTool core (MCTS, pairs, preference training, rounds) asks of an environment.

The search (`training.itool.mcts.search`) owns the tree: selection by UCT, merging identical samples,
back-propagation, budgets, the jsonl tree log. An environment owns what a step *is* and what a right answer is:

* `SearchEnvironment.sample_steps`: ``n`` one-step continuations of each leaf's prefix (a code block with its
  interpreter output, or a paragraph, for the code interpreter; one ``<tool_call>`` for function calls);
* `SearchEnvironment.step_reward`: a reward known before any simulation (a wrong call is wrong at once), or None;
* `SearchEnvironment.simulate`: one rollout from each prefix to the end of the turn;
* `SearchEnvironment.rewards`: ±1 for each node's trace (its prefix, plus its simulation when it had one): the
  answer check, the call verifier.

Implementations: `training.itool.envs.code.CodeInterpreterEnv` (the sandbox) and
`training.itool.envs.function_calling.FunctionCallEnv` (no execution: a turn's calls are checked, not run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from training.itool.mcts.tree import Node, SearchTree
    from training.rollout.generation import GenerationBackend, Tokenizer


@dataclass
class StepSample:
    """One sampled step: the `training.itool.mcts.tree.Node` fields it sets, and its generated-token count."""

    fields: dict[str, Any]
    model_tokens: int
    key: tuple[int, ...] = ()  # identical samples (same key) merge into one child


@dataclass
class Simulation:
    text: str
    end: str
    model_tokens: int
    model_text: str | None = None  # the text without environment output, where the environment has any


@dataclass
class Timing:
    generation_s: float = 0.0
    sandbox_s: float = 0.0
    replay_calls: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class SearchEnvironment(Protocol):
    name: str

    async def sample_steps(self, backend: GenerationBackend, tokenizer: Tokenizer,
                           leaves: Sequence[tuple[SearchTree, Node]], n: int, config: Any,
                           timing: Timing) -> list[list[StepSample]]: ...  # fmt: skip

    async def simulate(self, backend: GenerationBackend, tokenizer: Tokenizer,
                       nodes: Sequence[tuple[SearchTree, Node]], config: Any,
                       timing: Timing) -> list[Simulation]: ...  # fmt: skip

    def step_reward(self, tree: SearchTree, node: Node) -> float | None: ...

    def rewards(self, nodes: Sequence[tuple[SearchTree, Node]],
                simulations: Sequence[Simulation | None]) -> list[float]: ...  # fmt: skip
