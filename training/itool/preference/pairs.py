"""Preference pairs from search trees: fragment-level (iTool) and whole-trace (baseline).

**Fragment pairs.** For every node with at least two children, chosen = the child with the highest Q (most
visits on ties), rejected = the one with the lowest Q (fewest visits on ties). The pair's prompt is the chat
prompt plus the shared prefix (the node's trace so far); chosen and rejected are the two sibling *steps* - one
code block with its interpreter output, or the text up to a paragraph break - so the pair differs exactly in the
faulty fragment. Filters, each counted by reason (`PAIR_SKIP_REASONS`): ``too_few_children`` (fewer than two
children with ``min_visits``), ``small_q_gap`` (Q(chosen) - Q(rejected) < ``min_q_gap``), ``low_chosen_q``
(Q(chosen) < ``min_chosen_q``: the better step must itself lead to right answers more often than not),
``identical`` (the same step text).

**Whole-trace pairs** (baseline): every evaluation of the tree is a full trace (a terminal node's prefix, or a
node's prefix plus its simulation) with its ±1 reward; chosen = a right trace, rejected = a wrong one, the prompt
is the chat prompt alone. Up to ``max_trace_pairs`` per problem, shortest right traces first.

A pair is a JSON-safe dict (`PAIR_FIELDS`) recording the problem, the tree (round, problem id), the node ids,
Q-values and visits; `training.itool.preference.data` tokenizes it with interpreter blocks masked.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.itool.mcts.tree import Node, SearchTree

PAIR_SKIP_REASONS = ("too_few_children", "small_q_gap", "low_chosen_q", "identical")
PAIR_FIELDS = (
    "pair_id",
    "kind",  # "fragment" | "trace"
    "problem_id",
    "answer",
    "prompt",  # chat messages (system?, user)
    "prefix",  # the shared trace prefix (part of the prompt; "" for whole-trace pairs)
    "chosen",
    "rejected",
    "chosen_ends_turn",  # the text ends the assistant turn (EOS): the end-of-turn token is trained too
    "rejected_ends_turn",
    "chosen_q",
    "rejected_q",
    "chosen_visits",
    "rejected_visits",
    "parent_node",
    "chosen_node",
    "rejected_node",
    "depth",
    "tree",  # where the tree is: "<round>/<problem_id>"
)


@dataclass(frozen=True)
class PairConfig:
    min_q_gap: float = 0.5
    min_visits: int = 1
    min_chosen_q: float = 0.0
    whole_trace: bool = True
    max_trace_pairs: int = 1

    def __post_init__(self) -> None:
        if self.min_q_gap < 0 or self.min_visits < 1 or self.max_trace_pairs < 0:
            raise ValueError("min_q_gap must be >= 0, min_visits >= 1, max_trace_pairs >= 0")


@dataclass
class PairStats:
    fragment_pairs: int = 0
    trace_pairs: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems_with_pairs: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "fragment_pairs": self.fragment_pairs,
            "trace_pairs": self.trace_pairs,
            "skipped": dict(self.skipped),
            "problems_with_pairs": self.problems_with_pairs,
        }


def _pair_id(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _base(tree: SearchTree, tag: str) -> dict[str, Any]:
    return {
        "problem_id": tree.problem_id,
        "answer": tree.answer,
        "prompt": [dict(m) for m in tree.prompt_messages],
        "tree": f"{tag}/{tree.problem_id}" if tag else tree.problem_id,
    }


def fragment_pairs(
    tree: SearchTree, config: PairConfig, tag: str = "", skipped: Counter | None = None
) -> list[dict]:
    """Sibling-step pairs of one tree (see the module docstring); skip reasons are added to ``skipped``."""
    skipped = skipped if skipped is not None else Counter()
    pairs = []
    for node in tree.nodes:
        if len(node.children) < 2:
            continue
        kids = [c for c in tree.children(node) if c.visits >= config.min_visits]
        if len(kids) < 2:
            skipped["too_few_children"] += 1
            continue
        chosen = max(kids, key=lambda c: (c.q, c.visits, -c.id))
        rejected = min((c for c in kids if c is not chosen), key=lambda c: (c.q, c.visits, c.id))
        if chosen.q - rejected.q < config.min_q_gap:
            skipped["small_q_gap"] += 1
        elif chosen.q < config.min_chosen_q:
            skipped["low_chosen_q"] += 1
        elif chosen.step_text == rejected.step_text:
            skipped["identical"] += 1
        else:
            pairs.append(_fragment(tree, node, chosen, rejected, tag))
    return pairs


def _fragment(tree: SearchTree, parent: Node, chosen: Node, rejected: Node, tag: str) -> dict[str, Any]:
    return {
        "pair_id": _pair_id(tag, tree.problem_id, "fragment", parent.id, chosen.id, rejected.id),
        "kind": "fragment",
        **_base(tree, tag),
        "prefix": tree.prefix_text(parent),
        "chosen": chosen.step_text,
        "rejected": rejected.step_text,
        "chosen_ends_turn": chosen.end == "eos",
        "rejected_ends_turn": rejected.end == "eos",
        "chosen_q": chosen.q,
        "rejected_q": rejected.q,
        "chosen_visits": chosen.visits,
        "rejected_visits": rejected.visits,
        "parent_node": parent.id,
        "chosen_node": chosen.id,
        "rejected_node": rejected.id,
        "depth": parent.depth,
    }


def trajectories(tree: SearchTree) -> list[tuple[Node, str, bool, float]]:
    """Every evaluated full trace: (node, text, ends the turn, reward), in evaluation order."""
    out = []
    for node in tree.nodes:
        if node.reward is None:
            continue
        if node.simulation_text is None:
            out.append((node, tree.prefix_text(node), node.end == "eos", node.reward))
        else:
            text = tree.prefix_text(node) + node.simulation_text
            out.append((node, text, node.simulation_end == "eos", node.reward))
    return out


def trace_pairs(tree: SearchTree, config: PairConfig, tag: str = "") -> list[dict]:
    """Whole-trace baseline pairs: right traces (shortest first) against wrong ones (in evaluation order)."""
    runs = trajectories(tree)
    right = sorted({t[1]: t for t in runs if t[3] > 0}.values(), key=lambda t: (len(t[1]), t[0].id))
    wrong = list({t[1]: t for t in runs if t[3] <= 0 and t[1] not in {r[1] for r in right}}.values())
    pairs = []
    matched = list(zip(right, wrong, strict=False))[: config.max_trace_pairs]
    for (good, good_text, good_eot, _), (bad, bad_text, bad_eot, _) in matched:
        pairs.append(
            {
                "pair_id": _pair_id(tag, tree.problem_id, "trace", good.id, bad.id),
                "kind": "trace",
                **_base(tree, tag),
                "prefix": "",
                "chosen": good_text,
                "rejected": bad_text,
                "chosen_ends_turn": good_eot,
                "rejected_ends_turn": bad_eot,
                "chosen_q": 1.0,
                "rejected_q": -1.0,
                "chosen_visits": 1,
                "rejected_visits": 1,
                "parent_node": 0,
                "chosen_node": good.id,
                "rejected_node": bad.id,
                "depth": 0,
            }
        )
    return pairs


def build_pairs(
    trees: Iterable[SearchTree], config: PairConfig, tag: str = ""
) -> tuple[list[dict], PairStats]:
    """Fragment pairs (and whole-trace pairs if ``config.whole_trace``) of every tree, with counts."""
    stats, skipped, pairs = PairStats(), Counter(), []
    for tree in trees:
        frag = fragment_pairs(tree, config, tag, skipped)
        whole = trace_pairs(tree, config, tag) if config.whole_trace else []
        stats.fragment_pairs += len(frag)
        stats.trace_pairs += len(whole)
        stats.problems_with_pairs += bool(frag or whole)
        pairs.extend(frag + whole)
    stats.skipped = {r: skipped[r] for r in PAIR_SKIP_REASONS if skipped[r]}
    return pairs, stats


def save_pairs(pairs: Iterable[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for pair in pairs:
            f.write(json.dumps({k: pair[k] for k in PAIR_FIELDS}, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def load_pairs(path: str | Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
