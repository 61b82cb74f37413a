"""The trace-quality stage: score every trace's tool use (`retool_data.trace_quality`), optionally drop the weak.

Kept rows gain `trace_quality.QUALITY_COLUMNS` (``tool_use_score``, ``useful_block_share``, ``block_labels``); with
``min_score`` set, a row whose ``tool_use_score`` is below it is quarantined with reason ``low_tool_use_score``
(the detail lists its block labels). The scorer reads only the trace text, so LLM-rewritten and heuristic traces
are scored the same way.
"""

from __future__ import annotations

import polars as pl

from retool_data.schema import StageResult, make_rejects
from retool_data.trace_quality import QUALITY_COLUMNS, score_trace, summarize

STAGE = "quality"
LOW_SCORE = "low_tool_use_score"


def score_traces(df: pl.DataFrame, min_score: float | None = None) -> StageResult:
    """Add `QUALITY_COLUMNS` to every row; reject rows scoring below ``min_score`` (None: keep every row)."""
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise ValueError(f"min_score must be in [0, 1] (or None), got {min_score}")
    traces = df["trace"].to_list() if "trace" in df.columns else [None] * df.height
    scores = [score_trace(t) for t in traces]
    scored = df.with_columns(
        pl.Series(
            "tool_use_score", [s.tool_use_score for s in scores], dtype=QUALITY_COLUMNS["tool_use_score"]
        ),
        pl.Series(
            "useful_block_share",
            [s.useful_share for s in scores],
            dtype=QUALITY_COLUMNS["useful_block_share"],
        ),
        pl.Series("block_labels", [s.labels for s in scores], dtype=QUALITY_COLUMNS["block_labels"]),
    )
    low = [min_score is not None and s.tool_use_score < min_score for s in scores]
    mask = pl.Series(low, dtype=pl.Boolean)
    dropped = scored.filter(mask)
    details = [
        f"tool_use_score {s.tool_use_score:.2f} < {min_score}: {', '.join(s.labels) or 'no code blocks'}"
        for s, is_low in zip(scores, low, strict=True)
        if is_low
    ]
    kept = scored.filter(~mask)
    stats = {"rows_in": df.height, "kept": kept.height, "min_score": min_score, "quality": summarize(scores)}
    result = StageResult(kept, make_rejects(dropped, STAGE, [LOW_SCORE] * dropped.height, details), stats)
    result.check_invariant(df.height)
    return result
