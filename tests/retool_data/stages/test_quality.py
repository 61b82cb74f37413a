"""The quality stage: every row gets the scorer's columns; a minimum score quarantines the weak."""

from __future__ import annotations

import polars as pl
import pytest

from retool_data.stages.quality import LOW_SCORE, score_traces

USEFUL = (
    "We need the roots of $x^2 - 5x + 6 = 0$.\n<code>\n```python\nfrom sympy import solve, symbols\n"
    "x = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))\n```\n</code>\n<interpreter>\n[2, 3]\n</interpreter>\n"
    "The roots are 2 and 3.\n<answer>\\boxed{5}</answer>"
)
DECORATING = (
    "There are 12 boys and 14 girls.\n<code>\n```python\nprint(12 + 14)\n```\n</code>\n<interpreter>\n26\n"
    "</interpreter>\nSo 12 + 14 = 26.\n<answer>\\boxed{26}</answer>"
)


def frame() -> pl.DataFrame:
    return pl.DataFrame({"id": ["a", "b", "c"], "trace": [USEFUL, DECORATING, None], "extra": [1, 2, 3]})


def test_scores_are_added_and_nothing_is_dropped_without_a_minimum():
    result = score_traces(frame())
    assert result.kept.height == 3 and result.rejected.height == 0
    assert result.kept["tool_use_score"].to_list() == [1.0, 0.0, 0.0]
    assert result.kept["block_labels"].to_list() == [["useful_solve"], ["rederived+trivial"], []]
    assert result.kept["extra"].to_list() == [1, 2, 3]  # unknown columns are kept
    assert result.stats["quality"]["blocks"] == 2


def test_a_minimum_quarantines_low_scores_with_their_labels():
    result = score_traces(frame(), min_score=0.5)
    assert result.kept["id"].to_list() == ["a"]
    assert result.rejected["reason"].to_list() == [LOW_SCORE, LOW_SCORE]
    assert (
        "rederived+trivial" in result.rejected["detail"][0]
        and "no code blocks" in result.rejected["detail"][1]
    )
    result.check_invariant(3)
    with pytest.raises(ValueError, match="min_score"):
        score_traces(frame(), min_score=2)
