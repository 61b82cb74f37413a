"""ReTool's behaviour metrics over a set of rollouts (paper §3.4: response length, code ratio, tool calls, code pass
rate, when the first call happens, truncation). Shared by GRPO logging and evaluation.

Inputs are `RolloutResult.summary()` dicts (JSON-safe, so they can be gathered across processes or read back
from eval records). Rates with no denominator (code success with no calls) are NaN, which TRL's logger skips.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

NAN = float("nan")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else NAN


def behaviour_metrics(summaries: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """``response_length`` (completion tokens, interpreter included), ``model_tokens``, ``code_ratio`` (share of
    rollouts with a tool call), ``tool_calls`` (per rollout), ``code_success_rate`` (calls that ran without error),
    ``first_call_position`` (tokens before the first interpreter block) and ``first_call_ratio`` (that position as
    a share of the response), ``truncation_rate`` (out of budget), ``max_tool_calls_rate``."""
    rows = list(summaries)
    calls = [float(r["num_tool_calls"]) for r in rows]
    total_calls = sum(calls)
    errors = sum(float(r["code_errors"]) for r in rows)
    first = [r["first_call_position"] for r in rows if r.get("first_call_position") is not None]
    first_ratio = [r["first_call_ratio"] for r in rows if r.get("first_call_ratio") is not None]
    return {
        "response_length": _mean([float(r["completion_tokens"]) for r in rows]),
        "model_tokens": _mean([float(r["model_tokens"]) for r in rows]),
        "code_ratio": _mean([1.0 if c > 0 else 0.0 for c in calls]),
        "tool_calls": _mean(calls),
        "code_success_rate": (total_calls - errors) / total_calls if total_calls else NAN,
        "first_call_position": _mean([float(x) for x in first]),
        "first_call_ratio": _mean([float(x) for x in first_ratio]),
        "truncation_rate": _mean([1.0 if r["end"] == "length" else 0.0 for r in rows]),
        "max_tool_calls_rate": _mean([1.0 if r["end"] == "max_tool_calls" else 0.0 for r in rows]),
    }


def finite(metrics: Mapping[str, float]) -> dict[str, float]:
    """The metrics that have a value (drops NaN), e.g. for JSON reports."""
    return {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}
