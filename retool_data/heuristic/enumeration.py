"""Brute-force final checks: the integers a problem's conditions allow, and arithmetic runs written with dots.

- ``enumerate``: every integer in -SEARCH..SEARCH (1..SEARCH for "positive integers") tested against the problem's
  inequalities and congruences in its one unknown: ``What integer $x$ satisfies $\\frac14 < \\frac{x}{7} <
  \\frac13$?`` (the solution list), ``How many integers $n$ satisfy ...?`` (its length), ``the smallest integer
  ...`` (its minimum). A set that reaches within MARGIN of a search end may go on past it: no count is claimed;
- ``series``: ``Compute $1-2+3-4+ \\dots +99-100$``: an arithmetic run of terms with a repeating sign pattern,
  summed by `sum` over a `range`.

Both are computed in-process first and written only when they give the answer (`problem_checks`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from retool_data.heuristic.chains import parse_or_none
from retool_data.heuristic.check_kit import ASKS_VALUE, FinalCheck, answer_int, make_check, plain
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.latex_math import MathParseError, Node, variables
from retool_data.heuristic.latex_values import to_number
from retool_data.heuristic.mathspans import math_spans

SEARCH = 1000  # brute force over -SEARCH..SEARCH; a solution within MARGIN of an end means the set may go on
MARGIN = 100
MAX_LISTED = 12  # the solutions are printed when there are this few


# -------------------------------------------------------------------------------------------- brute force

_INEQ = re.compile(r"\\le(?:q|qslant)?(?![A-Za-z])|\\ge(?:q|qslant)?(?![A-Za-z])|\\[lg]t(?![A-Za-z])|<|>|≤|≥")
_CONGRUENCE = re.compile(r"^(.+?)\\equiv(.+?)\\pmod\s*\{?\s*(\d+)\s*\}?\s*[.,?~]*$")
_PY_OP = {"<": "<", ">": ">", "≤": "<=", "≥": ">="}


def _relation_op(token: str) -> str:
    if token in _PY_OP:
        return _PY_OP[token]
    name = token.lstrip("\\")
    return {"lt": "<", "gt": ">"}.get(name, "<=" if name.startswith("le") else ">=")


class NotARelation(ValueError):
    """A span written as a chain of relations whose sides do not parse: the check gives up."""


def relation_chain(body: str) -> tuple[list[Node], list[str]] | None:
    """(sides, operators) of a chain of inequalities ``0 \\le n < 18`` (None: ``body`` is no such chain);
    `NotARelation` when it is one but a side does not parse."""
    parts = _INEQ.split(body)
    if len(parts) < 2:
        return None
    nodes = [parse_or_none(p) for p in parts]
    if any(n is None for n in nodes):
        raise NotARelation(body)
    return nodes, [_relation_op(t) for t in _INEQ.findall(body)]


def conditions(problem: str) -> tuple[str, list[tuple[str, Any]]] | None:
    """The one unknown and the problem's integer conditions on it: ``("x", [(python condition, test), ...])``.
    A test is a function of an int; None unless every condition is in that one unknown and readable."""
    found: list[tuple[str, Any]] = []
    names: set[str] = set()
    for span in math_spans(problem):
        body = re.sub(r"~|\\[,;!]", " ", problem[span.inner : span.end]).strip().rstrip(".,?~ ")
        cong = _CONGRUENCE.match(body)
        if cong:
            lhs, rhs = parse_or_none(cong.group(1)), parse_or_none(cong.group(2))
            mod = int(cong.group(3))
            if lhs is None or rhs is None or mod < 2:
                return None
            names |= variables(lhs) | variables(rhs)
            found.append(_congruence(lhs, rhs, mod))
            continue
        try:
            relation = relation_chain(body)
        except NotARelation:
            return None
        if relation is None:
            continue
        nodes, ops = relation
        names |= set().union(*(variables(n) for n in nodes))
        pairs = [_inequality(a, op, b) for a, b, op in zip(nodes[:-1], nodes[1:], ops, strict=True)]
        if any(p is None for p in pairs):
            return None
        try:  # one chained comparison per span, as written: 0 <= n < 18
            chain = (
                " ".join(f"{_py(n)} {op}" for n, op in zip(nodes, ops, strict=False)) + f" {_py(nodes[-1])}"
            )
        except MathParseError:
            return None
        found.append((chain, lambda env, tests=[t for _, t in pairs]: all(t(env) for t in tests)))
    if len(names) != 1 or not found or any(c is None for c in found):
        return None
    return names.pop(), found


def _py(node: Node) -> str:
    return to_python(node, "fraction").code


def _inequality(a: Node, op: str, b: Node) -> tuple[str, Any] | None:
    try:
        code = f"{_py(a)} {op} {_py(b)}"
    except MathParseError:
        return None
    ops = {
        "<": lambda x, y: x < y,
        ">": lambda x, y: x > y,
        "<=": lambda x, y: x <= y,
        ">=": lambda x, y: x >= y,
    }

    def test(env: dict[str, Any]) -> bool:
        return ops[op](to_number(a, env), to_number(b, env))

    return code, test


def _congruence(lhs: Node, rhs: Node, mod: int) -> tuple[str, Any] | None:
    try:
        code = f"({_py(lhs)} - ({_py(rhs)})) % {mod} == 0"
    except MathParseError:
        return None

    def test(env: dict[str, Any]) -> bool:
        diff = to_number(lhs, env) - to_number(rhs, env)
        return getattr(diff, "denominator", 0) == 1 and diff % mod == 0

    return code, test


_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b", re.I)
_WHICH = re.compile(
    r"\b(?:what|which|find the) (?:(?:positive |negative )?integer|whole number)\b"
    r"|\b(?P<ext>smallest|least|largest|greatest) (?:possible )?(?:positive |negative )?integer(?: value)?",
    re.I,
)


def brute_force(problem: str, answer: str) -> FinalCheck | None:
    want = answer_int(answer)
    text = plain(problem)
    if want is None or not (_HOW_MANY.search(text) or _WHICH.search(text)):
        return None  # it asks for no integer count or choice: no search
    read = conditions(problem)
    if read is None:
        return None
    var, conds = read
    lo = 1 if re.search(r"\bpositive integers?\b", text, re.I) else -SEARCH
    sols = []
    for x in range(lo, SEARCH + 1):
        try:
            if all(test({var: Fraction(x)}) for _, test in conds):
                sols.append(x)
        except (MathParseError, ZeroDivisionError, TypeError, ValueError):
            return None
    if not sols:
        return None
    low_open, high_open = (
        sols[0] < lo + MARGIN and lo < 0,
        sols[-1] > SEARCH - MARGIN,
    )  # may go on past the search
    which = _WHICH.search(text)
    extreme = which.group("ext").lower() if which and which.group("ext") else None
    if (low_open and extreme not in ("largest", "greatest")) or (
        high_open and extreme not in ("smallest", "least")
    ):
        return None  # no honest count, and no honest extreme, of a set the search may have cut
    if _HOW_MANY.search(text) and len(sols) == want:
        pick, expected, what = "print(len(sols))", len(sols), "count"
    elif extreme:
        smallest = extreme in ("smallest", "least")
        got = sols[0] if smallest else sols[-1]
        if got != want:
            return None
        pick, expected, what = f"print({'min' if smallest else 'max'}(sols))", got, "extreme"
    elif which and sols == [want]:
        pick, expected, what = "", None, "unique"
    else:
        return None
    lines = ["from fractions import Fraction"] if any("Fraction" in c for c, _ in conds) else []
    cond = " and ".join(f"({c})" if " and " in c else c for c, _ in conds)
    lines.append(f"sols = [{var} for {var} in range({lo}, {SEARCH + 1}) if {cond}]")
    listed = len(sols) <= MAX_LISTED
    expected_lines: list[Any] = [sols] if listed or what == "unique" else []
    if listed or what == "unique":
        lines.append("print(sols)")
    if pick:
        lines.append(pick)
        expected_lines.append(expected)
    conclusion = {
        "count": "The count is the answer.",
        "extreme": "The extreme solution is the answer.",
        "unique": "The only integer that works is the answer.",
    }[what]
    return make_check(
        "enumerate",
        f"Check: try every integer ${var}$ from {lo} to {SEARCH} against the problem's conditions.",
        lines,
        expected_lines,
        conclusion,
    )


# ------------------------------------------------------------------------------------------------- series

_DOTS = re.compile(r"\\[lc]?dots(?![A-Za-z])|\.\.\.")
_TERM = re.compile(r"([+-]?)\s*(\d+)")


def _terms(text: str) -> list[int] | None:
    """``1-2+3-4+5-`` -> [1, -2, 3, -4, 5] (the trailing sign belongs to the next term); None unless only terms."""
    text = text.strip().rstrip("+-").strip()
    found = list(_TERM.finditer(text))
    if not found or "".join(m.group(0) for m in found).replace(" ", "") != text.replace(" ", ""):
        return None
    return [int(m.group(2)) * (-1 if m.group(1) == "-" else 1) for m in found]


def series(problem: str, answer: str) -> FinalCheck | None:
    """``Compute $1-2+3-4+ \\dots +99-100$``: an arithmetic run of terms with a repeating sign pattern, summed."""
    want = answer_int(answer)
    if want is None or not ASKS_VALUE.search(problem):
        return None
    for span in math_spans(problem):
        body = problem[span.inner : span.end].strip().rstrip(".,?")
        parts = _DOTS.split(body)
        if len(parts) != 2:
            continue
        head, tail = _terms(parts[0]), _terms(parts[1] if parts[1].strip()[:1] in "+-" else "+" + parts[1])
        if not head or not tail or len(head) < 3:
            continue
        size = [abs(t) for t in head + tail]
        step = size[1] - size[0]
        signs = [t > 0 for t in head]
        period = 1 if len(set(signs)) == 1 else 2
        if step <= 0 or any(size[i + 1] - size[i] != step for i in range(len(head) - 1)):
            continue
        if (size[-1] - size[0]) % step or any(
            b - a != step for a, b in zip(size[len(head) :], size[len(head) + 1 :], strict=False)
        ):
            continue
        run = list(range(size[0], size[-1] + 1, step))
        pattern = signs[:period]
        if period == 2 and pattern[0] == pattern[1]:
            continue
        sign_of = [pattern[i % period] for i in range(len(run))]
        if sign_of[: len(head)] != signs or sign_of[len(run) - len(tail) :] != [t > 0 for t in tail]:
            continue
        total = sum(k if up else -k for k, up in zip(run, sign_of, strict=True))
        if total != want:
            continue
        rng = f"range({size[0]}, {size[-1] + 1}{'' if step == 1 else f', {step}'})"
        if period == 1:
            code = [f"print({'' if pattern[0] else '-'}sum({rng}))"]
        else:
            first = "k" if pattern[0] else "-k"
            second = "-k" if pattern[0] else "k"
            code = [f"print(sum({first} if i % 2 == 0 else {second} for i, k in enumerate({rng})))"]
        return make_check(
            "series",
            f"Check: add up the {len(run)} terms of ${body}$ directly.",
            code,
            [want],
            "This matches the answer.",
        )
    return None
