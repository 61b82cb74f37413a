"""The quarantine: every row any stage drops, with its stage and reason, and per-stage accounting.

`Quarantine.record` checks the invariant ``rows_in == kept + rejected`` of each stage as it happens (a stage
that loses or invents a row raises at once, naming the stage), and keeps the reject rows, so one frame holds
everything the curation dropped and why. `summary()` is what the dataset card and Dagster metadata show.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from retool_data.schema import REJECT_SCHEMA, StageResult, empty_frame

Stage = Callable[[pl.DataFrame], StageResult]


class RowsLostError(AssertionError):
    """A stage's kept + rejected rows do not add up to its input rows."""


@dataclass
class StageReport:
    stage: str
    rows_in: int
    kept: int
    rejected: int
    reasons: dict[str, int]
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "rows_in": self.rows_in,
            "kept": self.kept,
            "rejected": self.rejected,
            "reasons": dict(self.reasons),
            "stats": self.stats,
        }


class Quarantine:
    def __init__(self) -> None:
        self.reports: list[StageReport] = []
        self._rejects: list[pl.DataFrame] = []

    def record(self, stage: str, rows_in: int, result: StageResult) -> pl.DataFrame:
        """Check the stage's invariant, keep its rejects, and return its kept rows."""
        try:
            result.check_invariant(rows_in)
        except AssertionError as err:
            raise RowsLostError(f"stage {stage!r}: {err}") from None
        if result.rejected.height and set(result.rejected.columns) != set(REJECT_SCHEMA):
            raise ValueError(f"stage {stage!r} returned rejects without the REJECT_SCHEMA columns")
        self.reports.append(
            StageReport(
                stage,
                rows_in,
                result.kept.height,
                result.rejected.height,
                result.reject_counts(),
                result.stats,
            )
        )
        if result.rejected.height:
            self._rejects.append(result.rejected.select(list(REJECT_SCHEMA)))
        return result.kept

    def run(self, df: pl.DataFrame, stages: Sequence[tuple[str, Stage]]) -> pl.DataFrame:
        """Apply stages in order, recording each; returns the rows every stage kept."""
        for name, stage in stages:
            df = self.record(name, df.height, stage(df))
        return df

    @property
    def rejects(self) -> pl.DataFrame:
        return pl.concat(self._rejects, how="vertical") if self._rejects else empty_frame(REJECT_SCHEMA)

    def summary(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.reports]

    def check(self, rows_in: int, rows_out: int) -> None:
        """The whole chain: every input row is in the output or in the quarantine exactly once."""
        rejected = sum(r.rejected for r in self.reports)
        if rows_in != rows_out + rejected:
            raise RowsLostError(f"rows_in={rows_in} but kept={rows_out} + quarantined={rejected}")
