"""Sources: the bundled sample, local files, and the quarantine rules shared by every reader."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest

from retool_data.schema import PROBLEM_SCHEMA, REJECT_SCHEMA, problem_id, row_id
from retool_data.sources import (
    REJECT_REASONS,
    SAMPLE_DATASET,
    Candidate,
    load_source,
    normalize_candidates,
    read_local,
    read_sample,
    sample_path,
)
from tests.retool_data.hub_layout import ot3_row, ot114k_row

MANIFEST = json.loads(sample_path().with_name("sample_manifest.json").read_text())["rows"]


def _schema_row(problem, **extra):
    row = {"problem": problem, "reasoning": "Okay. 1 + 1 = 2.", "solution": "\\boxed{2}", "domain": "math"}
    return {**row, **extra}


def _write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# --- the bundled sample -------------------------------------------------------------------------------------


def test_sample_quarantines_exactly_the_manifest_rows_with_their_reasons():
    result = read_sample()
    assert result.rows_in == len(MANIFEST) == result.kept.height + result.rejected.height
    got = dict(zip(result.rejected["row"].map_elements(lambda r: json.loads(r)["source_id"], return_dtype=pl.String),
                   result.rejected["reason"], strict=True))
    expected = {str(e["line"]): e["expect_reject"] for e in MANIFEST if e["expect_reject"]}
    assert got == expected
    file_level = {"unreadable_file", "unrecognised_columns", "excess_response"}  # tests/redteam has those
    assert set(got.values()) == set(REJECT_REASONS) - file_level  # the sample exercises every row-level reason
    assert (result.rejected["stage"] == "ingest").all() and result.rejected.schema == REJECT_SCHEMA


def test_sample_kept_rows_follow_the_schema():
    result = read_sample()
    kept = result.kept
    assert kept.schema == PROBLEM_SCHEMA
    assert kept["dataset"].unique().to_list() == [SAMPLE_DATASET]
    assert kept["problem_id"].to_list() == [problem_id(p) for p in kept["problem"]]
    assert kept["id"].to_list() == [row_id(p, i) for p, i in zip(kept["problem_id"], kept["response_index"], strict=True)]
    assert kept["id"].n_unique() == kept.height
    second = [str(e["line"]) for e in MANIFEST if e["kind"] == "second_response"]
    assert kept.filter(pl.col("response_index") == 1)["source_id"].to_list() == second
    assert kept["source_id"].to_list() == [str(e["line"]) for e in MANIFEST if not e["expect_reject"]]
    assert kept["domain"].unique().to_list() == ["math"]
    for column in ("problem", "reasoning", "solution", "gold_solution"):
        assert kept[column].null_count() == 0, column
    unboxed = {str(e["line"]) for e in MANIFEST if e["kind"] == "gold_unboxed"}
    assert set(kept.filter(pl.col("gold_answer").is_null())["source_id"]) == unboxed


def test_sample_limit_counts_kept_rows():
    result = read_sample(limit=5)
    first_five = [e["line"] for e in MANIFEST if not e["expect_reject"]][:5]
    assert result.kept["source_id"].to_list() == [str(x) for x in first_five]
    assert result.rows_in == first_five[-1] + 1  # reading stopped at the fifth kept row
    assert read_sample(limit=0).rows_in == 0


def test_sample_all_domains_keeps_the_code_and_biology_rows():
    result = read_sample(domains=None)
    assert "non_math_domain" not in result.reject_counts()
    assert sorted(set(result.kept["domain"])) == ["biology", "code", "math"]


def test_load_source_dispatches_and_rejects_unknown_options(tmp_path):
    assert load_source("sample").kept.height == read_sample().kept.height
    with pytest.raises(ValueError, match="revision: only for the Hub sources"):
        load_source("sample", revision="abc")
    with pytest.raises(ValueError, match="unknown source 'nope'"):
        load_source("nope")


def test_importing_sources_does_not_import_datasets():
    code = "import sys, retool_data.sources; print('datasets' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --- local files --------------------------------------------------------------------------------------------


def test_local_jsonl_in_schema_with_aliases_bad_lines_and_wrong_types(tmp_path):
    path = _write_jsonl(tmp_path / "rows.jsonl", [
        _schema_row("What is 1 + 1?", id="stale-id", gold_answer=2, difficulty="3.5"),
        {"question": "What is 2 + 3?", "reasoning": "2 + 3 = 5", "answer": 5, "domain": "Math", "source_id": "q7"},
        "{not json",
        "",
        _schema_row("What is 3 + 3?", difficulty="hard"),
        _schema_row("What is 4 + 4?", difficulty=True),
        _schema_row(["a", "list"]),
        _schema_row("What is 5 + 5?", domain=None),
        42,
    ])
    result = read_local(path)
    kept = result.kept.rows(named=True)
    assert [r["problem"] for r in kept] == ["What is 1 + 1?", "What is 2 + 3?"]
    assert kept[0]["id"] == problem_id("What is 1 + 1?")  # a stale id in the file is recomputed
    assert kept[0]["gold_answer"] == "2" and kept[0]["difficulty"] == 3.5 and kept[0]["source_id"] == "0"
    assert kept[0]["dataset"] == str(path)
    assert kept[1]["gold_answer"] == "5" and kept[1]["source_id"] == "q7" and kept[1]["domain"] == "math"
    details = result.rejected.select("reason", "detail").rows()
    bad_json = "line 3: invalid JSON (Expecting property name enclosed in double quotes): {not json"
    assert details[0] == ("invalid_row", bad_json)
    assert details[1:] == [
        ("invalid_row", "difficulty: not a number: 'hard'"),
        ("invalid_row", "difficulty: expected a number, got bool"),
        ("invalid_row", "problem: expected a string, got list"),
        ("non_math_domain", "domain=None"),
        ("invalid_row", "row is a int, not an object"),
    ]
    wrong_type = json.loads(result.rejected["row"][3])
    assert wrong_type["problem"] == '["a", "list"]'  # the bad value is kept, as JSON text


def test_local_reads_open_thoughts_shaped_rows(tmp_path):
    path = _write_jsonl(tmp_path / "shard.jsonl", [
        ot114k_row("What is 7 + 1?"),
        ot3_row("What is 7 + 2?", "<think>7 + 2 = 9</think> \\boxed{9}"),
    ])
    kept = read_local(path).kept
    assert kept["reasoning"].to_list() == ["Okay, let me think about: What is 7 + 1?\nSo 2 + 2 = 4.", "7 + 2 = 9"]
    assert kept["gold_answer"].to_list() == ["4", None]
    assert kept["difficulty"].to_list() == [None, 5.0]


def test_ingest_output_round_trips_through_read_local(tmp_path):
    sample = read_sample()
    out = tmp_path / "problems.parquet"
    sample.kept.write_parquet(out)
    again = read_local(out)
    assert again.rejected.height == 0
    assert again.kept.equals(sample.kept)  # dataset and source_id survive: lineage is not lost


def test_local_folder_reads_every_file_in_order(tmp_path):
    _write_jsonl(tmp_path / "b.jsonl", [_schema_row("What is 9 + 9?")])
    pl.DataFrame([_schema_row("What is 8 + 8?")]).write_parquet(tmp_path / "a.parquet")
    (tmp_path / "notes.txt").write_text("ignored")
    result = read_local(tmp_path)
    assert result.kept["problem"].to_list() == ["What is 8 + 8?", "What is 9 + 9?"]
    assert result.kept["dataset"].to_list() == [str(tmp_path / "a.parquet"), str(tmp_path / "b.jsonl")]


def test_local_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_local(tmp_path / "missing.jsonl")
    (tmp_path / "rows.csv").write_text("problem\n1+1\n")
    with pytest.raises(ValueError, match="unsupported file type"):
        read_local(tmp_path / "rows.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .jsonl or .parquet files"):
        read_local(tmp_path / "empty")


# --- the shared rules ---------------------------------------------------------------------------------------


def test_responses_are_grouped_by_normalized_problem_and_numbered_in_source_order():
    cands = [
        Candidate({"problem": "Compute $2^{10}$.", "reasoning": "first", "domain": "math", "source_id": "a"}),
        Candidate({"problem": "  compute 2^{10}.  ", "reasoning": "second", "domain": "math", "source_id": "b"}),
        Candidate({"problem": "Compute 2^{10}.", "reasoning": "first", "domain": "math", "source_id": "c"}),
        Candidate({"problem": "Compute 3^{10}.", "reasoning": "first", "domain": "math", "source_id": "d"}),
    ]
    result = normalize_candidates(cands)
    kept = result.kept
    pid = problem_id("Compute $2^{10}$.")
    assert kept["source_id"].to_list() == ["a", "b", "d"]  # a second response to one problem is kept
    assert kept["problem_id"].to_list()[:2] == [pid, pid] and kept["response_index"].to_list() == [0, 1, 0]
    assert kept["id"].to_list() == [pid, f"{pid}-r1", problem_id("Compute 3^{10}.")]  # unique row keys
    assert result.rejected.select("reason", "detail").row(0) == (
        "duplicate_response",
        "same problem and response as source_id=a",
    )
    assert result.stats["problems"] == 2
    capped = normalize_candidates(cands, max_responses=1)
    assert capped.kept["source_id"].to_list() == ["a", "d"]
    assert capped.reject_counts() == {"duplicate_response": 1, "excess_response": 1}


def test_every_row_is_accounted_for_and_limit_is_validated():
    cands = [Candidate({"problem": f"p{i % 3}", "reasoning": "r", "domain": "math"}) for i in range(7)]
    result = normalize_candidates(cands)
    assert (result.kept.height, result.rejected.height, result.stats["rows_in"]) == (3, 4, 7)
    with pytest.raises(ValueError, match="limit must be >= 0"):
        normalize_candidates(cands, limit=-1)
    empty = normalize_candidates([])
    assert empty.kept.schema == PROBLEM_SCHEMA and empty.rejected.height == 0 and empty.stats["rows_in"] == 0


def test_domains_are_case_insensitive_and_configurable():
    cands = [Candidate({"problem": f"p{d}", "reasoning": "r", "domain": d}) for d in ("Math", "science", "code")]
    assert normalize_candidates(cands, domains=["MATH", "Science"]).kept["domain"].to_list() == ["math", "science"]
