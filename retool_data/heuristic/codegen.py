"""Python for a parsed calculation (`latex_math.parse_math`), written the way a person would write it.

Plain ints for integer arithmetic (``print(12 * 7)``), `Fraction` when there is division (exact, and it prints
``19/12`` like the text), floats when the text has decimals, sympy when there are roots, pi, negative or
non-integer powers, or an unknown (equations).
"""

from __future__ import annotations

from dataclasses import dataclass

from retool_data.heuristic.latex_math import MathParseError, Node, is_int_literal, kinds, variables

_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


@dataclass(frozen=True)
class PyExpr:
    code: str
    imports: frozenset[str]  # import lines the code needs


def code_mode(node: Node) -> str:
    """int | fraction | float | sympy: the simplest Python that computes this exactly (or as R1 wrote it)."""
    ks = kinds(node)
    if "var" in ks or "pi" in ks or "root" in ks or _has_non_integer_power(node):
        return "sympy"
    if any(n == "num" and "." in v for n, v in _literals(node)):
        return "float"
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
        if op in ("num", "var"):
            return n[1]
        if op == "pi":
            imports.add("from sympy import pi")
            return "pi"
        if op == "neg":
            return "-" + wrap(n[1], 3)
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
                return f"Fraction({go(a)}) / {wrap(b, 2, right=True)}"
            if mode == "sympy" and not variables(a):
                imports.add(
                    "from sympy import Rational"
                    if is_int_literal(a) and is_int_literal(b)
                    else "from sympy import S"
                )
                if is_int_literal(a) and is_int_literal(b):
                    return f"Rational({a[1]}, {b[1]})"
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
    return PyExpr(code, frozenset(imports))
