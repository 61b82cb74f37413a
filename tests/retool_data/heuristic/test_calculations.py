"""Finding calculations in R1-style reasoning: what becomes code, what stays text, and the spans a block uses."""

from __future__ import annotations

import sympy

from retool_data.heuristic.calculations import find_calculations
from retool_data.heuristic.checks import output_matches


def statements(text: str) -> list[str]:
    return [c.statement for c in find_calculations(text)]


def test_equalities_in_inline_math_and_plain_text_with_their_spans():
    text = (
        "So the total is $12 \\times 17 = 204$ apples.\n"
        "Then 1024 - 243 = 781, and \\(\\frac{3}{4} + \\frac{5}{6} = \\frac{9}{12} + \\frac{10}{12} = \\frac{19}{12}\\)."
    )
    calcs = find_calculations(text)
    assert [c.statement for c in calcs] == [
        "print(12 * 17)",
        "print(1024 - 243)",
        "print(Fraction(3, 4) + Fraction(5, 6))",
    ]
    assert [c.line for c in calcs] == [0, 1, 1]
    # the block goes right after the computed expression; the text resumes at the stated result
    assert [text[c.start : c.cut] for c in calcs] == [
        "12 \\times 17",
        "1024 - 243",
        "\\frac{3}{4} + \\frac{5}{6}",
    ]
    assert [text[c.resume :].split("$")[0].split(",")[0].split("\\)")[0] for c in calcs] == [
        "204",
        "781",
        "\\frac{19}{12}",
    ]
    assert calcs[2].expected == sympy.Rational(19, 12)


def test_wrong_trivial_reversed_and_repeated_calculations_stay_text():
    text = (
        "But 12 \\times 17 = 205 is wrong.\n"  # the text's arithmetic is wrong: never turned into code
        "Also 12 + 14 = 26 and 12 \\times 7 = 84.\n"  # one operation on small numbers: a glance, not a tool call
        "And 221 = 13 \\times 17.\n"  # the result comes first: nothing is computed here
        "f(2) = x + 3 = 5.\n"  # has a variable
        "Check: 13 \\times 17 = 221. Again 13 \\times 17 = 221.\n"  # the second one is a repeat
    )
    assert statements(text) == ["print(13 * 17)"]


def test_chains_claim_the_last_stated_result():
    assert statements("since 5^2 + 12^2 = 169 = 13^2") == ["print(5**2 + 12**2)"]
    assert statements("2^{10} - 3^5 = 1024 - 243 = 781") == ["print(2**10 - 3**5)"]


def test_decimals_are_exact_and_rounded_only_to_the_stated_places():
    calcs = find_calculations("The area is \\(\\pi \\cdot 3^2 \\approx 28.27\\).")
    assert [c.statement for c in calcs] == ["print(round(float(pi * 3**2), 2))"]
    assert calcs[0].tolerance == 0.005  # half a unit of the last written place, not a whole one
    # 0.1 * 3 + 1.7 is exactly 2: Fraction arithmetic, never 2.0000000000000004
    assert statements("so 0.1 \\times 3 + 1.7 = 2.0") == [
        'print(float(Fraction("0.1") * 3 + Fraction("1.7")))'
    ]
    # 3.77 * 2 = 7.54 is not "7.6" at one decimal place (a tolerance of 0.1 would have let it through)
    assert statements("so 3.77 \\times 2 \\approx 7.6") == []
    assert statements("so 3.77 \\times 2.02 \\approx 7.6") == [
        'print(round(float(Fraction("3.77") * Fraction("2.02")), 1))'
    ]


def test_repeating_decimals_and_scientific_notation_are_claims_too():
    calcs = find_calculations("so $\\frac{152}{18} = 8.\\overline{4}$")
    assert [c.statement for c in calcs] == ["print(Fraction(152, 18))"] and calcs[0].tolerance == 0
    sci = find_calculations(
        "$E = \\frac{6.6 \\times 10^{-34} \\times 3 \\times 10^{8}}{5 \\times 10^{-7}} = 3.96 \\times 10^{-19}$"
    )
    assert (
        len(sci) == 1 and sci[0].statement.startswith("print(format(float(") and '".2e"' in sci[0].statement
    )


def test_equations_are_solved_when_the_text_states_the_solution():
    text = "We have the equation 3x + 5 = 20.\nSubtracting 5 gives 3x = 15, so x = 5."
    calcs = find_calculations(text)
    assert [c.kind for c in calcs] == ["equation"]  # 3x = 15 has the same solution: done once
    assert calcs[0].statement == "x = symbols('x')\nprint(solve(Eq(3 * x + 5, 20), x))"
    assert calcs[0].expected == [5]
    # the hand algebra between the equation and its solution is what the block replaces
    assert text[calcs[0].start : calcs[0].cut] == "3x + 5 = 20" and text[calcs[0].resume :] == "x = 5."
    quadratic = find_calculations("We need x^2 - 5x + 6 = 0.\nFactoring, x = 2 or x = 3.")
    assert quadratic[0].expected == [2] and quadratic[0].line == 0
    surd = find_calculations("so $x^2 - 6x + 1 = 0$, and the roots are $x = 3 \\pm 2 \\sqrt{2}$.")
    assert len(surd) == 1 and surd[0].claim == "x = 3 \\pm 2 \\sqrt{2}"
    reversed_ = find_calculations("We get 5 - a = -3, so 8 = a.")
    assert [c.expected for c in reversed_] == [[8]]
    # a wrong stated solution, or none at all: no code
    assert find_calculations("Solve 2y + 1 = 9.\nSo y = 5.") == []
    assert find_calculations("Consider 2y + 1 = 9.\nLet us move on.") == []


def test_algebra_done_by_hand_becomes_sympy():
    assert statements("Then $(x - 1)(x + 2) = x^2 + x - 2$.") == [
        "x = symbols('x')\nprint(expand((x - 1) * (x + 2)))"
    ]
    assert statements("and $x^2 + 6x + 9 = (x + 3)^2$") == [
        "x = symbols('x')\nprint(factor(x**2 + 6 * x + 9))"
    ]
    assert statements("and $\\sin^2 x + \\cos^2 x = 1$") == [
        "x = symbols('x')\nprint(simplify(sin(x)**2 + cos(x)**2 - (1)) == 0)"
    ]
    assert statements("so $x + y = 10$ and $x - y = 2$") == []  # equations, not identities


def test_a_chain_written_down_an_align_is_one_chain():
    text = "\\begin{align*}\nL &= \\frac{3}{4} + \\frac{5}{6} \\\\\n&= \\frac{19}{12}.\n\\end{align*}"
    calcs = find_calculations(text)
    assert [c.statement for c in calcs] == ["print(Fraction(3, 4) + Fraction(5, 6))"]
    assert text[calcs[0].resume :].startswith("\\frac{19}{12}")


def test_units_functions_bases_and_complex_numbers():
    assert statements("$\\omega=\\frac{10}{2(0.005)}=1000 \\mathrm{r} / \\mathrm{s}$") == [
        'print(Fraction(10) / (2 * Fraction("0.005")))'  # exactly 1000: printed exactly
    ]
    assert statements("$m = -7+5 \\log \\left[\\frac{3 \\times 10^{6}}{10}\\right]=20.39$") == [
        "print(round(float(-7 + 5 * log(S(3 * 10**6) / 10, 10)), 2))"
    ]
    assert statements("so $58_9 - 18_9 = 36$") == ['print(int("58", 9) - int("18", 9))']
    assert statements("the image is $i(7 + 2i) = -2 + 7i$") == ["print(simplify(I * (7 + 2 * I)))"]


def test_output_check_compares_printed_values():
    calcs = find_calculations("So 12 \\times 17 = 204 and 2^{10} \\cdot 3 = 3072.")
    assert output_matches("ok", "204\n3072\n", calcs) is None
    assert output_matches("ok", "204\n3071\n", calcs) == "value_differs"
    assert output_matches("ok", "204\n", calcs) == "unexpected_output_lines"
    assert output_matches("error", "NameError: x", calcs) == "sandbox_error"
    eq = find_calculations("We have 3x + 5 = 20, so x = 5.")
    assert (
        output_matches("ok", "[5]\n", eq) is None and output_matches("ok", "[4]\n", eq) == "solutions_differ"
    )
    ident = find_calculations("Then $(x - 1)(x + 2) = x^2 + x - 2$.")
    assert output_matches("ok", "x**2 + x - 2\n", ident) is None
    assert output_matches("ok", "x**2 + x + 2\n", ident) == "identity_differs"


def test_pieces_of_larger_expressions_are_not_calculations():
    # each right-hand side happens to equal a piece of the left: only the whole expression counts
    for text in [
        "x^2 + 1600 = 1602",
        "x_1 + 1200 = 1201",
        "\\cdot 5 + 3000 = 3005",
        "3 + 4000 = 4003x",
        "2 + 3000 = 3002^2",
        "y - 2000 + 5000 = 3000",
    ]:
        assert statements(text) == [], text
    # sentence ends, articles and contractions are not math
    assert statements("So n = 8. 2^8 \\cdot 3 = 768.") == ["print(2**8 * 3)"]
    assert statements("so that's 1700 + 4000 = 5700 a day") == ["print(1700 + 4000)"]


def test_an_estimate_chain_computes_the_result_before_a_unit_conversion():
    """``\\simeq`` lines are read; the stated result the value matches is claimed, the conversion after stays text."""
    text = (
        "$\\tau \\simeq \\frac{2 \\times 10^{27} \\mathrm{~cm}}{10^{6} \\mathrm{~cm} / \\mathrm{sec}} "
        "\\simeq 2 \\times 10^{21} \\mathrm{sec} \\simeq 6e13 \\text { years }$"
    )
    (calc,) = find_calculations(text)
    assert calc.claim == "2 \\times 10^{21}" and calc.expected == 2 * 10**21
    assert text[calc.resume :].startswith("2 \\times 10^{21}")  # the text resumes at the claimed result
