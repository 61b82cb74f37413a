"""Fragment-level and whole-trace preference pairs from a searched tree (scripted policy, real sandbox)."""

from __future__ import annotations

import os

import pytest

from retool_data.trace import parse_trace
from sandbox import Sandbox
from tests.training import itool_script as S
from tests.training.scripted_backend import ScriptedBackend, chat_prompt
from training.itool.mcts.search import MCTSConfig, SearchProblem, run_mcts
from training.itool.mcts.tree import load_trees, save_trees
from training.itool.preference.pairs import PairConfig, build_pairs, load_pairs, save_pairs

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def tree(tiny_tokenizer):
    messages, ids = chat_prompt(tiny_tokenizer, S.PROBLEM)
    problem = SearchProblem("p-12x7", S.PROBLEM, S.GOLD, messages, ids)
    with Sandbox(workers=2, timeout_s=5.0) as sb:
        result = run_mcts(ScriptedBackend(tiny_tokenizer, S.SCRIPT), sb, tiny_tokenizer, [problem],
                          MCTSConfig(iterations=10, children=2))  # fmt: skip
    return result.trees[0]


def test_fragment_pairs_isolate_the_faulty_step(tree):
    pairs, stats = build_pairs([tree], PairConfig(whole_trace=False), tag="round-0")
    frag = {p["parent_node"]: p for p in pairs}
    assert sorted(frag) == [0, 1, 2] and stats.fragment_pairs == 3 and stats.trace_pairs == 0
    root = frag[0]
    assert (root["prefix"], root["chosen"], root["rejected"]) == ("", S.R1, S.W1)
    assert (root["chosen_node"], root["rejected_node"]) == (1, 2)
    assert (root["chosen_q"], root["rejected_q"]) == pytest.approx((0.5, -1 / 3))
    assert (root["chosen_visits"], root["rejected_visits"]) == (4, 3)
    assert root["tree"] == "round-0/p-12x7" and root["prompt"] == tree.prompt_messages
    # the two steps share everything but the faulty fragment: one operator in the code (and its output)
    a, b = root["chosen"], root["rejected"]
    head = len(os.path.commonprefix([a, b]))
    tail = len(os.path.commonprefix([a[::-1], b[::-1]]))
    assert (a[head : len(a) - tail], b[head : len(b) - tail]) == (
        "+ 1)\n```\n</code>\n<interpreter>\n85",
        "- 1)\n```\n</code>\n<interpreter>\n83",
    )
    assert [c.code for c in parse_trace(a).tool_calls] == ["x = 12 * 7\nprint(x + 1)"]
    assert [c.code for c in parse_trace(b).tool_calls] == ["x = 12 * 7\nprint(x - 1)"]
    # deeper pairs: the prefix is the shared path
    assert (frag[1]["prefix"], frag[1]["chosen"], frag[1]["rejected"]) == (S.R1, S.R2A, S.W2)
    assert (frag[2]["prefix"], frag[2]["chosen"], frag[2]["rejected"]) == (S.W1, S.FIX, S.W3)
    assert frag[2]["chosen_ends_turn"] and frag[2]["rejected_ends_turn"] and not frag[1]["chosen_ends_turn"]


@pytest.mark.parametrize(
    ("config", "parents", "skipped"),
    [
        (PairConfig(min_q_gap=1.0, whole_trace=False), [1, 2], {"small_q_gap": 1}),
        (PairConfig(min_visits=2, whole_trace=False), [0], {"too_few_children": 2}),
        (PairConfig(min_chosen_q=0.75, whole_trace=False), [1, 2], {"low_chosen_q": 1}),
    ],
)
def test_filters_are_counted(tree, config, parents, skipped):
    pairs, stats = build_pairs([tree], config)
    assert sorted(p["parent_node"] for p in pairs) == parents
    assert stats.skipped == skipped


def test_whole_trace_pairs_and_file_roundtrip(tree, tmp_path):
    pairs, stats = build_pairs([tree], PairConfig(max_trace_pairs=2))
    whole = [p for p in pairs if p["kind"] == "trace"]
    assert stats.trace_pairs == 2 and len(whole) == 2
    # right traces, shortest first: c7's self-correction and c5's; wrong ones in evaluation order: c2's, c4's
    assert [p["chosen"] for p in whole] == [S.W1 + S.FIX, S.R1 + S.R2A + S.R3]
    assert [p["rejected"] for p in whole] == [S.W1 + S.W3, S.R1 + S.W2]
    assert all(p["prefix"] == "" and p["chosen_ends_turn"] for p in whole)
    path = save_pairs(pairs, tmp_path / "pairs.jsonl")
    assert load_pairs(path) == pairs
    # pairs rebuilt from the saved tree are the same pairs
    (loaded,) = load_trees(save_trees([tree], tmp_path / "trees.jsonl"))
    assert build_pairs([loaded], PairConfig(max_trace_pairs=2))[0] == pairs


def test_equal_q_siblings_pair_only_when_the_gap_filter_allows_it(tiny_tokenizer):
    guess = "Let me guess.\n<answer>\\boxed{1}</answer>"
    messages, ids = chat_prompt(tiny_tokenizer, S.PROBLEM)
    problem = SearchProblem("p", S.PROBLEM, S.GOLD, messages, ids)
    with Sandbox(workers=1, timeout_s=5.0) as sb:
        backend = ScriptedBackend(tiny_tokenizer, {"": [S.W1 + S.W3, guess], S.W1: [S.W3]})
        (tree,) = run_mcts(backend, sb, tiny_tokenizer, [problem], MCTSConfig(iterations=1, children=2)).trees
    assert [c.q for c in tree.children(tree.root)] == [-1.0, -1.0]
    pairs, stats = build_pairs([tree], PairConfig(whole_trace=False))
    assert pairs == [] and stats.skipped == {"small_q_gap": 1}
    pairs, _ = build_pairs([tree], PairConfig(min_q_gap=0.0, min_chosen_q=-1.0, whole_trace=False))
    (pair,) = pairs
    assert {pair["chosen"], pair["rejected"]} == {S.W1, guess}
