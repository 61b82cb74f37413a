"""MCTS over call steps with the shared iTool core: a scripted policy (the fake at the generation edge) writes a
right and a wrong call; the search, its step rewards, the fragment pair and the mining pass rates are real."""

from __future__ import annotations

import json

from retool_data.sources.toolace import read_toolace
from tests.training.scripted_backend import ScriptedBackend
from training.itool.envs.function_calling import FunctionCallEnv, judge, load_fc_problems, mine_fc
from training.itool.envs.tool_calls import render_call
from training.itool.mcts.search import MCTSConfig, run_mcts
from training.itool.preference.pairs import PairConfig, build_pairs

ROME = render_call({"name": "Get Weather", "arguments": {"city": "Rome"}})
OSLO = render_call({"name": "Get Weather", "arguments": {"city": "Oslo"}})
ROMA = render_call({"name": "Get Weather", "arguments": {"city": "Roma"}})  # the erroneous argument


def parallel_problem(tokenizer):
    examples = [
        e for e in read_toolace().examples if e.messages[0]["content"] == "Weather in Rome and in Oslo?"
    ]
    (problem,) = load_fc_problems(examples, tokenizer)
    return problem


def test_problems_cover_call_turns_and_refusals_in_dialog_order(smollm2_tokenizer):
    examples = read_toolace().examples
    problems = load_fc_problems(examples, smollm2_tokenizer)
    call_turns = sum(bool(m.get("tool_calls")) for e in examples for m in e.messages)
    refusals = sum(1 for e in examples for i, m in enumerate(e.messages)
                   if m["role"] == "assistant" and not m.get("tool_calls") and e.messages[i - 1]["role"] == "user")  # fmt: skip
    assert len(problems) == call_turns + refusals
    first = problems[0]
    assert first.problem_id == f"{examples[0].id}#1"
    assert (
        first.prompt_messages[0]["content"].startswith("You are an expert")
        and "<tools>" in first.prompt_messages[0]["content"]
    )
    rendered = smollm2_tokenizer.apply_chat_template(
        first.prompt_messages, add_generation_prompt=True, tokenize=False
    )
    assert smollm2_tokenizer.decode(first.prompt_ids, skip_special_tokens=False) == rendered
    refusal = next(p for p in problems if json.loads(p.answer)["calls"] == [])
    assert judge("No function fits.", refusal.answer)[0] == 1.0 and judge(ROME, refusal.answer)[0] == -1.0
    # a later turn of a multi-turn dialog sees the earlier call and its tool result
    later = next(p for p in problems if p.problem_id.endswith("#5"))
    assert any("<tool_response>" in m["content"] for m in later.prompt_messages)


def test_mcts_over_call_steps_finds_the_right_calls_and_pairs_isolate_the_wrong_argument(smollm2_tokenizer):
    problem = parallel_problem(smollm2_tokenizer)
    backend = ScriptedBackend(smollm2_tokenizer, {"": [f"{ROME}\n{OSLO}", ROMA]})
    config = MCTSConfig(iterations=2, children=2, max_depth=3, max_nodes=16, max_completion_tokens=200,
                        max_step_tokens=60)  # fmt: skip
    result = run_mcts(backend, None, smollm2_tokenizer, [problem], config, env=FunctionCallEnv())
    (tree,) = result.trees
    root, right, wrong = tree.nodes[:3]
    assert right.step_text == ROME and right.end == "step" and wrong.step_text == ROMA
    # the wrong call is judged at once (no simulation), the right one by a simulation that adds Oslo
    assert wrong.reward == -1.0 and wrong.simulation_text is None and wrong.exhausted
    assert right.simulation_text == f"\n{OSLO}" and right.reward == 1.0
    second = tree.nodes[3]  # iteration 2 expands below the right call; both samples are the same -> merged
    assert second.parent == right.id and second.step_text == f"\n{OSLO}" and second.duplicates == 1
    assert (root.visits, root.value_sum) == (3, 1.0) and right.q == 1.0 and wrong.q == -1.0
    assert tree.stats["simulations"] == 2

    pairs, stats = build_pairs([tree], PairConfig(min_q_gap=0.5), tag="round-0")
    (pair,) = [p for p in pairs if p["kind"] == "fragment"]
    assert (pair["chosen"], pair["rejected"], pair["prefix"]) == (ROME, ROMA, "")
    assert pair["chosen"].replace("Rome", "Roma") == pair["rejected"]  # differs only in the wrong argument
    assert pair["prompt"] == problem.prompt_messages


def test_mining_pass_rates_follow_the_verifier(smollm2_tokenizer):
    problem = parallel_problem(smollm2_tokenizer)
    backend = ScriptedBackend(
        smollm2_tokenizer, {"": [f"{ROME}\n{OSLO}", ROMA, f"{OSLO}\n{ROME}", "<tool_call>{bad"]}
    )
    result = mine_fc(backend, [problem], samples=4, max_completion_tokens=200, threshold=0.75)
    (stats,) = result.stats
    assert (stats.correct, stats.pass_rate, stats.deficient, stats.code_errors) == (2, 0.5, True, 1)
    assert result.deficient_ids == [problem.problem_id]
