"""Dataset loading (every accepted format), masked preparation with counted drops, and the fingerprint."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset, DatasetDict

from retool_data.templates import build_prompt_messages
from tests.training.traces import CASES, chat_row
from training.sft.data import dataset_fingerprint, load_sft_dataset, prepare_sft_dataset, row_chat
from training.sft.train import tokenize_trace

GOOD = [chat_row(c.trace, f"problem {i}") for i, c in enumerate(CASES)]
LONG_TRACE = (
    "".join(
        f"Step {i}.\n<code>\n```python\nprint({i})\n```\n</code>\n<interpreter>\n{i}\n</interpreter>\n"
        for i in range(30)
    )
    + "<answer>\\boxed{29}</answer>"
)
BAD = [
    chat_row("x\n<code>\nprint(1)\n</code>\nOutput:\n<interpreter>\n1\n</interpreter>"),
    chat_row("stray <|im_end|> token <answer>\\boxed{1}</answer>"),
    {"messages": [{"role": "user", "content": "q"}], "problem": "q", "trace": ""},
]


def _rows() -> list[dict]:
    return [*GOOD, chat_row(LONG_TRACE, "long"), *BAD]


@pytest.mark.parametrize("fmt", ["save_to_disk", "dataset_dict", "parquet_file", "parquet_dir", "jsonl"])
def test_load_every_input_format(tmp_path, fmt):
    ds = Dataset.from_list(GOOD)
    if fmt == "save_to_disk":
        ds.save_to_disk(path := tmp_path / "ds")
    elif fmt == "dataset_dict":
        DatasetDict({"train": ds, "test": ds.select([0])}).save_to_disk(path := tmp_path / "dd")
    elif fmt == "parquet_file":
        ds.to_parquet(path := tmp_path / "data.parquet")
    elif fmt == "parquet_dir":  # Hub layout: data/<split>-*.parquet; other splits' shards are not read
        (path := tmp_path / "shards").mkdir()
        (path / "data").mkdir()
        ds.select(range(4)).to_parquet(path / "data" / "train-00000-of-00002.parquet")
        ds.select(range(4, len(GOOD))).to_parquet(path / "data" / "train-00001-of-00002.parquet")
        ds.select([0]).to_parquet(path / "data" / "test-00000-of-00001.parquet")
    else:
        path = tmp_path / "data.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in GOOD), encoding="utf-8")
    loaded = load_sft_dataset(str(path))
    assert sorted(loaded["trace"]) == sorted(r["trace"] for r in GOOD)
    assert load_sft_dataset(str(path), max_samples=2).num_rows == 2


def test_unknown_split_and_unreadable_path_are_clear_errors(tmp_path):
    DatasetDict({"train": Dataset.from_list(GOOD)}).save_to_disk(tmp_path / "dd")
    with pytest.raises(ValueError, match="set dataset_split"):
        load_sft_dataset(str(tmp_path / "dd"), split="validation")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="cannot read"):
        load_sft_dataset(str(tmp_path / "notes.txt"))


def test_rows_without_messages_use_problem_and_trace():
    prompt, trace = row_chat({"problem": "p", "trace": "t"})
    assert prompt == build_prompt_messages("p")  # the prompt GRPO, eval and iTool use
    assert trace == "t"


@pytest.mark.parametrize("policy", ["drop", "truncate"])
def test_prepare_counts_every_row_and_keeps_exact_masks(tiny_tokenizer, policy):
    raw = Dataset.from_list(_rows())
    long_len = len(tokenize_trace(tiny_tokenizer, row_chat(raw[len(GOOD)])[0], LONG_TRACE)["input_ids"])
    max_length = max(len(tokenize_trace(tiny_tokenizer, *row_chat(r))["input_ids"]) for r in GOOD)
    assert long_len > max_length  # the long row is the only over-long one
    prepared, stats = prepare_sft_dataset(raw, tiny_tokenizer, max_length=max_length, overlong_policy=policy)

    assert prepared.column_names == ["input_ids", "assistant_masks"]
    assert stats.dropped.pop("text_between_code_and_interpreter") == 1
    assert stats.dropped.pop("special_token_in_trace") == 1
    assert stats.dropped.pop("no_assistant_turn") == 1
    assert stats.dropped == ({"overlong": 1} if policy == "drop" else {})
    assert stats.rows_truncated == (1 if policy == "truncate" else 0)
    assert stats.rows_in == raw.num_rows == stats.rows_kept + len(BAD) + (policy == "drop")
    for row, source in zip(prepared, raw.select(range(len(GOOD))), strict=False):
        assert row == tokenize_trace(tiny_tokenizer, *row_chat(source))
    assert all(len(ids) <= max_length for ids in prepared["input_ids"])
    if policy == "truncate":
        cut = prepared[len(GOOD)]
        assert tiny_tokenizer.decode(cut["input_ids"]).endswith("</code>") and cut["assistant_masks"][-1] == 1
    assert stats.total_tokens == sum(len(m) for m in prepared["assistant_masks"])
    assert stats.loss_tokens == sum(sum(m) for m in prepared["assistant_masks"])
    assert stats.prompt_tokens + stats.interpreter_tokens == stats.total_tokens - stats.loss_tokens
    assert 0 < stats.masked_token_share < 1


def test_fingerprint_depends_on_content_not_on_file_format(tmp_path):
    ds = Dataset.from_list(GOOD)
    ds.to_parquet(tmp_path / "a.parquet")
    ds.save_to_disk(tmp_path / "disk")
    a = dataset_fingerprint(load_sft_dataset(str(tmp_path / "a.parquet")), "a")
    b = dataset_fingerprint(load_sft_dataset(str(tmp_path / "disk")), "b")
    assert a["content_sha256"] == b["content_sha256"] and a["num_rows"] == len(GOOD)
    changed = Dataset.from_list([*GOOD[:-1], chat_row(GOOD[-1]["trace"] + " ", GOOD[-1]["problem"])])
    assert dataset_fingerprint(changed, "c")["content_sha256"] != a["content_sha256"]


def test_bundled_smoke_traces_are_valid_and_their_outputs_are_real():
    import subprocess
    import sys

    from retool_data.trace import parse_trace, validate_trace
    from tests.conftest import REPO_ROOT

    rows = load_sft_dataset(str(REPO_ROOT / "training" / "data" / "sft_smoke_traces.jsonl"))
    assert rows.num_rows == 8
    for row in rows:
        assert row["messages"][:-1] == build_prompt_messages(row["problem"])
        assert row["messages"][-1] == {"role": "assistant", "content": row["trace"]}
        assert validate_trace(row["trace"]) == []
        trace = parse_trace(row["trace"])
        assert trace.final_answer == row["answer"]
        for call in trace.tool_calls:
            ran = subprocess.run(
                [sys.executable, "-c", call.code], capture_output=True, text=True, check=True
            )
            assert ran.stdout.rstrip("\n") == call.output
