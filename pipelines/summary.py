"""The per-stage funnel (rows in, kept, rejected by reason), rebuilt from the quarantine.

Every stage keeps or rejects each row it receives, so the rows entering stage k+1 are the rows entering
stage k minus stage k's rejects. From the number of source rows read and `rejected_rows` alone, the whole
funnel follows; the dataset card and `retool-data run`'s summary both print it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

# The order rows flow through the assets (stage names as the stage functions record them in REJECT_SCHEMA).
STAGE_ORDER = ("ingest", "verify", "rewrite", "filter", "consistency", "dedup", "decontaminate")


def stage_funnel(rows_read: int, rejected: pl.DataFrame) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for stage, reason, n in rejected.group_by("stage", "reason").len().iter_rows():
        counts.setdefault(stage, {})[reason] = n
    stages = list(STAGE_ORDER) + sorted(set(counts) - set(STAGE_ORDER))
    funnel, rows_in = [], rows_read
    for stage in stages:
        reasons = dict(sorted(counts.get(stage, {}).items(), key=lambda kv: (-kv[1], kv[0])))
        dropped = sum(reasons.values())
        funnel.append(
            {
                "stage": stage,
                "rows_in": rows_in,
                "kept": rows_in - dropped,
                "rejected": dropped,
                "reasons": reasons,
            }
        )
        rows_in -= dropped
    return funnel


def format_funnel(funnel: list[dict[str, Any]], top: int = 3) -> list[str]:
    lines = [f"{'stage':<14}{'in':>7}{'kept':>7}{'rejected':>10}  top reasons"]
    for s in funnel:
        # most frequent first, also for a funnel read back from an instance (JSON metadata comes back key-sorted)
        ranked = sorted(s["reasons"].items(), key=lambda kv: (-kv[1], kv[0]))
        reasons = ", ".join(f"{r} {n}" for r, n in ranked[:top])
        more = len(s["reasons"]) - top
        reasons += f", +{more} more" if more > 0 else ""
        lines.append(f"{s['stage']:<14}{s['rows_in']:>7}{s['kept']:>7}{s['rejected']:>10}  {reasons or '-'}")
    return lines
