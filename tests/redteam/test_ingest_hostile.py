"""Hostile input to ingestion (issue 15, item 9): each case asserts nothing is lost — every input row is kept or
quarantined once, with its exact reason, the rows beside it are read normally, and the quarantine is storable."""

from __future__ import annotations

import codecs
import json
import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retool_data.schema import PROBLEM_SCHEMA, REJECT_SCHEMA, problem_id
from retool_data.sources import REJECT_REASONS, read_local

GOOD = {
    "problem": "What is 6 times 7?",
    "reasoning": "6 \\times 7 = 42",
    "solution": "\\boxed{42}",
    "domain": "math",
}


def good(i: int) -> bytes:
    return json.dumps({**GOOD, "problem": f"What is {i} times 7?"}).encode() + b"\n"


def write(path: Path, *lines: bytes) -> Path:
    path.write_bytes(b"".join(lines))
    return path


def accounted(result, rows_in: int) -> None:
    """Nothing lost: rows_in (counted from the input) == kept + rejected, rejects typed and storable."""
    assert result.stats["rows_in"] == rows_in == result.kept.height + result.rejected.height
    assert result.kept.schema == PROBLEM_SCHEMA and result.rejected.schema == REJECT_SCHEMA
    assert set(result.rejected["reason"]) <= set(REJECT_REASONS)
    assert result.rejected["detail"].null_count() == 0
    for row in result.rejected["row"]:
        json.loads(row)  # the whole row survives as JSON
    assert result.kept["id"].n_unique() == result.kept.height
    # the frames round-trip through parquet (what every asset does)
    pl.concat([result.rejected]).write_parquet(os.devnull)
    result.kept.write_parquet(os.devnull)


def rejects(result) -> list[tuple[str, str]]:
    return result.rejected.select("reason", "detail").rows()


def test_deeply_nested_json_line_is_one_invalid_row(tmp_path):
    path = write(tmp_path / "deep.jsonl", good(1), b"[" * 200_000 + b"]" * 200_000 + b"\n", good(2))
    result = read_local(path)
    accounted(result, 3)
    assert result.kept["problem"].to_list() == ["What is 1 times 7?", "What is 2 times 7?"]
    [(reason, detail)] = rejects(result)
    assert reason == "invalid_row" and detail.startswith("line 2: JSON nested too deep")


def test_nested_value_within_the_limit_in_a_text_field_is_kept_as_json_text(tmp_path):
    nested = "[" * 400 + "]" * 400
    path = write(
        tmp_path / "n.jsonl",
        good(1),
        f'{{"problem": {nested}, "reasoning": "r", "domain": "math"}}\n'.encode(),
    )
    result = read_local(path)
    accounted(result, 2)
    assert rejects(result) == [("invalid_row", "problem: expected a string, got list")]
    assert json.loads(result.rejected["row"][0])["problem"].startswith("[[[")


def test_non_utf8_byte_quarantines_only_its_line(tmp_path):
    bad = b'{"problem": "caf\xe9 bill", "reasoning": "r", "domain": "math"}\n'
    result = read_local(write(tmp_path / "latin1.jsonl", good(1), bad, good(3)))
    accounted(result, 3)
    assert rejects(result) == [("invalid_row", "line 2: not UTF-8 (byte 0xe9 at offset 16)")]


def test_lone_surrogate_escape_is_quarantined_with_its_field_and_stays_storable(tmp_path):
    bad = b'{"problem": "What is \\ud800 plus 1?", "reasoning": "r", "domain": "math"}\n'
    result = read_local(write(tmp_path / "sur.jsonl", bad, good(2)))
    accounted(result, 2)
    assert rejects(result) == [
        ("invalid_row", "problem: lone surrogate \\ud800 at offset 8 (not valid Unicode)")
    ]
    assert json.loads(result.rejected["row"][0])["problem"] == "What is \\ud800 plus 1?"  # escaped, not lost


def test_lone_surrogate_in_reasoning_or_lineage_fields_too(tmp_path):
    rows = [
        b'{"problem": "p1", "reasoning": "ok \\udfff", "domain": "math"}\n',
        b'{"problem": "p2", "reasoning": "r", "domain": "math", "source_id": "\\udbff"}\n',
    ]
    result = read_local(write(tmp_path / "sur2.jsonl", *rows))
    accounted(result, 2)
    assert [d.split(":")[0] for _, d in rejects(result)] == ["reasoning", "source_id"]


def test_integer_over_4300_digits_is_one_invalid_row(tmp_path):
    huge = b'{"problem": "p", "reasoning": "r", "domain": "math", "gold_answer": ' + b"9" * 5000 + b"}\n"
    result = read_local(write(tmp_path / "int.jsonl", huge, good(2)))
    accounted(result, 2)
    [(reason, detail)] = rejects(result)
    assert reason == "invalid_row" and detail.startswith(
        "line 1: invalid JSON (Exceeds the limit (4300 digits)"
    )


def test_difficulty_that_overflows_a_float_or_is_infinite(tmp_path):
    lines = [
        json.dumps({**GOOD, "problem": "a", "difficulty": 10**400}).encode() + b"\n",
        json.dumps({**GOOD, "problem": "b"}).replace('"domain"', '"difficulty": 1e999, "domain"').encode()
        + b"\n",
        json.dumps({**GOOD, "problem": "c"}).replace('"domain"', '"difficulty": NaN, "domain"').encode()
        + b"\n",
    ]
    result = read_local(write(tmp_path / "d.jsonl", *lines))
    accounted(result, 3)
    assert [d.split(":")[0] for _, d in rejects(result)] == ["difficulty", "difficulty"]
    assert result.kept["problem"].to_list() == ["c"] and result.kept["difficulty"].to_list() == [None]


def test_raw_cr_inside_a_json_line_does_not_split_the_row(tmp_path):
    line = b'{"problem": "Line one\rline two: what is 1 + 1?", "reasoning": "1 + 1 = 2", "domain": "math"}\n'
    result = read_local(write(tmp_path / "cr.jsonl", line, good(2)))
    accounted(result, 2)
    assert result.rejected.height == 0
    assert result.kept["problem"][0] == "Line one\rline two: what is 1 + 1?"


def test_crlf_line_endings_and_blank_lines(tmp_path):
    result = read_local(
        write(tmp_path / "crlf.jsonl", good(1).replace(b"\n", b"\r\n"), b"\r\n", b"   \n", good(2))
    )
    accounted(result, 2)  # blank lines are not rows
    assert result.kept["source_id"].to_list() == ["0", "1"]


def test_utf8_bom_does_not_lose_the_first_row(tmp_path):
    result = read_local(write(tmp_path / "bom.jsonl", codecs.BOM_UTF8 + good(1), good(2)))
    accounted(result, 2)
    assert result.rejected.height == 0 and result.kept["problem"][0] == "What is 1 times 7?"


def test_rows_with_no_recognised_column_say_so(tmp_path):
    lines = [b'{"text": "What is 1 + 1?", "label": 2}\n', b"{}\n", good(3), b'{"id": "x"}\n']
    result = read_local(write(tmp_path / "other.jsonl", *lines))
    accounted(result, 4)
    assert rejects(result)[:2] == [
        (
            "unrecognised_columns",
            "no known column (has: 'text', 'label'); expected problem/question, reasoning, ...",
        ),
        ("unrecognised_columns", "no known column (has: none); expected problem/question, reasoning, ..."),
    ]
    assert (
        rejects(result)[2][0] == "non_math_domain"
    )  # a known column (id) but nothing else: not "unrecognised"


@pytest.mark.parametrize("value", [b'"just a string"', b"null", b"3.5", b"true", b"[1, 2]"])
def test_json_values_that_are_not_objects(tmp_path, value):
    result = read_local(write(tmp_path / "v.jsonl", value + b"\n", good(2)))
    accounted(result, 2)
    assert rejects(result)[0][0] == "invalid_row" and "not an object" in rejects(result)[0][1]


def test_corrupt_parquet_beside_good_files_loses_only_itself(tmp_path):
    pl.DataFrame([{**GOOD, "problem": "What is 8 + 8?"}]).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    write(tmp_path / "c.jsonl", good(9))
    result = read_local(tmp_path)
    accounted(result, 3)
    assert result.kept["problem"].to_list() == ["What is 8 + 8?", "What is 9 times 7?"]
    [(reason, detail)] = rejects(result)
    assert reason == "unreadable_file" and detail.startswith(
        f"{tmp_path / 'b.parquet'}: not a readable parquet file"
    )


def test_truncated_parquet_is_unreadable_not_a_crash(tmp_path):
    full = tmp_path / "full.parquet"
    pl.DataFrame([{**GOOD, "problem": f"p{i}"} for i in range(50)]).write_parquet(full)
    data = full.read_bytes()
    full.unlink()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    write(tmp_path / "ok.jsonl", good(1))
    result = read_local(tmp_path)
    accounted(result, 2)
    assert rejects(result)[0][0] == "unreadable_file"


def test_parquet_row_with_invalid_utf8_is_one_row(tmp_path):
    problems = pa.array([b"What is 1 + 1?", b"bad \xff byte", b"What is 2 + 2?"], type=pa.binary()).view(
        pa.string()
    )
    table = pa.table({"problem": problems, "reasoning": ["r1", "r2", "r3"], "domain": ["math"] * 3})
    pq.write_table(table, tmp_path / "t.parquet")
    result = read_local(tmp_path / "t.parquet")
    accounted(result, 3)
    assert result.kept["problem"].to_list() == ["What is 1 + 1?", "What is 2 + 2?"]
    [(reason, detail)] = rejects(result)
    assert reason == "invalid_row" and "cannot be decoded (UnicodeDecodeError" in detail


def test_parquet_with_wrong_column_types(tmp_path):
    pl.DataFrame({"problem": [1, 2], "reasoning": ["r", "r"], "domain": ["math", "math"]}).write_parquet(
        tmp_path / "w.parquet"
    )
    result = read_local(tmp_path / "w.parquet")
    accounted(result, 2)
    assert rejects(result) == [("invalid_row", "problem: expected a string, got int")] * 2


def test_undecodable_file_name_is_escaped_in_the_lineage(tmp_path):
    name = os.fsdecode(b"bad\xffname.jsonl")
    path = write(tmp_path / name, good(1))
    result = read_local(path)
    accounted(result, 1)
    assert result.kept["dataset"][0].endswith("bad\\xffname.jsonl")


def test_nul_bidi_and_zero_width_characters_are_text(tmp_path):
    line = json.dumps({**GOOD, "problem": "What is\u0000 2\u202e + \u200b2?"}).encode() + b"\n"
    result = read_local(write(tmp_path / "ctl.jsonl", line))
    accounted(result, 1)
    assert result.kept["problem_id"][0] == problem_id("What is\u0000 2 + 2?")  # invisible controls fold away


def test_confusable_copy_of_a_problem_is_the_same_problem(tmp_path):
    latin = "Compute the area of a square of side 3."
    cyrillic = latin.replace("a", "\u0430").replace("e", "\u0435").replace("o", "\u043e")  # а е о
    lines = [
        json.dumps({**GOOD, "problem": latin}).encode() + b"\n",
        json.dumps({**GOOD, "problem": cyrillic}).encode() + b"\n",  # same response: a duplicate
        json.dumps({**GOOD, "problem": "\u200b" + cyrillic, "reasoning": "3^2 = 9"}).encode() + b"\n",
    ]
    result = read_local(write(tmp_path / "conf.jsonl", *lines))
    accounted(result, 3)
    assert rejects(result) == [("duplicate_response", "same problem and response as source_id=0")]
    assert result.kept["problem_id"].n_unique() == 1 and result.kept["response_index"].to_list() == [0, 1]


def test_rows_in_is_the_number_of_input_lines_even_when_parsing_would_merge_or_split(tmp_path):
    """rows_in is counted from the input (non-blank LF-terminated lines), not from kept + rejected."""
    data = (
        good(1) + b'{"problem": "a\rb", "reasoning": "r", "domain": "math"}\n' + b"{broken\n" + good(4)[:-1]
    )
    path = write(tmp_path / "count.jsonl", data)  # the last line has no newline
    expected = sum(1 for line in data.split(b"\n") if line.strip())
    result = read_local(path)
    accounted(result, expected)
    assert expected == 4 and result.kept.height == 3


# --- property-based fuzzing of the readers ---------------------------------------------------------------------

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30)  # surrogates too
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(ANY_TEXT, c, max_size=3), max_leaves=8
)
FIELDS = st.sampled_from(
    [
        "problem",
        "question",
        "reasoning",
        "solution",
        "gold_answer",
        "answer",
        "domain",
        "difficulty",
        "source_id",
        "dataset",
        "conversations",
        "deepseek_reasoning",
        "id",
        "x",
    ]
)
ROWS = st.dictionaries(FIELDS, JSON_VALUES, max_size=6) | JSON_VALUES
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _line(value) -> bytes:
    return json.dumps(value).encode("ascii") + b"\n"  # ensure_ascii: lone surrogates become \\udXXX escapes


@FUZZ
@given(rows=st.lists(ROWS, max_size=8), garbage=st.lists(st.binary(max_size=40), max_size=4))
def test_fuzz_jsonl_every_line_is_kept_or_quarantined(tmp_path, rows, garbage):
    lines = [_line(r) for r in rows] + [g.replace(b"\n", b" ") + b"\n" for g in garbage]
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"".join(lines))
    expected = sum(1 for ln in lines if ln.strip())
    result = read_local(path, domains=None)
    accounted(result, expected)


@FUZZ
@given(data=st.binary(max_size=600))
def test_fuzz_parquet_bytes_never_crash(tmp_path, data):
    pl.DataFrame([{**GOOD}]).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "b.parquet").write_bytes(data)
    result = read_local(tmp_path)
    assert result.kept["problem"].to_list()[:1] == [GOOD["problem"]]
    assert result.stats["rows_in"] == result.kept.height + result.rejected.height
    assert set(result.rejected["reason"]) <= set(REJECT_REASONS) - {"excess_response"}
