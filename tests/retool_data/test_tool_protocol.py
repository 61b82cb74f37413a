"""Tool protocols at export: the same curated trace as ReTool tags or as Hermes tool calls, losslessly."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from retool_data.export import export_dataset, exported_problems
from retool_data.templates import build_prompt_messages
from retool_data.tool_protocol import (
    HERMES_TEMPLATE,
    code_interpreter_schema,
    hermes_messages,
    hermes_prompt,
    hermes_tool_call,
    parse_hermes_tool_calls,
)
from retool_data.trace import parse_trace
from tests.retool_data.frames import frame, row, simple_trace, trace

TWO_CALLS = trace(
    ("code", "x = 6"),
    ("out", ""),
    ("code", 'print(x * 7, "</tool_call>")'),
    ("out", "42 </tool_call>"),
    answer="42",
)


def test_hermes_messages_carry_every_call_and_output_in_order() -> None:
    msgs = hermes_messages("What is six times seven?", TWO_CALLS)
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert msgs[0]["content"] == hermes_prompt("What is six times seven?")
    calls = [parse_hermes_tool_calls(m["content"]) for m in msgs if m["role"] == "assistant"][:2]
    parsed = parse_trace(TWO_CALLS)
    assert [c[0]["arguments"]["code"] for c in calls] == parsed.code_blocks
    assert all(c[0]["name"] == "code_interpreter" and len(c) == 1 for c in calls)
    assert (
        [m["content"] for m in msgs if m["role"] == "tool"]
        == parsed.interpreter_outputs
        == ["", "42 </tool_call>"]
    )
    # the final turn keeps the boxed answer without the <answer> tags (verl's ReTool recipe drops them too)
    assert msgs[-1]["content"].endswith("\\boxed{42}") and "<answer>" not in msgs[-1]["content"]
    assert "<tool_call>" not in msgs[-1]["content"]


def test_tool_call_text_is_what_a_hermes_template_renders() -> None:
    # Qwen2.5's template: '<tool_call>\n{"name": "' + name + '", "arguments": ' + arguments|tojson + '}\n</tool_call>'
    code = 'print("é", 1 + 1)'
    expected = '<tool_call>\n{"name": "code_interpreter", "arguments": {"code": "print(\\"é\\", 1 + 1)"}}\n</tool_call>'
    assert hermes_tool_call(code) == expected
    assert parse_hermes_tool_calls("text " + expected + " <tool_call>{not json}</tool_call>") == [
        {"name": "code_interpreter", "arguments": {"code": code}}
    ]


def test_hermes_messages_reject_a_call_without_output() -> None:
    with pytest.raises(ValueError, match="without interpreter output"):
        hermes_messages("q", "<code>\n```python\nprint(1)\n```\n</code>\n<answer>\\boxed{1}</answer>")
    with pytest.raises(ValueError, match="follows no <code>"):
        hermes_messages("q", "<interpreter>\n1\n</interpreter>\n<answer>\\boxed{1}</answer>")


def test_export_hermes_rows_and_card(tmp_path: Path) -> None:
    from datasets import load_from_disk

    rows = [
        row("What is six times seven?", TWO_CALLS, "42", source_id="two"),
        row("What is 3 squared plus 3?", simple_trace("3**2+3", "12"), "12", source_id="one"),
    ]
    result = export_dataset(frame(rows), tmp_path / "out", tool_protocol="hermes")
    ds = load_from_disk(str(result.dataset_dir))
    first = ds.filter(lambda r: r["source_id"] == "two")[0]
    assert first["tool_protocol"] == "hermes" and first["prompt_template"] == HERMES_TEMPLATE.id
    assert first["tools"] == [code_interpreter_schema()]
    assert first["messages"] == hermes_messages(first["problem"], first["trace"])
    # the parquet shards hold the same rows (what the Hub serves)
    shard = pl.read_parquet(result.shards[0])
    assert set(shard["tool_protocol"].to_list()) == {"hermes"}
    card = result.card_path.read_text(encoding="utf-8")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["retool_data"]["tool_protocol"] == "hermes"
    assert meta["retool_data"]["templates"]["prompt"] == HERMES_TEMPLATE.id
    assert "| tool protocol | `hermes` |" in card and "mask\nthe `tool` turns" in card
    # the decontamination re-check reads the problems back out of both files
    back = exported_problems(result.out_dir)
    assert sorted(p for _, p, _ in back["verl"]) == sorted(p for _, p, _ in back["sft"])


def test_export_retool_rows_have_no_tools(tmp_path: Path) -> None:
    from datasets import load_from_disk

    result = export_dataset(frame([row("What is 2+2?", simple_trace("2+2", "4"), "4")]), tmp_path / "o")
    first = load_from_disk(str(result.dataset_dir))[0]
    assert first["tool_protocol"] == "retool" and first["tools"] is None
    assert first["messages"][:-1] == build_prompt_messages("What is 2+2?")  # the prompt GRPO and eval use
    assert first["messages"][-1]["role"] == "assistant"


def test_export_rejects_an_unknown_protocol(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tool protocol must be one of"):
        export_dataset(frame([row("q", simple_trace("1", "1"), "1")]), tmp_path / "o", tool_protocol="xml")


def test_cli_export_tool_protocol(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from retool_data.cli import app

    src = tmp_path / "kept.parquet"
    frame([row("What is six times seven?", TWO_CALLS, "42", source_id="two")]).write_parquet(src)
    runner = CliRunner()
    bad = runner.invoke(app, ["export", str(src), "-o", str(tmp_path / "x"), "--tool-protocol", "xml"])
    assert bad.exit_code == 2 and "--tool-protocol" in bad.output and not (tmp_path / "x").exists()
    ok = runner.invoke(app, ["export", str(src), "-o", str(tmp_path / "e"), "--tool-protocol", "hermes"])
    assert ok.exit_code == 0, ok.output
    shard = pl.read_parquet(next((tmp_path / "e" / "data").glob("*.parquet")))
    assert shard["messages"][0].to_list()[2] == {"role": "tool", "content": ""}
