"""Hermes tool calls: rendering, robust parsing, the verifier (typed, order-insensitive) and the step reward."""

from __future__ import annotations

import pytest

from training.itool.envs.tool_calls import (
    gold_from_calls,
    parse_tool_calls,
    render_calls,
    render_messages,
    step_reward,
    verify_calls,
)

TOOLS = [
    {"name": "w", "parameters": {"type": "object", "required": ["city"],
                                 "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                                "temp": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}}}},
    {"name": "s", "parameters": {"type": "object", "required": ["sym"], "properties": {"sym": {"type": "string"}}}},
]  # fmt: skip


def test_rendered_calls_parse_back_exactly():
    calls = [
        {"name": "w", "arguments": {"city": "Paris", "days": 2}},
        {"name": "s", "arguments": {"sym": "X"}},
    ]
    text = render_calls(calls)
    assert text.count("<tool_call>\n{") == 2
    parsed = parse_tool_calls("Sure.\n" + text)
    assert parsed.calls == calls and parsed.errors == [] and parsed.content == "Sure."


def test_a_closing_tag_inside_an_argument_survives_the_round_trip():
    call = {"name": "w", "arguments": {"city": "a </tool_call> b"}}
    assert parse_tool_calls(render_calls([call, call])).calls == [call, call]


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>\n{"name": "w", "arguments": {"city": "Paris"}}\n</tool_call>',
        '<tool_call>{"name": "w", "arguments": {"city": "Paris"}}',  # no closing tag at the end
        '<tool_call>\n```json\n{"name": "w", "arguments": {"city": "Paris"}}\n```\n</tool_call>',
        "<tool_call>{'name': 'w', 'arguments': {'city': 'Paris'}}</tool_call>",  # Python literal
        '<tool_call>{"name": "w", "arguments": "{\\"city\\": \\"Paris\\"}"}</tool_call>',  # arguments as a string
        '<tool_call>{"name": "w", "parameters": {"city": "Paris"}}</tool_call>',
        '<tool_call>{"name": "w", "arguments": {"city": "Paris"}}}</tool_call>',  # trailing junk
    ],
)
def test_parser_reads_what_models_emit(text):
    assert parse_tool_calls(text).calls == [{"name": "w", "arguments": {"city": "Paris"}}]


def test_unreadable_call_is_an_error_not_no_call():
    parsed = parse_tool_calls('<tool_call>{"name": w}</tool_call>')
    assert parsed.calls == [] and len(parsed.errors) == 1 and parsed.has_calls
    assert verify_calls(parsed.calls, [], TOOLS, parse_errors=1).valid is False


GOLD = gold_from_calls([{"name": "w", "arguments": {"city": "Paris", "days": 2}},
                        {"name": "w", "arguments": {"city": "Rome", "days": 3}}])  # fmt: skip


@pytest.mark.parametrize(
    ("pred", "valid", "error"),
    [
        ([("Rome", 3), ("Paris", 2)], True, None),  # order-insensitive
        ([("paris", 2), ("Rome", 3)], True, None),  # BFCL's string normalisation
        ([("Paris", 2.0), ("Rome", 3)], False, "wrong_type:days"),  # integer must be an int
        ([("Paris", 2), ("Rome", 4)], False, "wrong_value:days"),
        ([("Paris", 2)], False, "wrong_count"),
        ([("Paris", 2), ("Paris", 2)], False, "wrong_value:city"),  # each gold call used once
    ],
)
def test_verifier_compares_names_and_typed_arguments(pred, valid, error):
    calls = [{"name": "w", "arguments": {"city": c, "days": d}} for c, d in pred]
    verdict = verify_calls(calls, GOLD, TOOLS)
    assert verdict.valid is valid
    if error == "wrong_value:city":
        assert verdict.matched == 1
    elif error:
        assert verdict.error == error


def test_verifier_numbers_missing_and_extra_arguments_and_irrelevance():
    gold = [{"name": "w", "arguments": {"city": ["Oslo"], "temp": [3.0], "days": ["", 1]}}]
    assert verify_calls(
        [{"name": "w", "arguments": {"city": "Oslo", "temp": 3}}], gold, TOOLS
    ).valid  # int ok for number
    assert (
        verify_calls([{"name": "w", "arguments": {"city": "Oslo"}}], gold, TOOLS).error
        == "missing_argument:temp"
    )
    assert (
        verify_calls([{"name": "w", "arguments": {"temp": 3.0}}], gold, TOOLS).error
        == "missing_required:city"
    )
    extra = {"name": "w", "arguments": {"city": "Oslo", "temp": 3.0, "tags": ["a"]}}
    assert verify_calls([extra], gold, TOOLS).error == "unexpected_argument:tags"
    assert verify_calls([{"name": "s", "arguments": {"sym": "X"}}], gold, TOOLS).error == "wrong_function"
    assert verify_calls([], [], TOOLS).valid and not verify_calls([extra], [], TOOLS).valid


def test_step_reward_fails_a_prefix_at_its_first_wrong_call():
    right, wrong = (
        {"name": "w", "arguments": {"city": "Rome", "days": 3}},
        {"name": "w", "arguments": {"city": "X"}},
    )
    assert step_reward([], GOLD, TOOLS) is None
    assert step_reward([right], GOLD, TOOLS) is None  # may still end right
    assert step_reward([right, wrong], GOLD, TOOLS) == -1.0
    assert step_reward([right, right], GOLD, TOOLS) == -1.0  # the same gold call twice
    assert step_reward([right], [], TOOLS) == -1.0  # a call when none fits


def test_render_messages_is_hermes_text_for_any_chat_template():
    msgs = [{"role": "user", "content": "Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{"name": "w", "arguments": {"city": "Paris"}}]},
            {"role": "tool", "content": [{"name": "w", "results": {"t": 1}}]},
            {"role": "assistant", "content": "1 degree"}]  # fmt: skip
    out = render_messages("Be brief.", TOOLS, msgs)
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user", "assistant"]
    assert out[0]["content"].startswith("Be brief.\n\n# Tools") and '"name": "s"' in out[0]["content"]
    assert out[2]["content"] == '<tool_call>\n{"name": "w", "arguments": {"city": "Paris"}}\n</tool_call>'
    assert out[3]["content"].startswith("<tool_response>\n") and out[3]["content"].endswith(
        "</tool_response>"
    )
