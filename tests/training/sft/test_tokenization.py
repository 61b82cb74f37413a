"""The SFT mask is token-exact: trained tokens decode to exactly what the model writes, masked ones to exactly
the prompt and the interpreter blocks the rollout appends - for adversarial boundaries and two real tokenizers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retool_data.trace import format_interpreter_block, parse_trace
from tests.training.traces import CASES, Case, prompt_messages
from training.sft.tokenization import split_trace, tokenize_spans, truncate_spans
from training.sft.train import TraceMaskError, tokenize_trace

EOT = "<|im_end|>"  # both test tokenizers use ChatML


def _decode(tokenizer, ids) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _check_case(tokenizer, case: Case, marked_outputs: bool = True) -> None:
    prompt = prompt_messages()
    out = tokenize_trace(tokenizer, prompt, case.trace)
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert set(out) == {"input_ids", "assistant_masks"}
    assert len(ids) == len(mask) and set(mask) <= {0, 1}

    prompt_ids = list(
        tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_dict=True)["input_ids"]
    )
    assert ids[: len(prompt_ids)] == prompt_ids and not any(mask[: len(prompt_ids)])

    trained = _decode(tokenizer, [i for i, m in zip(ids, mask, strict=True) if m])
    assert trained == case.trained_text + EOT
    for code in parse_trace(case.trace).code_blocks:
        assert code in trained
    assert trained.count("<code>") == trained.count("</code>") == len(parse_trace(case.trace).code_blocks)
    assert "<interpreter>" not in trained and "</interpreter>" not in trained
    if marked_outputs:  # hand-written outputs carry markers that appear nowhere in the model's text
        for output in case.outputs:
            if output.strip():
                assert output not in trained

    # Runs of equal weight after the prompt are, in order, exactly the expected model spans and env blocks.
    body = list(zip(ids[len(prompt_ids) :], mask[len(prompt_ids) :], strict=True))
    runs = [
        (w, _decode(tokenizer, [i for i, _ in grp])) for w, grp in itertools.groupby(body, key=lambda t: t[1])
    ]
    expected = [
        (1 if owner == "model" else 0, text if owner == "model" else format_interpreter_block(text))
        for owner, text in case.spans
    ]
    expected[-1] = (1, expected[-1][1] + EOT) if expected[-1][0] == 1 else expected[-1]
    if expected[-1][0] == 0:
        expected.append((1, EOT))
    assert runs == expected


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trained_tokens_are_exactly_what_the_model_writes(any_tokenizer, case):
    _check_case(any_tokenizer, case)


def test_joint_tokenization_would_merge_across_the_boundary(smollm2_tokenizer):
    # Why spans are tokenized separately: SmolLM2's BPE has a token "><" spanning `</code><interpreter>`, so no
    # per-token mask of a jointly tokenized trace can be exact there. Ours puts a token boundary at every span edge.
    joint = [
        smollm2_tokenizer.decode([i])
        for i in smollm2_tokenizer.encode("</code><interpreter>x", add_special_tokens=False)
    ]
    assert "><" in joint
    case = next(c for c in CASES if c.name == "no_newlines_at_boundaries")
    spans = tokenize_spans(smollm2_tokenizer, prompt_messages(), case.trace)
    assert [s.owner for s in spans] == ["prompt", "model", "env", "model", "end_of_turn"]
    assert all(_decode(smollm2_tokenizer, s.token_ids) == s.text for s in spans[1:])


def test_env_spans_are_the_rollouts_interpreter_block():
    for case in CASES:
        env = [text for owner, text in split_trace(case.trace) if owner == "env"]
        assert env == [format_interpreter_block(o) for o in case.outputs]


@pytest.mark.parametrize(
    ("trace", "code"),
    [
        (
            "no code\n<interpreter>\n1\n</interpreter>\n<answer>\\boxed{1}</answer>",
            "interpreter_without_code",
        ),
        (
            "x\n<code>\nprint(1)\n</code>\nOutput:\n<interpreter>\n1\n</interpreter>",
            "text_between_code_and_interpreter",
        ),
        ("x\n<code>\nprint(1)\n</code>\n<interpreter>\n1\n", "unclosed_block"),
        ("x\n<code>\n```python\nprint(1)\n", "unclosed_block"),
        ("early stop <|im_end|> then more <answer>\\boxed{1}</answer>", "special_token_in_trace"),
        (
            "x\n<code>\nprint(1)\n</code>\n<interpreter>\n1\n</interpreter>\n<interpreter>\n1\n</interpreter>",
            "interpreter_without_code",
        ),
    ],
)
def test_traces_whose_mask_cannot_be_exact_raise_with_a_code(tiny_tokenizer, trace, code):
    with pytest.raises(TraceMaskError) as err:
        tokenize_trace(tiny_tokenizer, prompt_messages(), trace)
    assert err.value.code == code


def test_truncation_ends_at_a_tool_call_and_never_inside_a_span(tiny_tokenizer):
    trace = (
        "".join(f"Step {i}.\n{CODE(i)}\n<interpreter>\nR{i}\n</interpreter>\n" for i in range(4))
        + "<answer>\\boxed{3}</answer>"
    )
    spans = tokenize_spans(tiny_tokenizer, prompt_messages(), trace)
    lengths = [len(s.token_ids) for s in spans]
    # room for the prompt and the first two tool calls' model spans + first env block, not the second env block
    budget = sum(lengths[:4]) + lengths[4] - 1
    cut = truncate_spans(spans, budget)
    assert cut is not None and [s.owner for s in cut] == ["prompt", "model", "env", "model"]
    assert _decode(tiny_tokenizer, cut[-1].token_ids).endswith("</code>")
    assert truncate_spans(spans, lengths[0] + lengths[1] - 1) is None  # first tool call does not fit: drop


def CODE(i: int) -> str:
    return f"<code>\n```python\nprint('R{i}')\n```\n</code>"


# ------------------------------------------------------------------------------------------ property test

_TEXT = st.text(alphabet="ab é中🚀\n\t<>/=+`{}\\", max_size=12)
_OUT = st.text(alphabet="xy 1é\n<>/", max_size=10)


@st.composite
def _traces(draw):
    """(trace, expected spans) with random text, outputs and whitespace around the interpreter blocks."""
    head = draw(_TEXT)
    trace, spans, model = head, [], head
    for _ in range(draw(st.integers(0, 3))):
        code = draw(st.text(alphabet="print(1)+ \né", min_size=1, max_size=12)).strip() or "1"
        block = f"<code>\n```python\n{code}\n```\n</code>"
        before = draw(st.sampled_from(["", "\n", "\n\n", " \n"]))
        after = draw(st.sampled_from(["", "\n", "\n\n", " "]))
        out = draw(_OUT).strip("\n")
        tail = draw(_TEXT)
        trace += block + before + f"<interpreter>\n{out}\n</interpreter>" + after + tail
        spans += [("model", model + block), ("env", out)]
        rest = after + tail  # one newline right after </interpreter> belongs to the environment block
        model = rest.removeprefix("\n")
    trace += "<answer>\\boxed{1}</answer>"
    spans.append(("model", model + "<answer>\\boxed{1}</answer>"))
    return trace, [(o, t) for o, t in spans if o == "env" or t]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_traces())
def test_random_traces_mask_exactly(any_tokenizer, data):
    trace, spans = data
    _check_case(any_tokenizer, Case("random", trace, tuple(spans)), marked_outputs=False)
