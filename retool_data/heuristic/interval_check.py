"""A final check for inequalities answered in interval notation: sympy solves the problem's inequalities.

``Solve \\[\\frac{1}{x - 5} > 0.\\] Enter your answer using interval notation.`` with the answer ``(5,\\infty)``: the block
prints `solve_univariate_inequality` of each inequality the problem states in its one unknown (their intersection
when there are several, ``both the inequalities``), as a sympy set (``Interval.open(5, oo)``). The answer is read
as a union of intervals (``(0,9) \\cup (9,36)``, ``\\left(\\frac{3}{5},\\frac{8}{3}\\right]``); the block is written only
when sympy's set is the answer's, compared in-process first.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import parse_or_none
from retool_data.heuristic.check_kit import FinalCheck
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.enumeration import NotARelation, relation_chain
from retool_data.heuristic.latex_math import MathParseError, variables
from retool_data.heuristic.latex_values import to_sympy
from retool_data.heuristic.mathspans import math_spans

_ASKS = re.compile(r"\bsolve\b|interval notation|\bsatisfy\b|\bsatisfies\b", re.I)
_INTERVAL = re.compile(r"^(?:\\left)?\s*([(\[])\s*(.+?)\s*,\s*(.+?)\s*(?:\\right)?\s*([)\]])$")
_PY_REL = {"<": "<", ">": ">", "<=": "<=", ">=": ">="}


def answer_set(answer: str) -> Any:
    """``(0,9) \\cup (9,36)`` as a sympy set; None unless every piece is an interval with readable ends."""
    import sympy

    pieces = re.split(r"\\cup|∪", answer.strip().strip("$"))
    sets = []
    for piece in pieces:
        m = _INTERVAL.match(piece.strip())
        if not m:
            return None
        ends = []
        for end in (m.group(2), m.group(3)):
            end = end.strip()
            if re.fullmatch(r"[-+]?\s*\\infty", end):
                ends.append(-sympy.oo if end.startswith("-") else sympy.oo)
                continue
            node = parse_or_none(end)
            if node is None or variables(node):
                return None
            try:
                ends.append(to_sympy(node))
            except (MathParseError, TypeError, ValueError, ZeroDivisionError):
                return None
        sets.append(sympy.Interval(ends[0], ends[1], m.group(1) == "(", m.group(4) == ")"))
    return sympy.Union(*sets) if sets else None


def interval_check(problem: str, answer: str) -> FinalCheck | None:
    import sympy

    if not _ASKS.search(problem):
        return None
    want = answer_set(answer)
    if want is None:
        return None
    relations, names = [], set()
    for span in math_spans(problem):
        body = problem[span.inner : span.end].strip().rstrip(".,?")
        try:
            relation = relation_chain(body)
        except NotARelation:
            return None
        if relation is None:
            continue
        nodes, ops = relation
        names |= set().union(*(variables(n) for n in nodes))
        relations += [(a, op, b) for a, b, op in zip(nodes[:-1], nodes[1:], ops, strict=True)]
    if len(names) != 1 or not relations:
        return None
    (var,) = names
    x = sympy.Symbol(var, real=True)
    try:
        solved = [
            sympy.solve_univariate_inequality(
                sympy.sympify(f"({to_sympy(a, {var: x})}) {op} ({to_sympy(b, {var: x})})", locals={var: x}),
                x,
                relational=False,
            )
            for a, op, b in relations
        ]
        got = sympy.Intersection(*solved) if len(solved) > 1 else solved[0]
        code_rels = [
            f"{to_python(a, 'sympy').code} {op} {to_python(b, 'sympy').code}" for a, op, b in relations
        ]
        imports = {
            i for a, _, b in relations for i in to_python(a, "sympy").imports | to_python(b, "sympy").imports
        }
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, NotImplementedError, AttributeError):
        return None
    if got != want:
        return None
    calls = [f"solve_univariate_inequality({r}, {var}, relational=False)" for r in code_rels]
    shown = calls[0] if len(calls) == 1 else f"Intersection({', '.join(calls)})"
    used = "Symbol, solve_univariate_inequality" + (", Intersection" if len(calls) > 1 else "")
    lines = [
        *sorted(imports | {f"from sympy import {used}"}),
        f"{var} = Symbol('{var}', real=True)",
        f"print({shown})",
    ]
    return FinalCheck(
        "intervals",
        f"Check: solve the inequalit{'y' if len(calls) == 1 else 'ies'} with sympy.",
        "\n".join(lines),
        [want],
        "This is the answer's set.",
    )
