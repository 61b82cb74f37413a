"""Format, length, tool-use and answer filters over rewritten traces (datatrove style).

Each rule is one early return with a stable reason; thresholds are constructor arguments and ``None`` switches
a rule off. Rules run in this order, and a row is rejected with the first that fails:

1. ``missing_trace``: no trace text at all;
2. ``format_<code>``: `retool_data.trace.validate_trace` found a problem whose code is in ``fatal_codes``
   (the first in `PROBLEM_CODES` order names the reason; the detail lists them all). Non-fatal codes are kept
   in the row's ``format_warnings``;
3. ``too_few_code_blocks`` / ``too_many_code_blocks``;
4. ``too_short`` / ``too_long``: trace length in tokens of the configured tokenizer;
5. ``no_final_answer`` / ``no_reference_answer`` / ``answer_mismatch``: the trace's final ``\\boxed{}`` answer
   against ``gold_answer`` (or, without one, the teacher answer the verify stage judged correct), compared with
   `retool_data.answers.is_equivalent`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import polars as pl

from retool_data import answers
from retool_data.schema import StageResult, make_rejects
from retool_data.tokens import TokenCounter, make_token_counter
from retool_data.trace import PROBLEM_CODES, parse_trace, validate_parsed

STAGE = "filter"
# Trailing prose after </answer> does not break parsing, masking or rewards; everything else does.
DEFAULT_FATAL_CODES: frozenset[str] = frozenset(PROBLEM_CODES) - {"text_after_answer"}
ADDED_COLUMNS: dict[str, pl.DataType] = {
    "format_warnings": pl.List(pl.String()),
    "num_code_blocks": pl.Int64(),
    "trace_tokens": pl.Int64(),
    "final_answer": pl.String(),
    "answer_verdict": pl.String(),
}


# What `check` and `answer_reference` read from a row.
RULE_COLUMNS = ("trace", "gold_answer", "teacher_answer", "verify_verdict")


def answers_match(preds: list[str], golds: list[str]) -> list[bool]:
    """Equivalence per (pred, gold) pair, in one batch (`answers.are_equivalent`: quick exact checks first,
    math-verify in worker processes for the rest)."""
    return answers.are_equivalent(preds, golds) if preds else []


@dataclass
class TraceFilter:
    fatal_codes: Collection[str] | None = DEFAULT_FATAL_CODES
    min_code_blocks: int | None = 1
    max_code_blocks: int | None = None
    min_tokens: int | None = None
    max_tokens: int | None = 16384
    check_answer: bool = True
    tokenizer: str | Callable[[str], int] | None = "regex"

    def __post_init__(self) -> None:
        unknown = set(self.fatal_codes or ()) - set(PROBLEM_CODES)
        if unknown:
            raise ValueError(f"unknown trace problem codes {sorted(unknown)}; known: {sorted(PROBLEM_CODES)}")
        self._count: TokenCounter = make_token_counter(self.tokenizer)

    def check(self, row: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
        """(reason or None when kept, detail, columns to add to a kept row)."""
        trace = row.get("trace")
        # A row without a trace cannot teach tool use.
        if not trace or not trace.strip():
            return "missing_trace", "", {}
        parsed = parse_trace(trace)  # once: the format check and the rules below share it
        codes = [p.code for p in validate_parsed(parsed)]
        fatal = [c for c in PROBLEM_CODES if c in codes and c in (self.fatal_codes or ())]
        if fatal:
            return f"format_{fatal[0]}", ", ".join(sorted(set(codes))), {}
        blocks = len(parsed.code_blocks)
        if self.min_code_blocks is not None and blocks < self.min_code_blocks:
            return "too_few_code_blocks", f"{blocks} < {self.min_code_blocks}", {}
        if self.max_code_blocks is not None and blocks > self.max_code_blocks:
            return "too_many_code_blocks", f"{blocks} > {self.max_code_blocks}", {}
        tokens = self._count(trace)
        if self.min_tokens is not None and tokens < self.min_tokens:
            return "too_short", f"{tokens} tokens < {self.min_tokens}", {}
        if self.max_tokens is not None and tokens > self.max_tokens:
            return "too_long", f"{tokens} tokens > {self.max_tokens}", {}
        return (
            None,
            "",
            {
                "format_warnings": sorted(set(codes)),
                "num_code_blocks": blocks,
                "trace_tokens": tokens,
                "final_answer": parsed.final_answer,
                "answer_verdict": "unchecked",
            },
        )

    def answer_reference(self, row: dict[str, Any], final: str | None) -> tuple[str | None, str]:
        """(reference answer, or None with the reject reason) for the answer rule."""
        if not final:
            return None, "no_final_answer"
        gold = row.get("gold_answer")
        if not gold and row.get("verify_verdict") == "correct":
            gold = row.get("teacher_answer")
        return (gold, "") if gold else (None, "no_reference_answer")

    def __call__(self, df: pl.DataFrame) -> StageResult:
        # Only the columns the rules read: converting every column of every row to Python and building the
        # kept frame back from dicts cost more than the rules themselves.
        columns = [c for c in RULE_COLUMNS if c in df.columns]
        rows = df.select(columns).to_dicts() if columns else [{} for _ in range(df.height)]
        outcome: list[tuple[str | None, str, dict[str, Any]]] = [self.check(row) for row in rows]
        if self.check_answer:
            pending: list[tuple[int, str, str]] = []
            for i, (reason, _, extra) in enumerate(outcome):
                if reason is not None:
                    continue
                gold, why = self.answer_reference(rows[i], extra["final_answer"])
                if gold is None:
                    detail = (
                        "neither gold_answer nor a verified teacher_answer"
                        if why == "no_reference_answer"
                        else ""
                    )
                    outcome[i] = (why, detail, {})
                else:
                    pending.append((i, extra["final_answer"], gold))
            verdicts = answers_match([p for _, p, _ in pending], [g for _, _, g in pending])
            for (i, pred, gold), ok in zip(pending, verdicts, strict=True):
                if ok:
                    outcome[i][2]["answer_verdict"] = "equivalent"
                else:
                    outcome[i] = ("answer_mismatch", f"trace answer {pred!r} vs reference {gold!r}", {})
        kept_idx = [i for i, (reason, _, _) in enumerate(outcome) if reason is None]
        rejected_idx = [i for i, (reason, _, _) in enumerate(outcome) if reason is not None]
        if kept_idx:  # an added column that df already has is replaced in place, as {**row, **extra} did
            kept = df[kept_idx].with_columns(
                pl.Series(name, [outcome[i][2][name] for i in kept_idx], dtype=dtype)
                for name, dtype in ADDED_COLUMNS.items()
            )
        else:
            kept = pl.DataFrame(schema={**df.schema, **ADDED_COLUMNS})
        rejected = make_rejects(
            df[rejected_idx],
            STAGE,
            [outcome[i][0] for i in rejected_idx],
            [outcome[i][1] for i in rejected_idx],
        )
        stats = {"rows_in": df.height, "kept": kept.height, "rejected": len(rejected_idx)}
        return StageResult(kept=kept, rejected=rejected, stats=stats)


def filter_traces(df: pl.DataFrame, **thresholds: Any) -> StageResult:
    """`TraceFilter(**thresholds)(df)`: the format, tool-use, length and answer rules in one stage."""
    return TraceFilter(**thresholds)(df)
