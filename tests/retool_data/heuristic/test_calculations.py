"""Finding calculations in R1-style reasoning: what becomes code, what stays text, where blocks go."""

from __future__ import annotations

import sympy

from retool_data.heuristic.calculations import find_calculations, insertion_lines
from retool_data.heuristic.checks import output_matches


def statements(text: str) -> list[str]:
    return [c.statement for c in find_calculations(text)]


def test_equalities_in_inline_math_and_plain_text():
    text = (
        "So the total is $12 \\times 7 = 84$ apples.\n"
        "Then 1024 - 243 = 781, and \\(\\frac{3}{4} + \\frac{5}{6} = \\frac{9}{12} + \\frac{10}{12} = \\frac{19}{12}\\)."
    )
    assert statements(text) == [
        "print(12 * 7)",
        "print(1024 - 243)",
        "print(Fraction(3, 4) + Fraction(5, 6))",
    ]
    calcs = find_calculations(text)
    assert [c.line for c in calcs] == [0, 1, 1]
    assert (
        calcs[2].expected == sympy.Rational(19, 12) and "from fractions import Fraction" in calcs[2].imports
    )


def test_wrong_trivial_reversed_and_repeated_calculations_stay_text():
    text = (
        "But 12 \\times 7 = 85 is wrong.\n"  # the text's arithmetic is wrong: never turned into code
        "Also 3 + 4 = 7.\n"  # one operation on one-digit numbers: not worth a tool call
        "And 221 = 13 \\times 17.\n"  # the result comes first: nothing is computed here
        "f(2) = x + 3 = 5.\n"  # has a variable
        "Check: 13 \\times 17 = 221. Again 13 \\times 17 = 221.\n"  # the second one is a repeat
    )
    assert statements(text) == ["print(13 * 17)"]


def test_chains_claim_the_last_stated_result():
    assert statements("since 5^2 + 12^2 = 169 = 13^2") == ["print(5**2 + 12**2)"]
    assert statements("2^{10} - 3^5 = 1024 - 243 = 781") == ["print(2**10 - 3**5)"]


def test_approximations_round_to_the_stated_digits():
    calcs = find_calculations("The area is \\(\\pi \\cdot 3^2 \\approx 28.27\\).")
    assert [c.statement for c in calcs] == ["print(round(float(pi * 3**2), 2))"]
    assert calcs[0].tolerance == 0.01


def test_equations_are_solved_when_the_text_states_the_solution():
    text = "We have the equation 3x + 5 = 20.\nSubtracting 5 gives 3x = 15, so x = 5."
    calcs = find_calculations(text)
    assert [c.kind for c in calcs] == ["equation"]  # 3x = 15 has the same solution: done once
    assert calcs[0].statement == "x = symbols('x')\nprint(solve(Eq(3 * x + 5, 20), x))"
    assert calcs[0].expected == [5]
    quadratic = find_calculations("We need x^2 - 5x + 6 = 0.\nFactoring, x = 2 or x = 3.")
    assert quadratic[0].expected == [2, 3] and quadratic[0].line == 1  # before the line stating the roots
    # a wrong stated solution, or none at all: no code
    assert find_calculations("Solve 2y + 1 = 9.\nSo y = 5.") == []
    assert find_calculations("Consider 2y + 1 = 9.\nLet us move on.") == []


def test_blocks_never_go_inside_a_display():
    text = "Compute the square.\n\\[\n84^2 = 7056\n\\]\nDone."
    calcs = find_calculations(text)
    assert [c.line for c in calcs] == [2]
    assert insertion_lines(text) == {2: 1, 3: 1}


def test_output_check_compares_printed_values():
    calcs = find_calculations("So 12 \\times 7 = 84 and 2^{10} = 1024.")
    assert output_matches("ok", "84\n1024\n", calcs) is None
    assert output_matches("ok", "84\n1023\n", calcs) == "value_differs"
    assert output_matches("ok", "84\n", calcs) == "unexpected_output_lines"
    assert output_matches("error", "NameError: x", calcs) == "sandbox_error"
    eq = find_calculations("We have 3x + 5 = 20, so x = 5.")
    assert (
        output_matches("ok", "[5]\n", eq) is None and output_matches("ok", "[4]\n", eq) == "solutions_differ"
    )


def test_pieces_of_larger_expressions_are_not_calculations():
    # each right-hand side happens to equal a piece of the left: only the whole expression counts
    for text in [
        "x^2 + 16 = 18",
        "x_1 + 12 = 13",
        "\\cdot 5 + 30 = 35",
        "3 + 40 = 43x",
        "2 + 30 = 32^2",
        "y - 20 + 50 = 30",
    ]:
        assert statements(text) == [], text
    # sentence ends, articles and contractions are not math
    assert statements("So n = 8. 2^8 = 256.") == ["print(2**8)"]
    assert statements("so that's 17 + 40 = 57 a day") == ["print(17 + 40)"]
