"""Python for a parsed calculation (`latex_math.parse_math`), written the way a person would write it, exactly.

Plain ints for integer arithmetic (``print(12 * 7)``), `Fraction` when there is division or a decimal (exact: it
prints ``19/12`` like the text, and ``Fraction("0.1") * 3`` is 3/10, never ``0.30000000000000004``), sympy when
there are roots, pi, negative or non-integer powers, or an unknown (equations). Rounding, when the text rounds,
is the caller's last step (`calculations.print_statement`).
"""

from __future__ import annotations

from dataclasses import dataclass

from retool_data.heuristic.latex_math import MathParseError, Node, is_int_literal, kinds

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


@dataclass(frozen=True)
class PyExpr:
    code: str
    imports: frozenset[str]  # import lines the code needs
    mode: str = "int"  # int | fraction | sympy (`code_mode`)


def code_mode(node: Node) -> str:
    """int | fraction | sympy: the simplest Python that computes this exactly."""
    ks = kinds(node)
    if ks & {"var", "pi", "root", "fn", "imag"} or _has_non_integer_power(node):
        return "sympy"
    if any(n == "num" and ("." in v or "e" in v.lower()) for n, v in _literals(node)):
        return "fraction"
    return "fraction" if "div" in ks else "int"


def _literals(node: Node) -> list[tuple[str, str]]:
    if node[0] in ("num", "var"):
        return [(node[0], node[1])]
    return [lit for c in node[1:] if isinstance(c, tuple) for lit in _literals(c)]


def _has_non_integer_power(node: Node) -> bool:
    if node[0] == "pow":
        exp = node[2]
        if not (is_int_literal(exp) or (exp[0] == "neg" and is_int_literal(exp[1]))):
            return True
        if exp[0] == "neg":  # 2^{-3}: exact only as a Fraction/sympy Rational
            return True
    return any(_has_non_integer_power(c) for c in node[1:] if isinstance(c, tuple))


def _plain_int(node: Node) -> bool:
    """Python ints all the way down (no sympy object in it), so ``/`` on it would be float division."""
    return kinds(node) <= {"num", "add", "sub", "mul", "neg", "pow", "base"} and all(
        kind != "num" or ("." not in v and "e" not in v.lower()) for kind, v in _literals(node)
    )


def _is_fraction(node: Node) -> bool:
    """In fraction mode this already computes a Fraction (a division or a decimal in it), so ``a / b`` is exact."""
    return "div" in kinds(node) or any(
        kind == "num" and ("." in v or "e" in v.lower()) for kind, v in _literals(node)
    )


def to_python(node: Node, mode: str | None = None) -> PyExpr:
    mode = mode or code_mode(node)
    imports: set[str] = set()

    def wrap(n: Node, parent_prec: int, right: bool = False) -> str:
        code = go(n)
        atomic_div = (
            n[0] == "div" and mode in ("fraction", "sympy") and is_int_literal(n[1]) and is_int_literal(n[2])
        )
        prec = 5 if atomic_div else _PREC.get(n[0], 5)
        if prec < parent_prec or (right and prec == parent_prec and n[0] in ("sub", "div", "add", "mul")):
            return f"({code})"
        return code

    def go(n: Node) -> str:
        op = n[0]
        if op == "base":
            digits, base = n[1].split("_")
            return f'int("{digits}", {base})'
        if op == "num" and ("." in n[1] or "e" in n[1].lower()):  # a decimal, exactly
            if mode == "sympy":
                imports.add("from sympy import Rational")
                return f'Rational("{n[1]}")'
            imports.add("from fractions import Fraction")
            return f'Fraction("{n[1]}")'
        if op in ("num", "var"):
            return n[1]
        if op == "pi":
            imports.add("from sympy import pi")
            return "pi"
        if op == "imag":
            imports.add("from sympy import I")
            return "I"
        if op == "neg":
            return "-" + wrap(n[1], 3)
        if op == "abs":
            if mode == "sympy":
                imports.add("from sympy import Abs")
                return f"Abs({go(n[1])})"
            return f"abs({go(n[1])})"
        if op in ("floor", "ceil"):
            if mode == "sympy":
                name = "floor" if op == "floor" else "ceiling"
                imports.add(f"from sympy import {name}")
                return f"{name}({go(n[1])})"
            imports.add("import math")
            return f"math.{op}({go(n[1])})"
        if op == "fn":
            name = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "ln": "log"}.get(n[1], n[1])
            imports.add(f"from sympy import {name}")
            if n[1] == "log":
                return f"log({go(n[2])}, {go(n[3]) if len(n) > 3 else 10})"
            return f"{name}({go(n[2])})"
        if op == "fact":
            if mode == "sympy":
                imports.add("from sympy import factorial")
                return f"factorial({go(n[1])})"
            imports.add("import math")
            return f"math.factorial({go(n[1])})"
        if op == "root":
            if mode != "sympy":
                raise MathParseError("root outside sympy mode")
            if n[2] == ("num", "2"):
                imports.add("from sympy import sqrt")
                return f"sqrt({go(n[1])})"
            imports.add("from sympy import root")
            return f"root({go(n[1])}, {go(n[2])})"
        if op == "binom":
            if mode == "sympy":
                imports.add("from sympy import binomial")
                return f"binomial({go(n[1])}, {go(n[2])})"
            imports.add("import math")
            return f"math.comb({go(n[1])}, {go(n[2])})"
        a, b = n[1], n[2]
        if op == "div":
            if mode == "fraction":
                imports.add("from fractions import Fraction")
                if is_int_literal(a) and is_int_literal(b):
                    return f"Fraction({a[1]}, {b[1]})"
                left = wrap(a, 2) if _is_fraction(a) else f"Fraction({go(a)})"
                return f"{left} / {wrap(b, 2, right=True)}"
            if mode == "sympy" and is_int_literal(a) and is_int_literal(b):
                imports.add("from sympy import Rational")
                return f"Rational({a[1]}, {b[1]})"
            if (
                mode == "sympy" and _plain_int(a) and _plain_int(b)
            ):  # int / int would be a float: make it exact
                imports.add("from sympy import S")
                return f"S({go(a)}) / {wrap(b, 2, right=True)}"
        if op == "pow":
            base = wrap(a, 5)
            if mode == "sympy" and is_int_literal(a) and not is_int_literal(b):  # 2**(-3), 2**(1/2): exact
                imports.add("from sympy import S")
                base = f"S({a[1]})"
            return f"{base}**{wrap(b, 4)}"
        sym = {"add": " + ", "sub": " - ", "mul": " * ", "div": " / "}[op]
        prec = _PREC[op]
        return wrap(a, prec) + sym + wrap(b, prec, right=True)

    code = go(node)
    return PyExpr(code, frozenset(imports), mode)
