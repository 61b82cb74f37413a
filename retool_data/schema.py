"""Frame schemas shared by every stage, and the quarantine (reject-row) contract.

One record flows through the pipeline: a problem row (`PROBLEM_SCHEMA`). Each stage adds its own columns
(`VERIFY_COLUMNS`, `REWRITE_COLUMNS`, ...) and never removes earlier ones, so any kept row explains itself.
A stage returns a `StageResult`: the rows it kept, and one reject row per dropped row (`REJECT_SCHEMA`), so the
invariant ``rows_in == len(kept) + len(rejected)`` holds per stage and nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from retool_data.textnorm import identity_text

PROBLEM_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),  # the row key: row_id(problem_id, response_index), unique in every frame
    "problem_id": pl.String(),  # stable hash of the normalized problem text, shared by its responses
    "response_index": pl.Int64(),  # 0-based: which teacher response to this problem (source order)
    "dataset": pl.String(),  # where the row was read: a Hub id, a file path, or "bundled-sample"
    "source": pl.String(),  # the upstream source as the dataset labels it (e.g. "amc_aime", "olympiads")
    "source_id": pl.String(),  # the row's identifier inside `dataset` (its index when it has none)
    "problem": pl.String(),
    "reasoning": pl.String(),  # the teacher's (DeepSeek-R1's) thinking, text only
    "solution": pl.String(),  # the teacher's final written solution (may hold the \boxed{} answer)
    "gold_solution": pl.String(),  # the reference solution from the source, when there is one
    "gold_answer": pl.String(),  # the reference final answer (extracted from gold_solution when not given)
    "domain": pl.String(),
    "difficulty": pl.Float64(),
}

VERIFY_COLUMNS: dict[str, pl.DataType] = {
    "teacher_answer": pl.String(),  # the answer extracted from reasoning/solution
    "verify_method": pl.String(),  # "rule" | "judge" | "none"
    "verify_verdict": pl.String(),  # "correct" | "incorrect" | "undecided" | "judge_error"
    "verify_reason": pl.String(),  # why: the rule's comparison, or the judge's reason (+ the rules' view)
    "verify_judge": pl.String(),  # the judge backend, e.g. "openai:deepseek-reasoner"; null unless judged
    "verify_template": pl.String(),  # the judge prompt's id, e.g. "retool-judge@1"; null unless judged
}

REWRITE_COLUMNS: dict[str, pl.DataType] = {
    "trace": pl.String(),  # the code-augmented reasoning (ReTool trace format); null when there is no reply
    "raw_reply": pl.String(),  # the LLM rewriter's raw reply, before parsing; null for the heuristic
    "rewrite_backend": pl.String(),  # "heuristic" | "openai:<model>" | "vllm:<model>"
    "rewrite_template": pl.String(),  # template id, e.g. "retool-coldstart@2" (LLM) or "retool-heuristic@3"
    # "ok" (kept) | "no_code" | "unparseable" | "invalid" | "error" | "no_reasoning" | "no_answer" (quarantined)
    "rewrite_status": pl.String(),
    "rewrite_reason": pl.String(),  # why not ok (validate_trace codes, the request error), or what was done
    "num_code_blocks": pl.Int64(),
}

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "stage": pl.String(),  # the stage that dropped the row, e.g. "verify", "consistency", "decontaminate"
    "reason": pl.String(),  # a stable machine-readable reason, e.g. "answer_mismatch"
    "detail": pl.String(),  # human-readable detail (which benchmark item, which block differed, ...)
    "id": pl.String(),
    "row": pl.String(),  # the whole dropped row as JSON, so nothing is lost
}


def normalize_problem(text: str) -> str:
    """Problem text reduced for identity (`textnorm.identity_text`): NFKC, invisible characters removed,
    non-ASCII confusables folded to their TR39 skeletons, casefolded, whitespace collapsed, `$` dropped."""
    return identity_text(text)


def problem_id(problem: str) -> str:
    """Stable id of a problem: the first 16 hex digits of sha256 over its normalized text."""
    return hashlib.sha256(normalize_problem(problem).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def row_id(problem_key: str, response_index: int | None) -> str:
    """The row key: the problem id for a problem's first response, ``<problem_id>-r<index>`` for the others.

    One response per problem (most sources) keeps ``id == problem_id``; several responses to one problem
    (OpenThoughts3) get distinct, stable keys in source order."""
    return problem_key if not response_index else f"{problem_key}-r{response_index}"


def problem_keys(df: pl.DataFrame) -> pl.Series:
    """Each row's problem: the ``problem_id`` column, else (frames written before it existed) the row ``id``."""
    if "problem_id" in df.columns and "id" in df.columns:
        return df.select(pl.coalesce("problem_id", "id")).to_series().alias("problem_id")
    column = "problem_id" if "problem_id" in df.columns else "id"
    return (
        df[column].alias("problem_id")
        if column in df.columns
        else pl.Series("problem_id", [None] * df.height)
    )


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing schema columns as nulls and cast present ones; extra columns are kept at the end."""
    cols = []
    for name, dtype in schema.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype, strict=False))
        else:
            cols.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [c for c in df.columns if c not in schema]
    return df.select(cols + extra)


def _json_default(value: Any) -> Any:
    return str(value)


def make_rejects(
    rows: pl.DataFrame, stage: str, reasons: list[str], details: list[str] | None = None
) -> pl.DataFrame:
    """Reject rows (REJECT_SCHEMA) for `rows`, one reason (and optional detail) per row."""
    if len(reasons) != rows.height:
        raise ValueError(f"{len(reasons)} reasons for {rows.height} rows")
    details = details if details is not None else [""] * rows.height
    ids = rows["id"].to_list() if "id" in rows.columns else [None] * rows.height
    payload = [json.dumps(r, default=_json_default, ensure_ascii=False) for r in rows.iter_rows(named=True)]
    return pl.DataFrame(
        {"stage": [stage] * rows.height, "reason": reasons, "detail": details, "id": ids, "row": payload},
        schema=REJECT_SCHEMA,
    )


@dataclass
class StageResult:
    """What every stage returns: kept rows, reject rows, and counters for metadata."""

    kept: pl.DataFrame
    rejected: pl.DataFrame = field(default_factory=lambda: empty_frame(REJECT_SCHEMA))
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        return self.kept.height + self.rejected.height

    def reject_counts(self) -> dict[str, int]:
        if self.rejected.height == 0:
            return {}
        counts = self.rejected.group_by("reason").len().sort("reason")
        return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))

    def check_invariant(self, rows_in: int) -> None:
        """Raise if rows were lost: every input row must be kept or rejected exactly once."""
        if rows_in != self.rows_in:
            raise AssertionError(
                f"rows_in={rows_in} but kept={self.kept.height} + rejected={self.rejected.height} = {self.rows_in}"
            )
