"""The arithmetic parser: LaTeX/plain text -> exact value and Python code that computes the same value."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from retool_data.heuristic.codegen import code_mode, to_python
from retool_data.heuristic.latex_math import MathParseError, parse_math
from retool_data.heuristic.latex_values import to_sympy


def run_code(expr) -> object:
    """Evaluate generated code the way the sandbox would (imports, then the expression)."""
    namespace: dict = {}
    exec("\n".join(sorted(expr.imports)), namespace)  # noqa: S102 - our own generated imports
    return eval(expr.code, namespace)  # noqa: S307


@pytest.mark.parametrize(
    ("text", "value", "mode", "code"),
    [
        (r"12 \times 7", 84, "int", "12 * 7"),
        ("12 × 7", 84, "int", "12 * 7"),
        (r"\frac{3}{4} + \frac{5}{6}", sympy.Rational(19, 12), "fraction", "Fraction(3, 4) + Fraction(5, 6)"),
        (r"2^{10} - 3^5", 781, "int", "2**10 - 3**5"),
        (r"1{,}024 \div 4", 256, "fraction", "Fraction(1024, 4)"),
        ("1,024 / 4", 256, "fraction", "Fraction(1024, 4)"),
        (r"2\sqrt{8}", 4 * sympy.sqrt(2), "sympy", "2 * sqrt(8)"),
        (r"\sqrt[3]{27}", 3, "sympy", "root(27, 3)"),
        ("10!", 3628800, "int", "math.factorial(10)"),
        (r"\binom{5}{2}", 10, "int", "math.comb(5, 2)"),
        (r"\dbinom{6}{3} \cdot 2", 40, "int", "math.comb(6, 3) * 2"),
        (r"0.5 \times 8", 4, "float", "0.5 * 8"),
        (r"(1+2)(3+4)", 21, "int", "(1 + 2) * (3 + 4)"),
        (r"\left(\frac{1}{2}\right)^{3}", sympy.Rational(1, 8), "fraction", "Fraction(1, 2)**3"),
        (r"2^{-3}", sympy.Rational(1, 8), "sympy", "S(2)**(-3)"),
        (r"-2^2", -4, "int", "-2**2"),
        (r"7 - (2 - 1)", 6, "int", "7 - (2 - 1)"),
        (r"\pi \cdot 3^2", 9 * sympy.pi, "sympy", "pi * 3**2"),
    ],
)
def test_parse_value_and_code(text, value, mode, code):
    node = parse_math(text)
    assert sympy.simplify(to_sympy(node) - value) == 0
    assert code_mode(node) == mode
    py = to_python(node)
    assert py.code == code
    assert sympy.simplify(sympy.sympify(run_code(py)) - value) == 0


@pytest.mark.parametrize(
    "text",
    ["equation 3x", r"\text{cm}", "x2", "2 3", "1, 2", r"\cdots", r"17 \pmod{5}", "", "2^3^2", r"\frac{1}"],
)
def test_what_is_not_arithmetic_is_refused(text):
    with pytest.raises(MathParseError):
        parse_math(text)


def test_variables_need_symbols():
    node = parse_math("3x + 5")
    x = sympy.Symbol("x")
    assert to_sympy(node, {"x": x}) == 3 * x + 5
    with pytest.raises(MathParseError):
        to_sympy(node)


_ints = st.integers(min_value=0, max_value=999)


@st.composite
def expressions(draw, depth=3):
    """Random arithmetic as (LaTeX text, exact Fraction value)."""
    if depth == 0 or draw(st.booleans()):
        n = draw(_ints)
        return str(n), Fraction(n)
    op = draw(st.sampled_from(["+", "-", r"\times", "frac", "^"]))
    (a, va), (b, vb) = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    if op == "frac":
        if vb == 0:
            return f"{a} + {b}", va + vb
        return rf"\frac{{{a}}}{{{b}}}", va / vb
    if op == "^":
        e = draw(st.integers(min_value=0, max_value=4))
        return f"\\left({a}\\right)^{{{e}}}", va**e
    value = {"+": va + vb, "-": va - vb, r"\times": va * vb}[op]
    return f"\\left({a}\\right) {op} \\left({b}\\right)", value


@settings(max_examples=200, deadline=None)
@given(expressions())
def test_generated_code_computes_what_the_latex_says(case):
    text, value = case
    node = parse_math(text)
    assert to_sympy(node) == sympy.Rational(value.numerator, value.denominator)
    got = run_code(to_python(node))
    assert Fraction(str(got)) == value
