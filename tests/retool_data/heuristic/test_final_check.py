"""The final check a problem allows: substitute the answer back, compute the asked value, or test the found point."""

from __future__ import annotations

from retool_data.heuristic.assignments import assignments
from retool_data.heuristic.final_check import answer_values, final_check


def run(code: str) -> list[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {})  # noqa: S102 - our own generated code
    return out.getvalue().strip().split("\n")


def test_answers_read_as_values():
    assert len(answer_values("3 \\pm 2\\sqrt{2}")) == 2
    assert len(answer_values("\\{1, -2\\}")) == 2 and len(answer_values("x = 5")) == 1
    assert answer_values("x^2 + 1") is None and answer_values("\\text{east}") is None


def test_substitute_the_answer_back():
    check = final_check("Solve $2x^2 - 12x + 10 = 0$ for $x$.", "1, 5")
    assert check is not None and check.kind == "substitute"
    assert run(check.code) == ["0", "0"]
    assert final_check("Solve $2x^2 - 12x + 10 = 0$.", "2") is None  # 2 is not a root: no check


def test_compute_the_asked_value_directly():
    check = final_check("Compute $\\dbinom{31}{28}$.", "4495")
    assert check is not None and check.kind == "evaluate" and run(check.code) == ["4495"]
    assert final_check("Compute $12 + 14$.", "26") is None  # a glance: no tool call


def test_check_the_point_the_reasoning_found():
    problem = (
        "Let $x,$ $y,$ $z$ be positive reals with $xyz = 2.$  Find the minimum of \\[x^4 + 4y^2 + 4z^4.\\]"
    )
    text = "Using $xyz = 2,$ we get $x = y = \\sqrt{2}$ and $z = 1,$ so the minimum value is $16.$"
    assert set(assignments(text)) == {"x", "y", "z"}
    check = final_check(problem, "16", text)
    assert check is not None and check.kind == "point"
    assert run(check.code) == ["True", "16"]
    assert final_check(problem, "17", text).expected == [True]  # the point still meets the condition
