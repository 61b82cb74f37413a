"""The quarantine keeps every dropped row with its stage and reason, and catches a stage that loses rows."""

from __future__ import annotations

import json

import polars as pl
import pytest

from retool_data.quarantine import Quarantine, RowsLostError
from retool_data.schema import StageResult, make_rejects
from retool_data.stages.dedup import dedup
from retool_data.stages.filters import TraceFilter
from tests.retool_data.frames import frame, row, simple_trace


def _frame() -> pl.DataFrame:
    return frame(
        [
            row("What is 2+2?", simple_trace("2+2", "4"), "4"),
            row("what is 2+2?", simple_trace("2+2", "4"), "4", source_id="dup"),
            row("What is 3+3?", None, "6"),
            row("What is 5+5?", "no code here <answer>\\boxed{10}</answer>", "10"),
            row("What is 6+6?", simple_trace("6+6", "12"), "12"),
        ]
    )


def test_chain_records_every_rejected_row_with_stage_reason_and_payload() -> None:
    df = _frame()
    q = Quarantine()
    kept = q.run(df, [("dedup", dedup), ("filter", TraceFilter(check_answer=False))])
    q.check(df.height, kept.height)
    assert kept["problem"].to_list() == ["What is 2+2?", "What is 6+6?"]
    rejects = q.rejects
    assert rejects.select("stage", "reason").rows() == [
        ("dedup", "duplicate_exact"),
        ("filter", "missing_trace"),
        ("filter", "too_few_code_blocks"),
    ]
    payload = json.loads(rejects.filter(pl.col("reason") == "missing_trace")["row"][0])
    # the whole row is kept: nothing is lost
    assert payload["problem"] == "What is 3+3?" and payload["gold_answer"] == "6"
    assert [(s["stage"], s["rows_in"], s["kept"], s["rejected"]) for s in q.summary()] == [
        ("dedup", 5, 4, 1),
        ("filter", 4, 2, 2),
    ]
    assert q.summary()[1]["reasons"] == {"missing_trace": 1, "too_few_code_blocks": 1}


def test_a_stage_that_drops_a_row_silently_is_caught() -> None:
    df = _frame()

    def lossy(d: pl.DataFrame) -> StageResult:
        return StageResult(kept=d.head(2), rejected=make_rejects(d[2:3], "lossy", ["whatever"]))

    with pytest.raises(RowsLostError, match="stage 'lossy'"):
        Quarantine().run(df, [("lossy", lossy)])


def test_a_stage_that_duplicates_rows_is_caught_and_chain_totals_are_checked() -> None:
    df = _frame()
    with pytest.raises(RowsLostError):
        Quarantine().run(df, [("dup", lambda d: StageResult(kept=pl.concat([d, d.head(1)])))])
    q = Quarantine()
    kept = q.run(df, [("noop", lambda d: StageResult(kept=d))])
    with pytest.raises(RowsLostError):
        q.check(df.height + 1, kept.height)
    assert q.rejects.height == 0 and list(q.rejects.columns) == ["stage", "reason", "detail", "id", "row"]
