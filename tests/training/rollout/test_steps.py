"""The rollout's step mode (MCTS expansion) and prefix starts (replayed sandbox sessions)."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from tests.training.itool_script import code, interpreter
from tests.training.scripted_backend import ScriptedBackend, chat_prompt
from training.rollout.loop import PARAGRAPH_STOP, RolloutConfig, RolloutStart, run_rollouts

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout_s=5.0) as box:
        yield box


def step_rollout(tok, sb, script, completion="", start=None, **config):
    _, prompt = chat_prompt(tok, "Q?")
    prompt = prompt + tok.encode(completion, add_special_tokens=False)
    cfg = RolloutConfig(
        **{"max_completion_tokens": 400, "step_stops": (PARAGRAPH_STOP,), "max_steps": 1, **config}
    )
    starts = None if start is None else [start]
    return run_rollouts(ScriptedBackend(tok, script), sb, tok, [prompt], cfg, starts=starts).results[0]


def test_a_blank_line_ends_a_step_outside_code_but_not_inside_it_or_before_text(tiny_tokenizer, sb):
    block = code("a = 2\n\nprint(a * 21)")  # a blank line inside the code: not a step boundary
    text = (
        "\n\nFirst a paragraph.\n\nThen code.\n" + block + interpreter("42") + "Done.\n\n<answer>42</answer>"
    )
    script = {"": [text]}
    first = step_rollout(tiny_tokenizer, sb, script)
    assert first.text == "\n\nFirst a paragraph.\n\n"  # the leading blank line had no text before it
    assert (first.end, first.steps, first.num_tool_calls) == ("step", 1, 0)
    second = step_rollout(tiny_tokenizer, sb, script, completion=first.text)
    assert second.text == "Then code.\n" + block + interpreter("42")
    assert (second.end, second.steps, [c.output for c in second.tool_calls]) == ("step", 1, ["42\n"])
    assert [s.kind for s in second.spans] == ["model", "model", "interpreter"]  # two turns, then the block
    whole = step_rollout(tiny_tokenizer, sb, script, max_steps=None)
    assert whole.text == text and whole.end == "eos" and whole.steps == 3


def test_start_replays_prefix_code_and_counts_its_budget(tiny_tokenizer, sb):
    prefix = "Set it.\n" + code("secret = 6 * 7\nprint(secret)") + interpreter("42")
    rest = "Use it.\n" + code("print(secret + 1)") + interpreter("43") + "<answer>43</answer>"
    script = {"": [prefix + rest]}
    start = RolloutStart(replay=("secret = 6 * 7\nprint(secret)",), tool_calls=1, completion_tokens=10)
    r = step_rollout(tiny_tokenizer, sb, script, completion=prefix, start=start, max_steps=None)
    assert [(c.status, c.output) for c in r.replay] == [("ok", "42\n")]
    assert [c.output for c in r.tool_calls] == ["43\n"] and r.end == "eos"
    # without the replay the session is empty: the block fails, and the scripted policy goes off script
    bare = step_rollout(
        tiny_tokenizer,
        sb,
        {"": [prefix + rest, prefix + "x"]},
        completion=prefix,
        start=RolloutStart(),
        max_steps=1,
    )
    assert "NameError" in bare.tool_calls[0].output
    # the prefix's calls count toward max_tool_calls, its tokens toward the budget
    capped = step_rollout(
        tiny_tokenizer,
        sb,
        script,
        completion=prefix,
        max_steps=None,
        max_tool_calls=1,
        start=RolloutStart(replay=start.replay, tool_calls=1),
    )
    assert capped.end == "max_tool_calls" and capped.num_tool_calls == 0
    spent = step_rollout(
        tiny_tokenizer, sb, script, completion=prefix, start=RolloutStart(completion_tokens=400)
    )
    assert spent.end == "length" and spent.completion_ids == []
    short = step_rollout(
        tiny_tokenizer,
        sb,
        script,
        completion=prefix,
        start=RolloutStart(completion_tokens=395),
        max_steps=None,
    )
    assert len(short.completion_ids) == 5 and short.end == "length"
