"""ToolACE source: the bundled sample in ToolACE's own layout normalizes to the schema, bad rows are quarantined
with their reason, and the curriculum difficulty orders dialogs by tools, parallel/nested calls and turns."""

from __future__ import annotations

import json

import pytest

from retool_data.sources.toolace import (
    CATEGORIES,
    SAMPLE_PATH,
    normalize_rows,
    parse_toolace_calls,
    read_toolace,
    save_examples,
)

SYSTEM = "You are an expert.\nHere is a list of functions in JSON format that you can invoke:\n{}. \nShould you ..."
TOOL = {"name": "Get Weather", "description": "d",
        "parameters": {"type": "dict", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]}}  # fmt: skip


def row(tools, *turns):
    return {
        "system": SYSTEM.format(json.dumps(tools)),
        "conversations": [{"from": f, "value": v} for f, v in turns],
    }


def test_the_sample_covers_every_category_and_normalizes_exactly():
    result = read_toolace()
    assert result.stats["rows_in"] == 30 and result.quarantine == []
    assert set(result.stats["categories"]) == set(CATEGORIES)
    by_cat = {}
    for e in result.examples:
        by_cat.setdefault(e.category, e)
    simple = by_cat["simple"]
    assert simple.system.startswith("You are an expert in composing functions")
    assert "invoke" not in simple.system and simple.tools[0]["parameters"]["type"] == "object"
    assert simple.messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"name": "Get Weather", "arguments": {"city": "Paris"}}],
    }
    assert simple.messages[2]["role"] == "tool" and simple.messages[2]["content"][0]["results"]["temp"] == 18
    par = by_cat["parallel_multiple"]
    assert len({c["name"] for c in par.messages[1]["tool_calls"]}) == 2
    assert all(m.get("tool_calls") is None for m in by_cat["irrelevance"].messages)
    # a dotted name and a Python keyword as an argument name survive
    conv = next(e for e in result.examples if e.tools[0]["name"] == "currency.convert")
    call = conv.messages[1]["tool_calls"][0]
    assert call == {"name": "currency.convert", "arguments": {"amount": 250.0, "from": "EUR", "to": "USD"}}
    assert conv.tools[0]["parameters"]["properties"]["amount"]["type"] == "number"  # float -> number


def test_difficulty_orders_simple_before_parallel_before_nested_multi_turn():
    ex = {e.id: e for e in read_toolace().examples}
    mean = {}
    for e in ex.values():
        mean.setdefault(e.category, []).append(e.difficulty)
    avg = {k: sum(v) / len(v) for k, v in mean.items()}
    assert avg["simple"] < avg["multiple"] < avg["parallel_multiple"]
    assert avg["simple"] < avg["parallel"]
    nested = next(e for e in ex.values() if e.features["nested"])  # TSLA price -> convert its result
    assert nested.category == "multi_turn" and nested.features["call_turns"] == 2
    same_tools = [e for e in ex.values() if e.features["tools"] == 1 and e.category in ("simple", "parallel")]
    assert max(e.difficulty for e in same_tools if e.category == "simple") < min(
        e.difficulty for e in same_tools if e.category == "parallel"
    )


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"system": "no tools here", "conversations": [{"from": "user", "value": "x"}]}, "tools_missing"),
        (
            {"system": '...invoke:\n[{"name": ', "conversations": [{"from": "user", "value": "x"}]},
            "tools_unparseable",
        ),
        (row([{"description": "no name"}], ("user", "x")), "tool_schema_invalid"),
        (
            row(
                [{**TOOL, "parameters": {"type": "dict", "properties": {}, "required": ["city"]}}],
                ("user", "x"),
            ),
            "tool_schema_invalid",
        ),
        (row([TOOL], ("user", "x"), ("assistant", '[Get Weather("Paris")]')), "call_unparseable"),
        (row([TOOL], ("user", "x"), ("assistant", '[Get Weather(city="Paris"]')), "call_unparseable"),
        (row([TOOL], ("user", "x"), ("assistant", '[Get Forecast(city="Paris")]')), "call_unknown_function"),
        (
            row([TOOL], ("user", "x"), ("assistant", '[Get Weather(city="Paris", zip=1)]')),
            "call_unknown_argument",
        ),
        (row([TOOL], ("user", "x"), ("assistant", "[Get Weather(days=2)]")), "call_missing_required"),
        (
            row([TOOL], ("user", "x"), ("assistant", '[Get Weather(city="P")]'), ("tool", "{not json")),
            "tool_result_unparseable",
        ),
        (row([TOOL], ("bot", "x")), "bad_role"),
        (row([TOOL]), "no_conversations"),
    ],
)
def test_malformed_rows_are_quarantined_with_their_reason(bad, reason):
    good = row([TOOL], ("user", "Paris?"), ("assistant", '[Get Weather(city="Paris", days=2)]'))
    result = normalize_rows([good, bad])
    assert [e.id for e in result.examples] == ["toolace/0"]
    assert [(q["row"], q["reason"]) for q in result.quarantine] == [(1, reason)]
    assert result.stats["rows_in"] == 2 and result.stats["reasons"] == {reason: 1}


def test_call_parser_handles_spaces_nesting_and_json_literals():
    calls = parse_toolace_calls('[A b(x="a, b=(c)", y=[1, {"k": true}], z=-2.5), c.d(e=null)]')
    assert calls == [
        {"name": "A b", "arguments": {"x": "a, b=(c)", "y": [1, {"k": True}], "z": -2.5}},
        {"name": "c.d", "arguments": {"e": None}},
    ]


def test_local_json_and_jsonl_files_and_the_normalized_round_trip(tmp_path):
    rows = [json.loads(line) for line in SAMPLE_PATH.read_text().splitlines()[:3]]
    (tmp_path / "t.json").write_text(json.dumps(rows))
    result = read_toolace(tmp_path / "t.json", revision="abc123", limit=2)
    assert len(result.examples) == 2 and result.stats["revision"] == "abc123"
    out = save_examples(result.examples, tmp_path / "norm.jsonl")
    back = [json.loads(line) for line in out.read_text().splitlines()]
    assert back[0]["messages"] == result.examples[0].messages


def test_hub_ids_and_dataset_dirs_go_through_datasets_with_the_revision(tmp_path, monkeypatch):
    import datasets

    seen = []
    rows = [json.loads(line) for line in SAMPLE_PATH.read_text().splitlines()[:4]]

    def fake_load_dataset(path, name=None, **kwargs):  # the Hub is the edge we do not own
        seen.append((path, kwargs.get("revision"), kwargs.get("split")))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = read_toolace("Team-ACE/ToolACE", revision="0123abcd", limit=3)
    assert seen == [("Team-ACE/ToolACE", "0123abcd", "train")]
    assert len(result.examples) == 3 and result.stats["revision"] == "0123abcd"
    assert result.examples[0].id == "train/0" and result.examples[0].category == "simple"
