"""A final check for differential equations: the answer put into the problem's ODE, differentiated by sympy.

``Find the general solution of $\\dot{x}+2 x=e^{t}$`` with the answer ``\\frac{e^{t}}{3}+c e^{-2 t}``: the block
defines the answer as a sympy expression of the independent variable, takes its derivatives with `diff` and prints
the residual ``lhs - rhs`` simplified (``0``). Derivatives are read in the notations these problems use
(``\\dot{x}``, ``\\ddot{x}``, ``x^{\\prime}``, ``x^{\\prime \\prime}``, ``x'``); ``e`` is Euler's number and ``i``
the imaginary unit. The residual is computed in-process first: the block is written only when it is 0, and the
problem's last equation in the unknown function that the answer solves is the one checked.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import RELATION_RE, parse_or_none
from retool_data.heuristic.check_kit import FinalCheck, vanishes
from retool_data.heuristic.latex_math import MathParseError, Node, variables
from retool_data.heuristic.latex_values import to_sympy
from retool_data.heuristic.mathspans import math_spans

SECOND, FIRST = (
    "Q",
    "P",
)  # the placeholders the derivatives are read as (capitals no problem uses for them here)
INDEPENDENT = ("t", "x", "s")
_SYMPY_NAMES = ("exp", "sin", "cos", "tan", "log", "sqrt", "I", "E", "pi", "Rational")


def _derivatives(equation: str) -> tuple[str, str] | None:
    """The equation with its derivatives of one unknown function replaced by placeholders, and that function."""
    found = re.search(r"\\d?dot\{\s*([a-zA-Z])\s*\}|([a-zA-Z])\s*(?:\^\s*\{\s*\\prime|')", equation)
    if not found:
        return None
    f = found.group(1) or found.group(2)
    out = re.sub(r"\\ddot\{\s*" + f + r"\s*\}", SECOND, equation)
    out = re.sub(r"\\dot\{\s*" + f + r"\s*\}", FIRST, out)
    out = re.sub(f + r"\s*\^\s*\{\s*\\prime\s*\\prime\s*\}|" + f + "''", SECOND, out)
    out = re.sub(f + r"\s*\^\s*\{\s*\\prime\s*\}|" + f + "'", FIRST, out)
    out = re.sub(f + r"\s*\(\s*[a-z]\s*\)", f, out)  # x(t) -> x
    return out, f


def _symbols(names: set[str]) -> dict[str, Any]:
    import sympy

    table: dict[str, Any] = {name: sympy.Symbol(name) for name in names}
    table.update({"e": sympy.E, "i": sympy.I})
    return table


def ode_check(problem: str, answer: str) -> FinalCheck | None:
    import sympy

    ans = parse_or_none(answer.strip().strip("$").strip())
    if ans is None:
        return None
    for span in reversed(math_spans(problem)):
        body = problem[span.inner : span.end].strip().rstrip(".,?")
        read = _derivatives(body)
        rels = list(RELATION_RE.finditer(read[0])) if read else []
        if not read or len(rels) != 1 or rels[0].group(0) != "=":
            continue
        equation, f = read
        if re.search(rf"[{FIRST}{SECOND}{f}]\s*\(", equation):
            continue  # an initial condition (x(0) = 1), not the equation
        lhs, rhs = parse_or_none(equation[: rels[0].start()]), parse_or_none(equation[rels[0].end() :])
        if lhs is None or rhs is None or not ({FIRST, SECOND} & (variables(lhs) | variables(rhs))):
            continue
        free = variables(ans) - {"e", "i"}
        indep = [v for v in INDEPENDENT if v in free and v != f]
        if f in free or len(indep) != 1:
            continue
        found = _residual(lhs, rhs, ans, f, indep[0])
        if found is None:
            continue
        names, answer_code, residual_code = found
        if "diff(" not in residual_code:
            continue
        used = sorted(n for n in _SYMPY_NAMES if re.search(rf"\b{n}\b", answer_code + residual_code))
        code = [
            f"from sympy import {', '.join(['diff', 'simplify', 'symbols', *used])}",
            f"{', '.join(names)} = symbols('{' '.join(names)}')",
            f"{f} = {answer_code}",
            f"print(simplify({residual_code}))",
        ]
        return FinalCheck(
            "ode",
            f"Check: put the answer into ${body}$ (sympy differentiates it).",
            "\n".join(code),
            [sympy.Integer(0)],
            "The residual is 0: the answer solves the equation.",
        )
    return None


def _residual(lhs: Node, rhs: Node, ans: Node, f: str, t: str) -> tuple[list[str], str, str] | None:
    """``(symbols, the answer's code, the residual's code)`` when the answer makes ``lhs - rhs`` zero."""
    import sympy

    names = sorted((variables(ans) | variables(lhs) | variables(rhs)) - {"e", "i", f, FIRST, SECOND})
    if t not in names:
        names.append(t)
    table = _symbols(set(names))
    tsym = table[t]
    fsym, first, second = sympy.Symbol(f), sympy.Symbol(FIRST), sympy.Symbol(SECOND)
    try:
        value = to_sympy(ans, table)
        left = to_sympy(lhs, {**table, f: fsym, FIRST: first, SECOND: second})
        right = to_sympy(rhs, {**table, f: fsym, FIRST: first, SECOND: second})
        at = {fsym: value, first: sympy.diff(value, tsym), second: sympy.diff(value, tsym, 2)}
        if not vanishes((left - right).subs(at)):  # the block's simplify in the sandbox is the proof
            return None
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, AttributeError):
        return None
    dx, ddx = f"diff({f}, {t})", f"diff({f}, {t}, 2)"
    residual = (left - right).subs({first: sympy.Symbol("DX__"), second: sympy.Symbol("DDX__")})
    code = _exact(residual).replace("DDX__", ddx).replace("DX__", dx)
    return sorted(names), _exact(value), code


_BARE_RATIONAL = re.compile(r"(?<![\w.)\]*/^])(\d+)/(\d+)(?![\w(.*])")


def _exact(expr: Any) -> str:
    """sympy's spelling of ``expr`` as Python, with a bare ``1/4`` written ``Rational(1, 4)`` (never a float)."""
    return _BARE_RATIONAL.sub(r"Rational(\1, \2)", str(expr))
