"""The trace-quality scorer: one label per code block, a tool-use score per trace."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from retool_data.heuristic.code_profile import code_profile
from retool_data.trace_quality import score_trace, summarize, summarize_labels


def block(code: str, output: str) -> str:
    return f"<code>\n```python\n{code}\n```\n</code>\n<interpreter>\n{output}\n</interpreter>\n"


def trace(*parts: str, answer: str = "5") -> str:
    return "".join(parts) + f"<answer>\\boxed{{{answer}}}</answer>"


def test_decorating_blocks_get_their_negative_labels():
    t = trace(
        "There are 12 boys and 14 girls.\n",
        block("print(12 + 14)", "26"),
        "So 12 + 14 = 26 children.\n",  # trivial, and redone by hand right after
        "Next we solve the equation.\n",
        block("from sympy import solve, symbols\nx = symbols('x')\nprint(solve(3*x + 5 - 20, x))", "[5]"),
        "so 3x = 15 and x = 5.\n",  # the algebra redone by hand
        "The average is\n",
        block("print(76/9)", "8.444444444444445"),
        "which is $8.\\overline{4}$.\n",  # a float beside an exact repeating decimal
    )
    s = score_trace(t)
    assert s.labels == ["rederived+trivial", "rederived", "contradicted+trivial"]
    assert s.useful_share == 0 and s.tool_use_score == 0 and s.boxed_answers == 1 and not s.opens_with_code


def test_blocks_that_do_the_work_are_useful_with_their_purpose():
    t = trace(
        "We need the roots of $x^2 - 5x + 6 = 0$.\n",
        block(
            "from sympy import solve, symbols\nx = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))", "[2, 3]"
        ),
        "The roots are 2 and 3. Count the multiples of 3 or 5 up to 100:\n",
        block("print(sum(1 for n in range(1, 101) if n % 3 == 0 or n % 5 == 0))", "47"),
        "There are 47. The product of the two large numbers is\n",
        block("print(1234 * 5678)", "7006652"),
        "which is 7006652. Check it against the condition:\n",
        block("print(7006652 % 7 == 0)", "False"),
        "so it is not a multiple of 7.\n",
    )
    s = score_trace(t)
    assert s.labels == ["useful_solve", "useful_enumerate", "useful_compute", "useful_check"]
    assert s.tool_use_score == 1.0


def test_a_block_before_its_motivation_and_a_trace_opening_with_code():
    opening = trace(block("print(1234 * 5678)", "7006652"), "So the product is 7006652.\n")
    s = score_trace(opening)
    assert s.opens_with_code and s.labels == ["premature"]
    before = trace(
        "Now the next step.\n",
        block("print(1234 * 5678)", "7006652"),
        "We multiply 1234 by 5678 and get 7006652.\n",  # the operands show up only after the block
    )
    assert score_trace(before).labels == ["premature"]


def test_results_stated_in_their_own_form_are_not_rederivations():
    t = trace(
        "Factor the number $220$:\n",
        block("from sympy import factorint\nprint(factorint(220))", "{2: 2, 5: 1, 11: 1}"),
        "so $220 = 2^2 \\cdot 5 \\cdot 11$ and $x = \\frac{3}{2}$, $y = -4$.\n",
    )
    assert score_trace(t).labels == ["useful_compute"]


def test_boxed_answers_are_counted_and_summaries_add_up():
    twice = (
        "The answer is $\\boxed{5}$.\n"
        + "Compute it:\n"
        + block("print(2**10 - 3**5)", "781")
        + "<answer>\\boxed{5}</answer>"
    )
    s = score_trace(twice)
    assert s.boxed_answers == 2
    summary = summarize([s, score_trace(None)])
    assert summary["traces"] == 2 and summary["blocks"] == 1 and summary["traces_with_one_boxed_answer"] == 0
    from_columns = summarize_labels([s.labels, []], [s.tool_use_score, 0.0])
    assert {k: from_columns[k] for k in from_columns} == {k: summary[k] for k in from_columns}


def test_code_profiles():
    assert code_profile("print(12 + 14)").trivial and code_profile("print(12 * 7)").trivial
    assert not code_profile("print(12 * 17)").trivial and not code_profile("print(1024 - 243)").trivial
    assert not code_profile("print(Fraction(3, 4) + Fraction(5, 6))").trivial
    assert code_profile("from sympy import expand\nprint(expand((x+1)**2))").purpose == "simplify"
    assert code_profile("assert 3 + 4 == 7").purpose == "check"
    assert code_profile("print(").purpose == "compute"  # unparseable code is not credited with a purpose


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "So ",
                "$",
                "2i",
                " = ",
                "-2 + 7i",
                "\\frac{1}{0}",
                "10^{999}",
                " x ",
                "\\sqrt{-4}",
                "12 + 14",
                "\n",
                "0.5",
                "<code>\n```python\nprint(1)\n```\n</code>\n",
                "<interpreter>\n1e308\n</interpreter>\n",
                "<interpreter>\n[]\n",
                "<answer>\\boxed{1}</answer>",
                "\\boxed{",
                "8.\\overline{4}",
                "sqrt(2)**99999",
                "(",
                "3x = ",
                "\\pm",
            ]
        ),
        max_size=14,
    )
)
def test_the_scorer_never_raises_on_what_a_model_writes(parts):
    score = score_trace("".join(parts))
    assert 0.0 <= score.tool_use_score <= 1.0
