"""The judge prompt and the strict parser for its JSON verdict."""

from __future__ import annotations

import pytest

from retool_data.llm.judge import JUDGE_TEMPLATE, JudgeVerdict, judge_request, parse_judge_reply


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"correct": true, "reason": "same value"}', JudgeVerdict(True, "same value")),
        (
            '<think>\nIs {1,2} equal to {2,1}? yes\n</think>\n{"correct": true, "reason": "sets"}',
            JudgeVerdict(True, "sets"),
        ),
        (
            'Reasoning... the answers differ.\n```json\n{"correct": false, "reason": "3 != 4"}\n```',
            JudgeVerdict(False, "3 != 4"),
        ),
        (
            'first {"correct": true, "reason": "a"} then I changed my mind {"correct": false, "reason": "b"}',
            JudgeVerdict(False, "b"),
        ),
        ('{"reason": "  spaces  ", "correct": false, "confidence": 0.9}', JudgeVerdict(False, "spaces")),
    ],
)
def test_valid_verdicts(reply, expected):
    assert parse_judge_reply(reply) == expected


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "empty reply"),
        ("I think it is correct.", "no JSON object"),
        ('{"correct": "true", "reason": "x"}', "JSON boolean"),
        ('{"correct": 1, "reason": "x"}', "JSON boolean"),
        ('{"correct": true}', "'reason' must be a string"),
        ('{"correct": true, "reason": "unterminated', "no JSON object"),
        ('<think>{"correct": true, "reason": "only inside think"}</think> no verdict', "no JSON object"),
    ],
)
def test_malformed_verdicts_say_why(reply, why):
    result = parse_judge_reply(reply)
    assert isinstance(result, str) and why in result


def test_judge_request_carries_template_attempt_and_the_row():
    row = {
        "id": "r1",
        "problem": "Find x.",
        "solution": "So \\boxed{5}.",
        "gold_answer": "5",
        "gold_solution": None,
    }
    req = judge_request(row, attempt=2)
    prompt = req.messages[0]["content"]
    assert req.template == JUDGE_TEMPLATE.id and req.attempt == 2 and req.tag == "r1"
    assert "Find x." in prompt and "So \\boxed{5}." in prompt and "(none given)" in prompt
    assert prompt.rstrip().endswith('{"correct": true or false, "reason": "one short sentence"}')


def test_long_candidates_keep_their_end():
    row = {"problem": "p", "reasoning": "x" * 20000 + " the answer is \\boxed{7}", "gold_answer": "7"}
    prompt = judge_request(row).messages[0]["content"]
    assert "\\boxed{7}" in prompt and len(prompt) < 10000
