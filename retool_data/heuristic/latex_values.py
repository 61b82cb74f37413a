"""The value of a parsed expression (`latex_math.parse_math`): exact with sympy, or quick with fractions.

`to_sympy` is what the rewriter trusts (a calculation becomes code only when its exact value equals what the text
states); `to_number` is what the trace-quality scorer uses to spot hand calculations (thousands of clauses per
second, no sympy): a `Fraction` while exact, a float past roots, pi and functions.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from retool_data.heuristic.latex_math import MAX_EXPONENT, MAX_FACTORIAL, MathParseError, Node

_SYMPY_FUNCS = {"sin": "sin", "cos": "cos", "tan": "tan", "cot": "cot", "sec": "sec", "csc": "csc",
                "arcsin": "asin", "arccos": "acos", "arctan": "atan", "exp": "exp"}  # fmt: skip
_MATH_FUNCS = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
               "arctan": math.atan, "exp": math.exp, "cot": lambda x: 1 / math.tan(x),
               "sec": lambda x: 1 / math.cos(x), "csc": lambda x: 1 / math.sin(x)}  # fmt: skip


def base_value(spelled: str) -> int:
    """``"58_9"`` -> 53."""
    digits, base = spelled.split("_")
    return int(digits, int(base))


def number_value(spelled: str) -> Fraction:
    """``"12"``, ``"0.25"``, ``"4.5e33"`` exactly."""
    return Fraction(spelled)


def to_sympy(node: Node, symbols: dict[str, Any] | None = None) -> Any:
    import sympy

    def go(n: Node) -> Any:
        op = n[0]
        if op == "num":
            return sympy.Rational(number_value(n[1]))
        if op == "base":
            return sympy.Integer(base_value(n[1]))
        if op == "var":
            if symbols is None or n[1] not in symbols:
                raise MathParseError(f"unexpected variable {n[1]}")
            return symbols[n[1]]
        if op == "pi":
            return sympy.pi
        if op == "imag":
            return sympy.I
        if op == "neg":
            return -go(n[1])
        if op == "abs":
            return sympy.Abs(go(n[1]))
        if op in ("floor", "ceil"):
            return (sympy.floor if op == "floor" else sympy.ceiling)(go(n[1]))
        if op == "fact":
            arg = go(n[1])
            if not (arg.is_integer and 0 <= arg <= MAX_FACTORIAL):
                raise MathParseError("factorial out of range")
            return sympy.factorial(arg)
        if op == "fn":
            arg = go(n[2])
            if n[1] == "ln":
                return sympy.log(arg)
            if n[1] == "log":
                return sympy.log(arg, go(n[3]) if len(n) > 3 else 10)
            return getattr(sympy, _SYMPY_FUNCS[n[1]])(arg)
        a, b = go(n[1]), go(n[2])
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "div":
            if b == 0:
                raise MathParseError("division by zero")
            return a / b
        if op == "pow":
            if b.is_number and abs(b) > MAX_EXPONENT:
                raise MathParseError("exponent too large")
            return a**b
        if op == "root":
            return sympy.root(a, b) if b != 2 else sympy.sqrt(a)
        if op == "binom":
            return sympy.binomial(a, b)
        raise MathParseError(f"unknown node {op}")

    return go(node)


def to_number(node: Node, env: dict[str, Fraction] | None = None) -> Fraction | float | complex:
    """The value of a numeric AST without sympy: a `Fraction` while exact, a float past roots, pi and functions.
    Raises `MathParseError` on what it cannot value."""
    try:
        return _number(node, env)
    except (ZeroDivisionError, OverflowError, ValueError, TypeError) as err:
        raise MathParseError(str(err)) from None


def _number(node: Node, env: dict[str, Fraction] | None) -> Fraction | float:
    op = node[0]
    if op == "num":
        return number_value(node[1])
    if op == "base":
        return Fraction(base_value(node[1]))
    if op == "var":
        if env is None or node[1] not in env:
            raise MathParseError(f"unexpected variable {node[1]}")
        return env[node[1]]
    if op == "pi":
        return math.pi
    if op == "imag":
        return 1j
    if op == "neg":
        return -_number(node[1], env)
    if op == "abs":
        return abs(_number(node[1], env))
    if op in ("floor", "ceil"):
        value = _number(node[1], env)
        return Fraction(math.floor(value) if op == "floor" else math.ceil(value))
    if op == "fact":
        arg = _number(node[1], env)
        if arg != int(arg) or not 0 <= arg <= MAX_FACTORIAL:
            raise MathParseError("factorial out of range")
        return Fraction(math.factorial(int(arg)))
    if op == "fn":
        arg = float(_number(node[2], env))
        if node[1] == "ln":
            return math.log(arg)
        if node[1] == "log":
            return math.log(arg, float(_number(node[3], env))) if len(node) > 3 else math.log10(arg)
        return float(_MATH_FUNCS[node[1]](arg))
    a, b = _number(node[1], env), _number(node[2], env)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        if abs(b) > MAX_EXPONENT or (abs(a) > 1 and abs(b) * math.log2(abs(float(a))) > MAX_EXPONENT):
            raise MathParseError("exponent too large")
        if isinstance(b, Fraction) and b.denominator == 1:
            return a ** int(b)
        if a < 0:
            raise MathParseError("fractional power of a negative number")
        return float(a) ** float(b)
    if op == "root":
        return float(a) ** (1.0 / float(b)) if a >= 0 else -((-float(a)) ** (1.0 / float(b)))
    if op == "binom":
        return Fraction(math.comb(int(a), int(b)))
    raise MathParseError(f"unknown node {op}")
