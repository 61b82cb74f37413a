"""A final check block, where the problem allows one: the answer substituted back, or the asked value computed.

Two checks, both verified in-process (parser + fractions) before a block is written, so a block never disagrees
with the answer:

- ``substitute``: the problem states an equation in one unknown (``$3x + 5 = 20$``) and every value of the answer
  satisfies it: the block prints the residual ``lhs - rhs`` at each value (``0``, one line per value);
- ``evaluate``: the problem asks for the value of an explicit expression (``Compute $\\dbinom{31}{28}$``,
  ``What is $58_9 - 18_9$?``) and the answer is that value: the block computes the expression itself;
- ``point``: the reasoning settles its unknowns on values (``x = y = \\sqrt{2}``, ``(m, n) = (16, 13)``): the block
  checks the problem's equations there (``True``) and, when the problem's expression there is the answer, prints it.

The lead-in, the block and a one-line conclusion go after the reasoning, before ``<answer>``.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.assignments import assignments, top_level_split
from retool_data.heuristic.chains import RELATION_RE, normalize_line, numeric, parse_or_none
from retool_data.heuristic.check_kit import FinalCheck
from retool_data.heuristic.code_profile import code_profile
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.equations import _satisfies
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy
from retool_data.heuristic.mathspans import math_spans
from retool_data.heuristic.problem_checks import problem_check

_ASKS_VALUE = re.compile(
    r"\b(?:compute|evaluate|calculate|simplify|find|what is|what's|express|determine|value of)\b", re.I
)
_PM = re.compile(r"\\pm|±")




def answer_values(answer: str) -> list[Node] | None:
    """The answer as numeric trees (``3 \\\\pm 2\\\\sqrt{2}``: two; ``1, -2``: two); None unless every part is numeric."""
    text = normalize_line(answer).strip().strip("$").strip()
    text = (
        re.sub(r"^\\?\{?\s*[A-Za-z]\s*=\s*", "", text) if re.match(r"^\\?\{?\s*[A-Za-z]\s*=", text) else text
    )
    if text.startswith("\\{") and text.endswith("\\}"):
        text = text[2:-2]
    parts = top_level_split(text)
    nodes: list[Node] = []
    for part in parts:
        pm = _PM.split(part)
        if len(pm) == 2:
            a, b = parse_or_none(pm[0]), parse_or_none(pm[1])
            if a is None or b is None or not numeric(a) or not numeric(b):
                return None
            nodes += [("add", a, b), ("sub", a, b)]
            continue
        node = parse_or_none(part)
        if node is None or not numeric(node):
            return None
        nodes.append(node)
    return nodes or None


def final_check(problem: str, answer: str, text: str = "") -> FinalCheck | None:
    """The check this problem allows for this answer (``text``: the reasoning, for the values it settles on)."""
    values = answer_values(answer)
    spans = [problem[s.inner : s.end] for s in math_spans(problem)]
    if values:
        found = _substitute(spans, values) or (
            _evaluate(problem, spans, values) if len(values) == 1 else None
        )
        if found:
            return found
    found = at_point(spans, text, values[0] if values and len(values) == 1 else None)
    if (
        found is None and values
    ):  # \[x^4 + 5x^3 - 14 = 0.\]: the sentence's period read off (a last resort: the
        found = _substitute(spans, values, strip=True)  # point check reads better where both apply)
    if found is None:

        found = problem_check(problem, answer)
    return found


def _substitute(spans: list[str], values: list[Node], strip: bool = False) -> FinalCheck | None:
    for span in spans:
        span = span.strip().rstrip(".,?") if strip else span
        rels = list(RELATION_RE.finditer(span))
        if len(rels) != 1 or rels[0].group(0) != "=":
            continue
        lhs, rhs = parse_or_none(span[: rels[0].start()]), parse_or_none(span[rels[0].end() :])
        if lhs is None or rhs is None:
            continue
        names = variables(lhs) | variables(rhs)
        if len(names) != 1 or operator_count(lhs) + operator_count(rhs) < 2:
            continue
        var = next(iter(names))
        if not all(_satisfies(lhs, rhs, var, v) for v in values):
            continue
        try:
            left, right = to_python(lhs, "sympy"), to_python(rhs, "sympy")
            shown = [to_python(v, "sympy") for v in values]
        except MathParseError:
            continue
        imports = sorted(
            {"from sympy import simplify, symbols"}
            | left.imports
            | right.imports
            | {i for s in shown for i in s.imports}
        )
        code = "\n".join(
            [
                *imports,
                f"{var} = symbols('{var}')",
                f"lhs, rhs = {left.code}, {right.code}",
                *[f"print(simplify((lhs - rhs).subs({var}, {v.code})))" for v in shown],
            ]
        )
        return FinalCheck(
            "substitute",
            f"Check: substitute the answer back into ${span.strip()}$.",
            code,
            [0] * len(values),
            "Both sides agree, so the answer checks out.",
        )
    return None


def _evaluate(problem: str, spans: list[str], values: list[Node]) -> FinalCheck | None:
    if not _ASKS_VALUE.search(problem):
        return None
    try:
        want = to_number(values[0])
    except MathParseError:
        return None
    for span in spans:
        node = parse_or_none(span.strip().rstrip(".?,"))
        if node is None or not numeric(node) or operator_count(node) < 1:
            continue
        try:
            got = to_number(node)
            if abs(complex(got) - complex(want)) > 1e-9 * max(1.0, abs(complex(want))):
                continue
            py = to_python(node)
            exact = to_sympy(node)
        except (MathParseError, OverflowError, ValueError, TypeError, ZeroDivisionError):
            continue
        code = "\n".join([*sorted(py.imports), f"print({py.code})"])
        if code_profile(code).trivial:
            return None
        return FinalCheck(
            "evaluate",
            f"Check: compute ${span.strip().rstrip('.?,')}$ directly.",
            code,
            exact,
            "This matches the answer.",
        )
    return None


def at_point(spans: list[str], text: str, answer: Node | None) -> FinalCheck | None:
    """The problem's conditions (and its expression, when that gives the answer) at the values the text found."""
    point = assignments(text)
    if not point:
        return None
    env: dict[str, Any] = {}
    try:
        env = {k: to_number(v) for k, v in point.items()}
    except MathParseError:
        return None
    conditions, objective = [], None
    for span in spans:
        span = span.strip().rstrip(".,?")
        rels = list(RELATION_RE.finditer(span))
        if len(rels) == 1 and rels[0].group(0) == "=":
            lhs, rhs = parse_or_none(span[: rels[0].start()]), parse_or_none(span[rels[0].end() :])
            usable = lhs is not None and rhs is not None and _usable(lhs, point) and _usable(rhs, point)
            if usable and operator_count(lhs) + operator_count(rhs) >= 1 and _same(lhs, rhs, env):
                conditions.append((lhs, rhs))
        elif not rels and answer is not None and objective is None:
            node = parse_or_none(span)
            usable = (
                node is not None and variables(node) and _usable(node, point) and operator_count(node) >= 1
            )
            if usable and _same(node, answer, env):
                objective = node
    if not conditions and objective is None:
        return None
    return _point_check(point, conditions, objective, answer)


def _usable(node: Node, point: dict[str, Node]) -> bool:
    return variables(node) <= set(point)


def _same(a: Node, b: Node, env: dict[str, Any]) -> bool:
    try:
        x, y = complex(to_number(a, env)), complex(to_number(b, env))
    except (MathParseError, OverflowError, ValueError, TypeError, ZeroDivisionError, RecursionError):
        return False
    return abs(x - y) <= 1e-9 * max(1.0, abs(y))


def _point_check(
    point: dict[str, Node], conditions: list[tuple[Node, Node]], objective: Node | None, answer: Node | None
) -> FinalCheck | None:
    used = sorted(
        set().union(
            *(variables(n) for pair in conditions for n in pair), variables(objective or ("num", "0"))
        )
    )
    try:
        values = {k: to_python(point[k], "sympy") for k in used}
        conds = [(to_python(lhs, "sympy"), to_python(rhs, "sympy")) for lhs, rhs in conditions]
        obj = to_python(objective, "sympy") if objective is not None else None
        expected: list[Any] = [True] * len(conds) + ([to_sympy(answer)] if obj is not None and answer else [])
    except (MathParseError, TypeError, ValueError, ZeroDivisionError):
        return None
    imports = {"from sympy import simplify"} if conds else set()
    imports |= {i for v in values.values() for i in v.imports} | {
        i for a, b in conds for i in a.imports | b.imports
    }
    imports |= obj.imports if obj else set()
    lines = sorted(imports) + [f"{', '.join(used)} = {', '.join(values[k].code for k in used)}"]
    lines += [f"print(simplify({a.code} - ({b.code})) == 0)" for a, b in conds]
    lines += [f"print({obj.code})"] if obj else []
    if not conds and code_profile("\n".join(lines)).trivial:
        return None  # C * D at C = -1, D = 5: a glance, not a check
    shown = ", ".join(f"{k} = {_latex(point[k])}" for k in used)
    conclusion = (
        ("The conditions hold" if conds else "")
        + (" and " if conds and obj else "")
        + ("the value is the answer" if obj else "")
        + "."
    )
    return FinalCheck(
        "point",
        f"Check: put ${shown}$ back into the problem.",
        "\n".join(lines),
        expected,
        conclusion[0].upper() + conclusion[1:],
    )


def _latex(node: Node) -> str:
    import sympy

    try:
        return sympy.latex(to_sympy(node))
    except (MathParseError, TypeError, ValueError):
        return "?"
