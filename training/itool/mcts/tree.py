"""The MCTS search tree as data: nodes, UCT, back-propagation, and its jsonl form (see `training.itool.mcts.search`).

A node is a trace prefix cut at a step boundary; it stores only the step it adds to its parent (text, token ids,
env mask, the code it ran), so the prefix of any node is the concatenation along its path. Statistics are kept
as ``visits`` (evaluations below the node) and ``value_sum`` (their ±1 rewards); ``q = value_sum / visits``.

The jsonl file has one header line (``{"kind": "tree", ...}``: problem, prompt, search config and stats) followed
by one line per node (``{"kind": "node", ...}``) in creation order, so a tree can be read back (`load_trees`),
inspected with any jsonl tool, and replayed (`SearchTree.replay_backprop` recomputes every Q from the recorded
evaluations, in the recorded order).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

# How a node's step ended: "step" (a step boundary: more can follow), "step_cap" (cut at max_step_tokens: more
# can follow), or a terminal end of the trace: "eos", "length" (out of budget), "max_tool_calls".
NON_TERMINAL_ENDS = frozenset({"root", "step", "step_cap"})
SESSION_ENDING = frozenset({"timeout", "killed"})  # sandbox statuses after which a session starts empty
NOT_RUN = frozenset({"no_code", "sandbox_failure"})  # tool calls whose code never ran


@dataclass
class Node:
    id: int
    parent: int | None
    depth: int  # steps from the root
    step_text: str = ""  # text this step adds: the model's text, then the interpreter block if it ran code
    step_ids: list[int] = field(default_factory=list)
    step_model_text: str = ""  # step_text without its interpreter blocks: what the model wrote (scored)
    step_env_mask: list[int] = field(default_factory=list)  # 0 on interpreter tokens
    code: list[str] = field(default_factory=list)  # code blocks this step ran (in order)
    outputs: list[str] = field(default_factory=list)  # their sandbox outputs
    statuses: list[str] = field(default_factory=list)
    end: str = "root"
    children: list[int] = field(default_factory=list)
    visits: int = 0
    value_sum: float = 0.0
    reward: float | None = (
        None  # the evaluation of this node: its own score if terminal, else its simulation's
    )
    simulation_text: str | None = None  # the evaluation rollout's continuation (None for terminal nodes)
    simulation_end: str | None = None
    duplicates: int = 0  # identical samples merged into this node when it was expanded
    iteration: int = 0  # the search iteration that created it
    expanded: bool = False
    exhausted: bool = False  # terminal, depth-capped, or every child exhausted: selection skips it
    replay_mismatch: bool = (
        False  # re-running the prefix code printed something else (non-deterministic code)
    )

    @property
    def q(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0

    @property
    def terminal(self) -> bool:
        return self.end not in NON_TERMINAL_ENDS

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "node", **asdict(self), "q": self.q}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> Node:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


def uct_score(child: Node, parent_visits: int, c: float) -> float:
    """UCT (UCB1 applied to trees): ``Q(child) + c * sqrt(ln N(parent) / N(child))``; an unvisited child scores
    +inf so every child is tried once. Rewards are ±1, so Q lies in [-1, 1]; see docs/itool.md for ``c``."""
    if child.visits == 0:
        return math.inf
    return child.q + c * math.sqrt(math.log(max(parent_visits, 1)) / child.visits)


@dataclass
class SearchTree:
    """One problem's search tree."""

    problem_id: str
    problem: str
    answer: str
    prompt_messages: list[dict[str, str]]
    prompt_ids: list[int]
    nodes: list[Node] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    evaluations: list[tuple[int, float]] = field(default_factory=list)  # (node id, reward) in back-prop order

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes.append(Node(id=0, parent=None, depth=0))

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def add_child(self, parent: Node, **kwargs: Any) -> Node:
        node = Node(id=len(self.nodes), parent=parent.id, depth=parent.depth + 1, **kwargs)
        self.nodes.append(node)
        parent.children.append(node.id)
        return node

    def path(self, node: Node) -> list[Node]:
        """Root .. node."""
        out = [node]
        while out[-1].parent is not None:
            out.append(self.nodes[out[-1].parent])
        return out[::-1]

    def prefix_text(self, node: Node) -> str:
        return "".join(n.step_text for n in self.path(node))

    def prefix_model_text(self, node: Node) -> str:
        """What the model wrote along the path (no interpreter output): the text a node's answer is read from."""
        return "".join(n.step_model_text or _model_text(n.step_text) for n in self.path(node))

    def prefix_ids(self, node: Node) -> list[int]:
        return [t for n in self.path(node) for t in n.step_ids]

    def prefix_code(self, node: Node) -> list[str]:
        return [c for n in self.path(node) for c in n.code]

    def replay_plan(self, node: Node) -> tuple[list[str], list[str], int]:
        """(code to re-run, the outputs it printed, tool calls made) to rebuild ``node``'s sandbox session.

        A block that timed out or was killed ended its session (the next block started from an empty namespace),
        so only the blocks after the last such one matter; calls that ran nothing (``no_code``, a sandbox
        failure) are skipped. Every call still counts toward ``max_tool_calls``."""
        calls = [
            (c, o, st)
            for n in self.path(node)
            for c, o, st in zip(n.code, n.outputs, n.statuses, strict=True)
        ]
        last_kill = max((i for i, (_, _, st) in enumerate(calls) if st in SESSION_ENDING), default=-1)
        kept = [(c, o) for c, o, st in calls[last_kill + 1 :] if st not in NOT_RUN]
        return [c for c, _ in kept], [o for _, o in kept], len(calls)

    def children(self, node: Node) -> list[Node]:
        return [self.nodes[i] for i in node.children]

    def select(self, c: float) -> Node | None:
        """Descend from the root by UCT through expanded nodes to a node to expand; None when the whole tree is
        exhausted. Ties go to the earlier child (deterministic)."""
        node = self.root
        while node.expanded:
            options = [ch for ch in self.children(node) if not ch.exhausted]
            if not options:
                return None
            node = max(options, key=lambda ch: uct_score(ch, node.visits, c))
        return None if node.exhausted else node

    def backpropagate(self, node: Node, reward: float) -> None:
        """Add one evaluation to the node and every ancestor."""
        self.evaluations.append((node.id, reward))
        for n in self.path(node):
            n.visits += 1
            n.value_sum += reward

    def refresh_exhausted(self, node: Node) -> None:
        """Mark ``node`` and its ancestors exhausted when nothing below them is left to expand."""
        for n in reversed(self.path(node)):
            if n.terminal or (n.expanded and all(self.nodes[i].exhausted for i in n.children)):
                n.exhausted = True
            elif not n.exhausted:
                break

    def replay_backprop(self) -> None:
        """Recompute every node's visits and value from the recorded evaluations (the tree's Q-values are a pure
        function of its structure and its evaluations)."""
        log, self.evaluations = self.evaluations, []
        for n in self.nodes:
            n.visits, n.value_sum = 0, 0.0
        for node_id, reward in log:
            self.backpropagate(self.nodes[node_id], reward)

    def best_leaf(self) -> Node:
        """The greedy answer of the search: follow the highest-Q child (most visits on ties) from the root."""
        node = self.root
        while node.children:
            node = max(self.children(node), key=lambda ch: (ch.q, ch.visits))
        return node

    # ------------------------------------------------------------------------------------------- jsonl

    def header(self) -> dict[str, Any]:
        return {
            "kind": "tree",
            "problem_id": self.problem_id,
            "problem": self.problem,
            "answer": self.answer,
            "prompt_messages": self.prompt_messages,
            "prompt_ids": self.prompt_ids,
            "config": self.config,
            "stats": self.stats,
            "evaluations": [list(e) for e in self.evaluations],
        }

    def rows(self) -> Iterator[dict[str, Any]]:
        yield self.header()
        for node in self.nodes:
            yield {**node.to_dict(), "problem_id": self.problem_id}


def save_trees(trees: Iterable[SearchTree], path: str | Path) -> Path:
    """Write trees as jsonl (header line + node lines per tree); atomic (a crash leaves the old file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for tree in trees:
            for row in tree.rows():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def load_trees(path: str | Path) -> list[SearchTree]:
    """Read back `save_trees` output."""
    trees: list[SearchTree] = []
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["kind"] == "tree":
                tree = SearchTree(
                    problem_id=row["problem_id"],
                    problem=row["problem"],
                    answer=row["answer"],
                    prompt_messages=row["prompt_messages"],
                    prompt_ids=row["prompt_ids"],
                    nodes=[Node(id=-1, parent=None, depth=0)],  # placeholder, replaced by the node lines
                    config=row.get("config", {}),
                    stats=row.get("stats", {}),
                    evaluations=[(int(i), float(r)) for i, r in row.get("evaluations", [])],
                )
                tree.nodes = []
                trees.append(tree)
            else:
                trees[-1].nodes.append(Node.from_dict(row))
    return trees


def _model_text(step_text: str) -> str:
    """A step's text without its interpreter blocks, for nodes saved before ``step_model_text`` existed."""
    from retool_data.trace import parse_trace

    out, after_block = "", False
    for seg in parse_trace(step_text).segments:
        if seg.kind == "interpreter":  # the block with the newlines around it (`format_interpreter_block`)
            out, after_block = out.removesuffix("\n"), True
            continue
        out += seg.raw[1:] if after_block and seg.raw.startswith("\n") else seg.raw
        after_block = False
    return out
