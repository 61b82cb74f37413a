"""The arithmetic parser: LaTeX/plain text -> exact value and Python code that computes the same value."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from retool_data.heuristic.codegen import code_mode, to_python
from retool_data.heuristic.latex_math import MathParseError, parse_math
from retool_data.heuristic.latex_values import to_number, to_sympy


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
        (r"0.5 \times 8", 4, "fraction", 'Fraction("0.5") * 8'),  # exact: no float arithmetic
        (r"\frac{7.5}{3}", sympy.Rational(5, 2), "fraction", 'Fraction("7.5") / 3'),
        (r"\frac12 + \frac{1}{3}", sympy.Rational(5, 6), "fraction", "Fraction(1, 2) + Fraction(1, 3)"),
        (
            r"\frac{\frac12}{1-\frac14}",
            sympy.Rational(2, 3),
            "fraction",
            "Fraction(1, 2) / (1 - Fraction(1, 4))",
        ),
        (r"8.\overline{4}", sympy.Rational(76, 9), "fraction", "Fraction(76, 9)"),
        (r"0.1\overline{6}", sympy.Rational(1, 6), "fraction", "Fraction(1, 6)"),
        ("4.5e3 + 1", 4501, "fraction", 'Fraction("4.5e3") + 1'),
        (r"20\% \times 50", 10, "fraction", "Fraction(20, 100) * 50"),
        (r"58_9 - 18_{9}", 36, "int", 'int("58", 9) - int("18", 9)'),
        (r"|3 - 7| + \lfloor 2.5 \rfloor", 6, "fraction", 'abs(3 - 7) + math.floor(Fraction("2.5"))'),
        (r"\left\lceil \frac{7}{2} \right\rceil", 4, "fraction", "math.ceil(Fraction(7, 2))"),
        (r"\sin 30^\circ", sympy.Rational(1, 2), "sympy", "sin(30 * (pi / 180))"),
        (r"\log_2 8", 3, "sympy", "log(8, 2)"),
        (r"\ln 1 + \log 100", 2, "sympy", "log(1) + log(100, 10)"),
        (r"\sin^{-1}(1)", sympy.pi / 2, "sympy", "asin(1)"),
        (r"i(7 + 2i)", -2 + 7 * sympy.I, "sympy", "I * (7 + 2 * I)"),
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
    [
        "equation 3x",
        r"\text{cm}",
        "x2",
        "2 3",
        "1, 2",
        r"\cdots",
        r"17 \pmod{5}",
        "",
        "2^3^2",
        r"\frac{1}",
        "the 12",
    ],
)
def test_what_is_not_arithmetic_is_refused(text):
    with pytest.raises(MathParseError):
        parse_math(text)


def test_short_letter_runs_are_products_but_words_are_not():
    assert parse_math("xyz") == ("mul", ("mul", ("var", "x"), ("var", "y")), ("var", "z"))
    with pytest.raises(MathParseError):
        parse_math("is 12")


def test_quick_values_are_exact_until_a_root_or_a_function():
    assert to_number(parse_math(r"\frac{3}{4} + \frac{5}{6}")) == Fraction(19, 12)
    assert to_number(parse_math("3x + 5"), {"x": Fraction(5)}) == 20
    assert isinstance(to_number(parse_math(r"\sqrt{2}")), float)
    with pytest.raises(MathParseError):
        to_number(parse_math("3x"))


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
