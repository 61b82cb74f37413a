"""The heuristic rewriter with the real sandbox: code blocks hold what the sandbox really prints."""

from __future__ import annotations

import polars as pl
import pytest

from retool_data.answers import extract_answer
from retool_data.sources import read_sample
from retool_data.stages.heuristic_rewrite import HEURISTIC_BACKEND, HEURISTIC_VERSION, heuristic_rewrite
from retool_data.stages.rewrite import original_response
from retool_data.trace import (
    format_code_block,
    format_interpreter_block,
    interpreter_text,
    parse_trace,
    validate_trace,
)
from sandbox import Sandbox
from tests.retool_data.stages.rows import CALC_ROWS, frame, row

EDGE_ROWS = [
    row("No text at all", "", "", "1"),
    row("No final answer", "So 12 \\times 7 = 84.", "Eighty-four.", None),
    row("Nothing to compute", "The answer follows from symmetry.", "\\boxed{0}", "0"),
    row("Wrong arithmetic only", "So 12 \\times 7 = 85.", "\\boxed{85}", "84"),
    row("Stray tags", "I will write <code> here. Then 12 \\times 7 = 84.", "\\boxed{84}", "84"),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, timeout_s=10.0) as sb:
        yield sb


def execution_check(kept, sb: Sandbox) -> int:
    """Re-run every code block of every kept trace in the sandbox; its output must be the interpreter text."""
    checked = 0
    for trace in kept["trace"]:
        calls = parse_trace(trace).tool_calls
        assert calls
        for call in calls:
            result = sb.run(call.code)
            assert result.status == "ok", (call.code, result.output)
            assert interpreter_text(result.output) == call.output, (call.code, result.output, call.output)
            checked += 1
    return checked


def strip_blocks(trace: str) -> str:
    """The trace minus the inserted code/interpreter blocks and the final answer: the original text."""
    for call in parse_trace(trace).tool_calls:
        trace = trace.replace(
            format_code_block(call.code) + format_interpreter_block(call.output or ""), "", 1
        )
    return trace[: trace.rindex("\n\n<answer>")]


def test_calculations_become_real_code_and_the_text_is_kept(sandbox):
    result = heuristic_rewrite(frame(CALC_ROWS), sandbox)
    assert result.kept.height == len(CALC_ROWS) and result.rejected.height == 0
    for r in result.kept.iter_rows(named=True):
        assert r["rewrite_backend"] == HEURISTIC_BACKEND and r["rewrite_template"] == HEURISTIC_VERSION
        assert r["rewrite_status"] == "ok" and r["num_code_blocks"] >= 1 and r["raw_reply"] is None
        assert validate_trace(r["trace"]) == []
        assert strip_blocks(r["trace"]) == original_response(r)
        assert parse_trace(r["trace"]).final_answer == extract_answer(r["solution"])
    assert execution_check(result.kept, sandbox) == result.stats["blocks_run"]
    outputs = [c.output for t in result.kept["trace"] for c in parse_trace(t).tool_calls]
    assert outputs == ["84", "7", "19/12", "1024\n243", "781", "[5]"]  # as `trace.interpreter_text` writes them


def test_rows_without_something_to_rewrite_are_quarantined(sandbox):
    result = heuristic_rewrite(frame(EDGE_ROWS), sandbox)
    assert result.kept.height == 0
    reasons = dict(zip(result.rejected["id"], result.rejected["reason"], strict=True))
    assert [reasons[r["id"]] for r in EDGE_ROWS] == [
        "no_reasoning",
        "no_answer",
        "no_code",
        "no_code",
        "invalid_trace",
    ]


def test_verified_rows_without_a_boxed_answer_end_with_the_gold_answer(sandbox):
    df = frame([row("Verified by the judge", "So 12 \\times 7 = 84 apples in all.", "84 apples.", "84")])
    result = heuristic_rewrite(df.with_columns(verify_verdict=pl.lit("correct")), sandbox)
    assert result.kept.height == 1
    assert result.kept["trace"][0].endswith("<answer>\\boxed{84}</answer>")


def test_bundled_sample_gets_code_for_most_rows(sandbox):
    sample = read_sample().kept
    result = heuristic_rewrite(sample, sandbox)
    result.check_invariant(sample.height)
    assert result.kept.height >= 0.8 * sample.height, result.reject_counts()
    assert set(result.reject_counts()) <= {"no_answer", "no_code"}
    assert result.stats["blocks_dropped"] == {}
    assert execution_check(result.kept, sandbox) >= result.kept.height


def test_rerunning_gives_the_same_output(sandbox):
    first, again = heuristic_rewrite(frame(CALC_ROWS), sandbox), heuristic_rewrite(frame(CALC_ROWS), sandbox)
    assert first.kept.equals(again.kept) and first.rejected.equals(again.rejected)
