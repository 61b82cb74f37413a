"""SFT on Hermes rows (`tool_protocol="hermes"`): assistant turns trained, `tool` turns masked, token-exact."""

from __future__ import annotations

import json

from datasets import Dataset

from retool_data.tool_protocol import hermes_messages, tools_json
from tests.retool_data.frames import trace
from training.sft.data import prepare_sft_dataset
from training.sft.tokenization import flatten_spans, truncate_spans
from training.sft.turns import tokenize_conversation

TRACE = trace(
    ("code", "import math\nprint(math.comb(10, 3))"),
    ("out", "ENVOUT 120"),
    ("code", "print(120 * 2)"),
    ("out", "ENVOUT 240"),
    answer="240",
)
MESSAGES = hermes_messages("Twice C(10, 3)?", TRACE)


def _decode(tok, ids) -> str:  # noqa: ANN001
    return tok.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def test_tool_turns_are_masked_and_assistant_turns_trained(any_tokenizer) -> None:  # noqa: ANN001
    tok = any_tokenizer
    spans = tokenize_conversation(tok, MESSAGES, tools_json())
    full = tok.apply_chat_template(MESSAGES, tools=json.loads(tools_json()), tokenize=False)
    # the pieces are exactly the whole chat as the template renders it (less what follows the final end-of-turn)
    decoded = _decode(tok, [i for s in spans for i in s.token_ids])
    assert full.startswith(decoded) and full[len(decoded) :] in ("", "\n")
    trained = "".join(s.text for s in spans if s.weight == 1)
    masked = "".join(s.text for s in spans[1:] if s.weight == 0)
    assistant = [m["content"] for m in MESSAGES if m["role"] == "assistant"]
    for content in assistant:
        assert content in trained  # reasoning, <tool_call> JSON and the boxed answer
    for output in ("ENVOUT 120", "ENVOUT 240"):
        assert output in masked and output not in trained
    eot = [s for s in spans if s.owner == "end_of_turn"]
    assert len(eot) == len(assistant)  # the model learns to stop after each tool call and at the end
    flat = flatten_spans(spans)
    assert len(flat["input_ids"]) == len(flat["assistant_masks"]) and 0 in flat["assistant_masks"]


def test_truncation_stops_where_the_rollout_pauses(tiny_tokenizer) -> None:  # noqa: ANN001
    spans = tokenize_conversation(tiny_tokenizer, MESSAGES, tools_json())
    total = sum(len(s.token_ids) for s in spans)
    cut = truncate_spans(spans, total - 1)
    assert cut is not None and cut[-1].owner == "end_of_turn"
    assert "<tool_call>" in cut[-2].text and "ENVOUT 240" not in "".join(s.text for s in cut)


def test_prepare_sft_dataset_reads_hermes_rows(tiny_tokenizer) -> None:  # noqa: ANN001
    ds = Dataset.from_list([{"messages": MESSAGES, "tools": tools_json(), "problem": "p", "trace": TRACE}])
    out, stats = prepare_sft_dataset(ds, tiny_tokenizer, max_length=None)
    assert stats.rows_kept == 1 and not stats.dropped and stats.interpreter_tokens > 0
    row = out[0]
    masked = _decode(
        tiny_tokenizer, [i for i, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m == 0]
    )
    trained = _decode(
        tiny_tokenizer, [i for i, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m == 1]
    )
    assert "ENVOUT 120" in masked and "ENVOUT" not in trained and "\\boxed{240}" in trained
