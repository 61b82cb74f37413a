"""One-variable equations the text solves by hand, and the sympy block that solves them instead."""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import (
    RELATION_RE,
    line_starts,
    longest_prefix,
    longest_prefix_at,
    longest_suffix_at,
    normalize_line,
    numeric,
)
from retool_data.heuristic.claims import Calculation, is_result_form
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy

SOLUTION_LOOKAHEAD_LINES = 3
_SOLVED_RE = r"(?<![A-Za-z\\]){var}\s*=\s*(?=([^=<>]+))"  # lookahead: "3x = 15, so x = 5" has two


def _one_var(node: Node) -> bool:
    return len(variables(node)) <= 1


def equation_in_clause(
    clause: str, line: int, lines: list[str], offset: int = 0, starts: list[int] | None = None
) -> list[Calculation]:
    """A one-variable equation whose solution the text states shortly after (on this line or the next few)."""
    bounds = list(RELATION_RE.finditer(clause))
    if len(bounds) != 1 or "≈" in clause or "approx" in clause:
        return []
    rel = bounds[0]
    lhs_found = longest_suffix_at(clause[: rel.start()], _one_var)
    rhs_found = longest_prefix_at(clause[rel.end() :], _one_var)
    if lhs_found is None or rhs_found is None:
        return []
    lhs, rhs = lhs_found[0], rhs_found[0]
    names = variables(lhs) | variables(rhs)
    if len(names) != 1 or lhs[0] == "var" or rhs[0] == "var":
        return []  # no unknown, or a definition/statement like "x = 5" rather than an equation
    var = names.pop()
    starts = starts if starts is not None else line_starts("\n".join(lines))
    eq_start, eq_end = offset + lhs_found[1], offset + rel.end() + rhs_found[1]
    # the stated solution first (cheap: the parser and fractions), sympy only for an equation that has one
    if not _solvable(lhs, rhs, var):
        return []
    for at, claim, values in _stated_solutions(var, lines, line, starts, eq_end):
        if all(_satisfies(lhs, rhs, var, v) for v in values):
            try:
                stated = [to_sympy(v) for v in values]
            except (MathParseError, TypeError, ValueError, ZeroDivisionError):
                continue
            return [_equation_calc(clause, lhs, rhs, var, stated, line, eq_start, eq_end, at, claim)]
    return []


def _stated_solutions(
    var: str, lines: list[str], line: int, starts: list[int], eq_end: int
) -> list[tuple[int, str, list[Any]]]:
    """``(offset, text, values)`` of each ``var = value`` (``x = 3 \\pm 2\\sqrt{2}``: two values) stated after the
    equation, within `SOLUTION_LOOKAHEAD_LINES` lines."""
    found = []
    for later in range(line, min(len(lines), line + 1 + SOLUTION_LOOKAHEAD_LINES)):
        text = normalize_line(lines[later])
        lo = eq_end - starts[later] if later == line else 0
        for m in re.finditer(_SOLVED_RE.format(var=re.escape(var)), text[lo:]):
            rest = m.group(1)
            pm = _PM_RE.match(rest)
            if pm:
                a, b = longest_prefix(pm.group(1), numeric), longest_prefix(pm.group(2), numeric)
                if a and b and a[1] == pm.group(1).strip() and is_result_form(a[0]) and is_result_form(b[0]):
                    nodes = [("add", a[0], b[0]), ("sub", a[0], b[0])]
                    found.append((starts[later] + lo + m.start(), f"{a[1]} \\pm {b[1]}", nodes))
                continue
            stated = longest_prefix(rest, numeric)
            if stated is not None and is_result_form(stated[0]):
                found.append((starts[later] + lo + m.start(), stated[1], [stated[0]]))
        for m in re.finditer(_REVERSED_RE.format(var=re.escape(var)), text[lo:]):  # "2 = a"
            stated_at = longest_suffix_at(text[lo : lo + m.start()], numeric)
            if stated_at is not None and is_result_form(stated_at[0]):
                at = lo + stated_at[1]
                at += len(re.match(r"(?:\\q?quad|\\[,;: ]|\s)*", text[at:]).group(0))
                found.append((starts[later] + at, text[at : lo + m.start()].strip(), [stated_at[0]]))
    return sorted(found)


_REVERSED_RE = r"\s*=\s*{var}(?![\w{{(])"
_PM_RE = re.compile(r"\s*([^=<>]*?)\s*(?:\\pm|±)\s*([^=<>,;$]+)")


def _satisfies(lhs: Node, rhs: Node, var: str, value_node: Node) -> bool:
    try:
        value = to_number(value_node)
        left, right = to_number(lhs, {var: value}), to_number(rhs, {var: value})
        return abs(complex(left) - complex(right)) <= 1e-9 * max(1.0, abs(complex(right)))
    except (MathParseError, OverflowError, ValueError, TypeError, ZeroDivisionError, RecursionError):
        return False


def degree(node: Node, var: str) -> int | None:
    """The degree in ``var`` of a polynomial-like tree (a quotient counts both degrees); None when ``var`` is in an
    exponent, a root or a function (not a polynomial)."""
    op = node[0]
    if op == "var":
        return 1 if node[1] == var else 0
    if op in ("num", "pi", "base"):
        return 0
    if op == "neg":
        return degree(node[1], var)
    if op in ("add", "sub", "mul", "div"):
        a, b = degree(node[1], var), degree(node[2], var)
        if a is None or b is None:
            return None
        return max(a, b) if op in ("add", "sub") else a + b
    if op == "pow":
        base, exp = degree(node[1], var), degree(node[2], var)
        if base is None or exp != 0:
            return None
        if base == 0:
            return 0
        if node[2][0] == "num" and node[2][1].isdigit():
            return base * int(node[2][1])
        return None
    return None if var in variables(node) else 0


def _solvable(lhs: Node, rhs: Node, var: str) -> bool:
    """sympy solves it quickly: a polynomial of degree 1-4 after clearing denominators, or a small exponential."""
    total = degree(("sub", lhs, rhs), var)
    if total is not None:
        return 1 <= total <= 4
    return operator_count(lhs) + operator_count(rhs) <= 8 and all(
        degree(n, var) is not None or n[0] == "pow" for n in (lhs, rhs)
    )


def _equation_calc(
    clause: str,
    lhs: Node,
    rhs: Node,
    var: str,
    solutions: list[Any],
    line: int,
    start: int,
    cut: int,
    resume: int,
    claim: str,
) -> Calculation:
    left, right = to_python(lhs, "sympy"), to_python(rhs, "sympy")
    imports = frozenset({"from sympy import Eq, solve, symbols"} | left.imports | right.imports)
    statement = f"{var} = symbols('{var}')\nprint(solve(Eq({left.code}, {right.code}), {var}))"
    return Calculation(
        "equation",
        clause.strip(),
        statement,
        imports,
        solutions,
        0.0,
        line,
        key=f"e:{var}:{sorted(map(str, solutions))}",
        start=start,
        cut=cut,
        resume=resume,
        claim=f"{var} = {claim}",
    )
