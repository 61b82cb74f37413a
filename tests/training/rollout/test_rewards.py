"""GRPO reward functions (TRL's contract: completions + dataset columns + rollout fields as kwargs)."""

from __future__ import annotations

import pytest

from training.rollout.rewards import (
    REWARD_FUNCS,
    accuracy,
    answer_reward,
    final_answer,
    get_reward_funcs,
    make_format_penalty,
    make_tool_call_shaping,
)

GOOD = (
    "Compute.\n<code>\n```python\nprint(2 + 2)\n```\n</code>\n<interpreter>\n4\n</interpreter>\n"
    "So <answer>\\boxed{4}</answer>"
)
WRONG = GOOD.replace("\\boxed{4}", "\\boxed{5}")
NO_ANSWER = "I think about it for a long time and run out of budget"
PRINTED_ONLY = (
    "<code>\n```python\nprint('\\\\boxed{4}')\n```\n</code>\n<interpreter>\n\\boxed{4}\n</interpreter>\n"
)


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def test_answer_reward_is_plus_minus_one_on_the_final_answer():
    completions = [GOOD, WRONG, NO_ANSWER, PRINTED_ONLY, "<answer>\\boxed{\\frac{8}{2}}</answer>"]
    assert answer_reward(completions, answer=["4"] * 5) == [1.0, -1.0, -1.0, -1.0, 1.0]
    # TRL's conversational completions give the same rewards
    assert answer_reward([chat(c) for c in completions], answer=["4"] * 5) == [1.0, -1.0, -1.0, -1.0, 1.0]
    assert accuracy(completions, answer=["4"] * 5) == [1.0, 0.0, 0.0, 0.0, 1.0]


def test_an_answer_printed_by_the_interpreter_is_not_the_models_answer():
    assert final_answer(PRINTED_ONLY) is None
    assert final_answer(GOOD) == "4"


def test_answer_reward_logs_accuracy_through_trl_hook():
    logged = []
    answer_reward([GOOD, WRONG, WRONG, GOOD], answer=["4"] * 4, log_metric=lambda k, v: logged.append((k, v)))
    assert logged == [("retool/accuracy", 0.5)]


def test_a_missing_gold_answer_is_an_error_not_a_reward():
    with pytest.raises(KeyError, match="answer"):
        answer_reward([GOOD])


def test_format_penalty_flags_broken_traces_only():
    penalty = make_format_penalty(0.25)
    broken = [
        NO_ANSWER,
        "So \\boxed{4}",
        GOOD + " and more text",
        "<answer>\\boxed{4}</answer><answer>\\boxed{5}</answer>",
    ]
    assert penalty([GOOD, *broken]) == [0.0, -0.25, -0.25, -0.25, -0.25]
    assert penalty.__name__ == "format"


def test_tool_call_shaping_matches_verls_formula():
    shaping = make_tool_call_shaping()  # verl: wrong -> min(-0.6, -1 + 0.1 * calls); right -> unchanged
    calls = [0, 1, 3, 5, 2]
    completions = [WRONG, WRONG, WRONG, WRONG, GOOD]
    total = [
        a + s
        for a, s in zip(
            answer_reward(completions, answer=["4"] * 5),
            shaping(completions, answer=["4"] * 5, num_tool_calls=calls),
            strict=True,
        )
    ]
    assert total == pytest.approx([-1.0, -0.9, -0.7, -0.6, 1.0])
    with pytest.raises(KeyError, match="num_tool_calls"):
        shaping([WRONG], answer=["4"])


def test_registry_names_are_what_trl_logs():
    funcs = get_reward_funcs(["answer", "format", "tool_call_shaping"], {"format": {"penalty": 1.0}})
    assert [f.__name__ for f in funcs] == ["answer", "format", "tool_call_shaping"]
    assert funcs[1]([NO_ANSWER]) == [-1.0]
    assert set(REWARD_FUNCS) == {"answer", "accuracy", "format", "tool_call_shaping"}
    with pytest.raises(ValueError, match="unknown reward"):
        get_reward_funcs(["bleu"])
