"""The heuristic rewriter with the real sandbox: the code replaces the hand work, and prints what it says."""

from __future__ import annotations

import polars as pl
import pytest

from retool_data.sources import read_sample
from retool_data.stages.heuristic_rewrite import HEURISTIC_BACKEND, HEURISTIC_VERSION, heuristic_rewrite
from retool_data.trace import interpreter_text, parse_trace, validate_trace
from retool_data.trace_quality import score_trace
from sandbox import Sandbox
from tests.retool_data.stages.rows import CALC_ROWS, frame, row

ROWS = [
    row(
        "A hall has 12 rows of 17 seats. How many seats?",
        "Okay, so there are 12 rows and each row has 17 seats.\nSo the total is $12 \\times 17 = 204$ seats.\n"
        "Let me double check: 204 / 12 = 17. Yes.",
        "The total is $12 \\times 17 = \\boxed{204}$.",
        "204",
    ),
    CALC_ROWS[1],  # 3/4 + 5/6 by a common denominator
    row(
        "Solve $3x + 5 = 20$ for x.",  # in math delimiters: the final check can read the equation
        CALC_ROWS[3]["reasoning"],
        "\\boxed{5}",
        "5",
    ),
    row(
        "A rod of 3.3 m is cut into pieces 7.5 times... what is 7.5 times 3.3, to one decimal?",
        "Multiply: $7.5 \\times 3.3 \\approx 24.8$ (one decimal place).",
        "\\boxed{24.8}",
        "24.8",
    ),
]
EDGE_ROWS = [
    row("No text at all", "", "", "1"),
    row("No final answer", "So 12 \\times 17 = 204.", "Two hundred and four.", None),
    row("Nothing to compute", "The answer follows from symmetry.", "\\boxed{0}", "0"),
    row("Wrong arithmetic only", "So 12 \\times 17 = 205.", "\\boxed{205}", "204"),
    row("Only a glance", "So 12 + 14 = 26.", "\\boxed{26}", "26"),  # trivial: left as text
    row("Stray tags", "I will write <code> here. Then 12 \\times 17 = 204.", "\\boxed{204}", "204"),
]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=2, timeout_s=10.0) as sb:
        yield sb


def execution_check(kept, sb: Sandbox) -> int:
    """Re-run every code block of every kept trace in the sandbox; its output must be the interpreter text."""
    checked = 0
    for trace in kept["trace"]:
        calls = parse_trace(trace).tool_calls
        assert calls
        for call in calls:
            result = sb.run(call.code)
            assert result.status == "ok", (call.code, result.output)
            assert interpreter_text(result.output) == call.output, (call.code, result.output, call.output)
            checked += 1
    return checked


def test_the_code_replaces_the_hand_calculation(sandbox):
    result = heuristic_rewrite(frame(ROWS), sandbox)
    assert result.kept.height == len(ROWS) and result.rejected.height == 0
    traces = dict(zip(result.kept["problem"], result.kept["trace"], strict=True))
    for r in result.kept.iter_rows(named=True):
        assert r["rewrite_backend"] == HEURISTIC_BACKEND and r["rewrite_template"] == HEURISTIC_VERSION
        assert r["rewrite_status"] == "ok" and r["num_code_blocks"] >= 1 and r["raw_reply"] is None
        assert validate_trace(r["trace"]) == []
        score = score_trace(r["trace"])
        assert score.boxed_answers == 1 and not score.opens_with_code
        assert not any(
            {"rederived", "trivial", "contradicted", "premature"} & set(b.flags) for b in score.blocks
        )
    seats = traces[ROWS[0]["problem"]]
    assert (
        "So the total is $12 \\times 17$\n<code>" in seats
    )  # the block follows the sentence that motivates it
    assert "This gives $204$ seats." in seats and "12 \\times 17 = 204" not in seats
    equation = traces[ROWS[2]["problem"]]
    assert "3x = 15" not in equation and "print(solve(Eq(3 * x + 5, 20), x))" in equation
    assert "Check: substitute the answer back into $3x + 5 = 20$." in equation  # the final check
    decimal = traces[ROWS[3]["problem"]]
    assert 'Fraction("7.5") * Fraction("3.3")' in decimal and "\n24.8\n</interpreter>" in decimal
    assert execution_check(result.kept, sandbox) == result.stats["blocks_run"]


PROBLEM_CHECK_ROWS = [
    row(
        "How many positive whole-number divisors does 196 have?",
        "Since $196 = 2^2 \\cdot 7^2$, each exponent can be 0, 1 or 2 for both primes, so there are 9 divisors.",
        "\\boxed{9}",
        "9",
    ),
    row(
        "Find the general solution of the differential equation $\\dot{x}+2 x=e^{t}$, using $c$ for the constant.",
        "We can use integrating factors to get $(u x)^{\\prime}=u e^{t}$ for $u=e^{2 t}$. Integrating yields "
        "$e^{2 t} x=e^{3 t} / 3+c$, or $x=\\boxed{\\frac{e^{t}} {3}+c e^{-2 t}}$.",
        "",
        "\\frac{e^{t}} {3}+c e^{-2 t}",
    ),
    row(
        "What integer $x$ satisfies $\\frac{1}{4}<\\frac{x}{7}<\\frac{1}{3}$?",
        "Multiplying by 7 gives $\\frac{7}{4} < x < \\frac{7}{3}$, and the only integer between them is $x=2$.",
        "\\boxed{2}",
        "2",
    ),
]


def test_problems_without_a_calculation_get_a_check_read_off_the_problem(sandbox):
    result = heuristic_rewrite(frame(PROBLEM_CHECK_ROWS), sandbox)
    assert result.kept.height == len(PROBLEM_CHECK_ROWS), result.reject_counts()
    assert result.stats["final_checks"] == {"number_theory": 1, "ode": 1, "enumerate": 1}
    traces = dict(zip(result.kept["problem"], result.kept["trace"], strict=True))
    divisors, ode, integer = (traces[r["problem"]] for r in PROBLEM_CHECK_ROWS)
    assert "Check: list the positive divisors of 196 and count them." in divisors
    assert "[1, 2, 4, 7, 14, 28, 49, 98, 196]\n9\n</interpreter>" in divisors
    assert "print(simplify(diff(x, t) + 2*x - exp(t)))" in ode and "\n0\n</interpreter>" in ode
    assert "sols = [x for x in range(-1000, 1001) if" in integer and "\n[2]\n</interpreter>" in integer
    for trace in traces.values():
        score = score_trace(trace)
        assert score.labels and all(label.startswith("useful_") for label in score.labels), score.labels
        assert score.boxed_answers == 1 and not score.opens_with_code
    assert execution_check(result.kept, sandbox) == result.stats["blocks_run"]


def test_rows_without_something_to_rewrite_are_quarantined(sandbox):
    result = heuristic_rewrite(frame(EDGE_ROWS), sandbox)
    assert result.kept.height == 0
    reasons = dict(zip(result.rejected["id"], result.rejected["reason"], strict=True))
    assert [reasons[r["id"]] for r in EDGE_ROWS] == [
        "no_reasoning",
        "no_answer",
        "no_code",
        "no_code",
        "no_code",
        "invalid_trace",
    ]


def test_verified_rows_without_a_boxed_answer_end_with_the_reference_spelling(sandbox):
    df = frame([row("Verified by the judge", "So 12 \\times 17 = 204 seats in all.", "204 seats.", "204")])
    df = df.with_columns(verify_verdict=pl.lit("correct"), gold_answer=pl.lit("204\\text{ seats}"))
    result = heuristic_rewrite(df, sandbox)
    assert result.kept.height == 1
    assert result.kept["trace"][0].endswith("<answer>\\boxed{204}</answer>")


def test_bundled_sample_gets_code_for_most_rows(sandbox):
    sample = read_sample().kept
    result = heuristic_rewrite(sample, sandbox)
    result.check_invariant(sample.height)
    assert result.kept.height >= 0.75 * sample.height, result.reject_counts()
    assert set(result.reject_counts()) <= {"no_answer", "no_code"}
    assert execution_check(result.kept, sandbox) >= result.kept.height


def test_rerunning_gives_the_same_output(sandbox):
    first, again = heuristic_rewrite(frame(ROWS), sandbox), heuristic_rewrite(frame(ROWS), sandbox)
    assert first.kept.equals(again.kept) and first.rejected.equals(again.rejected)


def test_build_trace_drops_a_block_the_text_contradicts():
    """The last safety net: a float artifact passes the output check's slack, the scorer still catches it."""
    from collections import Counter
    from types import SimpleNamespace

    from retool_data.heuristic.rewriter import build_trace, plan_row

    plan = plan_row("How many?", "So $\\frac{300}{100} \\cdot 17 = 51$ in all.", "51")
    assert len(plan.calcs) == 1
    artifact = SimpleNamespace(status="ok", output="50.99999999999999\n")
    dropped = Counter[str]()
    trace = build_trace(plan, [artifact], dropped)
    assert dropped == {"contradicted_by_text": 1} and "<code>" not in trace
    exact = SimpleNamespace(status="ok", output="51\n")
    assert "<code>" in build_trace(plan, [exact], Counter())
