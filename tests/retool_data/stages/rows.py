"""Problem rows in the PROBLEM_SCHEMA shape for stage tests (R1-style reasoning with explicit calculations)."""

from __future__ import annotations

from typing import Any

import polars as pl

from retool_data.schema import PROBLEM_SCHEMA, conform, problem_id


def row(
    problem: str, reasoning: str, solution: str = "", gold_answer: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": problem_id(problem),
        "dataset": "tests",
        "source": "synthetic",
        "source_id": problem[:20],
        "problem": problem,
        "reasoning": reasoning,
        "solution": solution,
        "gold_solution": extra.pop("gold_solution", None),
        "gold_answer": gold_answer,
        "domain": "math",
        "difficulty": None,
        **extra,
    }


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return conform(
        pl.DataFrame(rows, schema_overrides=PROBLEM_SCHEMA, infer_schema_length=None), PROBLEM_SCHEMA
    )


CALC_ROWS = [
    row(
        "A box holds 12 rows of 7 apples. How many apples?",
        "Okay, so there are 12 rows and each row has 7 apples.\nSo the total is $12 \\times 7 = 84$ apples.\n"
        "Let me double check: 84 / 12 = 7. Yes.",
        "The total is $12 \\times 7 = 84$, so the answer is $\\boxed{84}$.",
        "84",
    ),
    row(
        "What is 3/4 + 5/6?",
        "I need a common denominator. \\(\\frac{3}{4} + \\frac{5}{6} = \\frac{9}{12} + \\frac{10}{12} = \\frac{19}{12}\\).\n"
        "So the sum is 19/12.",
        "$\\frac{3}{4}+\\frac{5}{6}=\\boxed{\\frac{19}{12}}$",
        "\\frac{19}{12}",
    ),
    row(
        "Compute 2^{10} - 3^5.",
        "First, 2^{10} = 1024. Then 3^5 = 243.\nSo 1024 - 243 = 781.",
        "The answer is \\boxed{781}.",
        "781",
    ),
    row(
        "Solve 3x + 5 = 20 for x.",
        "We have the equation 3x + 5 = 20.\nSubtracting 5 from both sides gives 3x = 15, so x = 5.",
        "\\boxed{5}",
        "5",
    ),
]
