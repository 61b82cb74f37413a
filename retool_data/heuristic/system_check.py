"""A final check that solves the problem's own equations with sympy and computes the asked value from the solution.

``If $3x + 2y = 12$ and $x - y = 1$, what is $x + y$?`` or ``What is $2x^2 - 3x + 1$ when $x = 4$?``: the linear
equations the problem states (as many as its unknowns, at most four) go to `sympy.solve`; the answer must be the value of
one unknown or of an expression the problem writes, the same at every solution. Solved in-process first; the
block (``solve``, then the asked value at each solution) is written only when it gives the answer.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import RELATION_RE, parse_or_none
from retool_data.heuristic.check_kit import FinalCheck
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_sympy
from retool_data.heuristic.mathspans import math_spans

MAX_UNKNOWNS = 4
_DEFINITION = re.compile(r"^\s*[a-zA-Z]\s*\(")  # f(x) = ...: a definition, not an equation


def _read(problem: str) -> tuple[list[tuple[str, Node, Node]], list[tuple[str, Node]]]:
    """The problem's equations ``(text, lhs, rhs)`` and its other expressions ``(text, node)``."""
    equations, expressions = [], []
    for span in math_spans(problem):
        body = problem[span.inner : span.end].strip().rstrip(".,?;")
        rels = list(RELATION_RE.finditer(body))
        if not rels:
            node = parse_or_none(body)
            if node is not None and variables(node) and operator_count(node) >= 1:
                expressions.append((body, node))
            continue
        if len(rels) != 1 or rels[0].group(0) != "=" or _DEFINITION.match(body):
            continue
        lhs, rhs = parse_or_none(body[: rels[0].start()]), parse_or_none(body[rels[0].end() :])
        if lhs is not None and rhs is not None and variables(lhs) | variables(rhs):
            equations.append((body, lhs, rhs))
    return equations, expressions


def system_check(problem: str, answer: str) -> FinalCheck | None:
    import sympy

    want = parse_or_none(answer.strip().strip("$").strip())
    if want is None or variables(want):
        return None
    equations, expressions = _read(problem)
    unknowns = (
        sorted(set().union(*(variables(a) | variables(b) for _, a, b in equations))) if equations else []
    )
    if not unknowns or len(unknowns) > MAX_UNKNOWNS or len(equations) < len(unknowns):
        return None
    if all(a[0] == "var" and not variables(b) for _, a, b in equations):
        return _given_values(equations, expressions, want)  # x = 4: nothing to solve, a value to compute
    table = {v: sympy.Symbol(v) for v in unknowns}
    try:
        target = to_sympy(want)
        eqs = [sympy.Eq(to_sympy(a, table), to_sympy(b, table)) for _, a, b in equations]
        polys = [(e.lhs - e.rhs).as_poly(*table.values()) for e in eqs]
        if any(p is None or p.total_degree() > 1 for p in polys):
            return (
                None  # linear systems only: a higher degree has several solutions, and sympy takes its time
            )
        sols = sympy.solve(eqs, [table[v] for v in unknowns], dict=True)
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, NotImplementedError, AttributeError):
        return None
    if not sols or any(set(s) != set(table.values()) for s in sols):
        return None  # no solution, or not every unknown determined
    asked = _asked(sols, table, expressions, target)
    if asked is None:
        return None
    return _block(equations, unknowns, asked, target)


def _given_values(
    equations: list[tuple[str, Node, Node]], expressions: list[tuple[str, Node]], want: Node
) -> FinalCheck | None:
    """``What is $2x^2 - 3x + 1$ when $x = 4$?``: the problem's expression computed at its given values."""
    from retool_data.heuristic.calculations import substitute
    from retool_data.heuristic.latex_values import to_number

    given = {a[1]: b for _, a, b in equations}
    for text, node in expressions:
        if not variables(node) <= set(given) or operator_count(node) < 2:
            continue
        try:
            value, target = to_number(substitute(node, given)), to_number(want)
            if abs(complex(value) - complex(target)) > 1e-9 * max(1.0, abs(complex(target))):
                continue
            values = {k: to_python(given[k], "sympy") for k in sorted(variables(node))}
            expr = to_python(node, "sympy")
            exact = to_sympy(want)
        except (MathParseError, TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        imports = (
            {"from sympy import Integer"} | expr.imports | {i for v in values.values() for i in v.imports}
        )
        lines = [*sorted(imports)]
        lines += [
            f"{k} = {v.code if not v.code.lstrip('-').isdigit() else f'Integer({v.code})'}"
            for k, v in values.items()
        ]
        lines.append(f"print({expr.code})")
        shown = ", ".join(f"${text}$" for text, a, _ in equations if a[1] in values)
        return FinalCheck(
            "system",
            f"Check: compute ${text}$ at {shown} directly.",
            "\n".join(lines),
            [exact],
            "This matches the answer.",
        )
    return None


def _same(value: Any, target: Any) -> bool:
    import sympy

    try:
        return bool(sympy.simplify(value - target) == 0)
    except (TypeError, ValueError, AttributeError):
        return False


def _asked(sols: list[dict], table: dict[str, Any], expressions: list[tuple[str, Node]], target: Any) -> Any:
    """The unknown (its name) or the problem's expression ``(text, node)`` whose value is the answer at every solution."""
    for name, sym in table.items():
        if all(_same(s[sym], target) for s in sols):
            return name
    for text, node in expressions:
        if not variables(node) <= set(table):
            continue
        try:
            expr = to_sympy(node, table)
        except (MathParseError, TypeError, ValueError, ZeroDivisionError):
            continue
        if all(_same(expr.subs(s), target) for s in sols):
            return (text, node)
    return None


def _block(
    equations: list[tuple[str, Node, Node]], unknowns: list[str], asked: Any, target: Any
) -> FinalCheck | None:
    try:
        sides = [(to_python(a, "sympy"), to_python(b, "sympy")) for _, a, b in equations]
        value = asked if isinstance(asked, str) else to_python(asked[1], "sympy").code
    except MathParseError:
        return None
    imports = {"from sympy import Eq, solve, symbols"} | {i for a, b in sides for i in a.imports | b.imports}
    if not isinstance(asked, str):
        imports |= to_python(asked[1], "sympy").imports
    names = ", ".join(unknowns)
    eqs = ", ".join(f"Eq({a.code}, {b.code})" for a, b in sides)
    lines = [
        *sorted(imports),
        f"{names} = symbols('{' '.join(unknowns)}')",
        f"sols = solve([{eqs}], [{names}], dict=True)",
        f"print([{f's[{asked}]' if isinstance(asked, str) else f'({value}).subs(s)'} for s in sols])",
    ]
    shown = f"${asked}$" if isinstance(asked, str) else f"${asked[0]}$"
    stated = " and ".join(f"${text}$" for text, _, _ in equations[:3]) + (
        " ..." if len(equations) > 3 else ""
    )
    return FinalCheck(
        "system",
        f"Check: solve {stated} with sympy and compute {shown} from the solution.",
        "\n".join(lines),
        [[target]],
        "This matches the answer.",
    )
