"""Final checks read off the problem statement itself: the asked value computed by code that does not follow the text.

Where the reasoning holds no calculation worth a block (a divisor count done by a formula, a congruence reduced by
hand, an inequality solved in words), the problem often says exactly what to compute, and a short program answers
it independently of the text. Each check is computed in-process first (fractions, sympy) and written only when its
value is the answer, so a block never disagrees with the answer:

- ``number_theory``: ``remainder when $129^{34}+96^{38}$ is divided by $11$`` (``%``), also over a residue class
  the problem gives (``If $n \\equiv 2 \\pmod{7}$ ...``), the units digit of an expression (``% 10``),
  ``greatest common divisor of 3339, 2961 and 1491`` (`math.gcd`), the least common multiple, ``how many positive
  divisors does 196 have`` (`sympy.divisors`, listed and counted);
- ``simplify``: the problem asks to simplify, expand, factor or combine an expression and the answer is an
  expression: sympy does it (`simplify`, `expand`, `factor`, `together`), then checks that the difference from
  the answer simplifies to 0;
- ``function``: the problem defines functions (``$f(x) = 3x^2 - 5$``) and asks a value (``$f(f(1))$``): the
  functions become ``def``s and the value is computed (exactly: ints, or sympy from the argument on);
- ``enumerate`` and ``series``: brute force over the integers the problem's conditions allow, and sums written
  with dots (`heuristic.enumeration`).

A computation a reader does at a glance (one or two operations on small numbers) gets no block, as in the text.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import parse_or_none
from retool_data.heuristic.check_kit import ASKS_VALUE, FinalCheck, answer_int, make_check, plain, vanishes
from retool_data.heuristic.code_profile import code_profile
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.enumeration import brute_force, series
from retool_data.heuristic.interval_check import interval_check
from retool_data.heuristic.latex_math import MathParseError, Node, kinds, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy
from retool_data.heuristic.mathspans import math_spans
from retool_data.heuristic.ode_check import ode_check
from retool_data.heuristic.prime_checks import prime_checks
from retool_data.heuristic.system_check import system_check

# ------------------------------------------------------------------------------------------ number theory

_NUMBER_LIST = r"(\d+(?:\s*(?:,|and|,\s*and)\s*\d+)+)"
_GCD = re.compile(r"(?:greatest common (?:divisor|factor)|\bgcd|\bGCF)\s+of\s+" + _NUMBER_LIST, re.I)
_LCM = re.compile(r"(?:least common multiple|\blcm)\s+of\s+" + _NUMBER_LIST, re.I)
_DIVISORS = re.compile(
    r"how many (?:positive )?(?:whole[- ]number |integer |integral )?(?:divisors|factors) does (\d+) have",
    re.I,
)
_REMAINDER = re.compile(r"remainder (?:when|of) (.+?) (?:is )?divided by (\d+)", re.I)
_UNITS = re.compile(
    r"(?:units|ones|last) digit (?:of|in) (?:the (?:number|product|sum) )?(.+?)(?:[?.]\s|[?.]?$|,)", re.I
)


def number_theory(problem: str, answer: str) -> FinalCheck | None:
    want = answer_int(answer)
    if want is None:
        return None
    text = plain(problem)
    for pattern, name in ((_GCD, "gcd"), (_LCM, "lcm")):
        m = pattern.search(text)
        if m:
            nums = [int(n) for n in re.findall(r"\d+", m.group(1))]
            import math

            got = math.gcd(*nums) if name == "gcd" else math.lcm(*nums)
            if got != want or max(nums) < 100:
                return None
            what = "greatest common divisor" if name == "gcd" else "least common multiple"
            return make_check(
                "number_theory",
                f"Check: compute the {what} of {_listing(nums)} directly.",
                ["import math", f"print(math.{name}({', '.join(map(str, nums))}))"],
                [want],
                "This matches the answer.",
            )
    m = _DIVISORS.search(text)
    if m:
        import sympy

        n = int(m.group(1))
        if sympy.divisor_count(n) != want:
            return None
        return make_check(
            "number_theory",
            f"Check: list the positive divisors of {n} and count them.",
            ["from sympy import divisors", f"d = divisors({n})", "print(d)", "print(len(d))"],
            [sympy.divisors(n), want],
            "The count is the answer.",
        )
    for pattern, modulus in ((_REMAINDER, None), (_UNITS, 10)):
        m = pattern.search(text)
        if not m:
            continue
        expr = m.group(1).strip().rstrip(".,?")
        mod = modulus or int(m.group(2))
        node = parse_or_none(expr)
        if node is not None and modulus is None and len(variables(node)) == 1:
            found = _residue_class(problem, node, expr, mod, want)
            if found:
                return found
        if node is None or variables(node) or operator_count(node) < 1:
            continue
        try:
            value = to_number(node)
            py = to_python(node)
        except MathParseError:
            continue
        if py.mode != "int" or getattr(value, "denominator", 0) != 1 or int(value) % mod != want % mod:
            continue
        if not 0 <= want < mod or (operator_count(node) <= 1 and abs(value) < 1000):
            continue  # (5 * 7) % 6 is a glance
        code = [*sorted(py.imports), f"print(({py.code}) % {mod})"]
        if code_profile("\n".join(code)).trivial:
            return None
        what = "remainder mod " + str(mod) if modulus is None else "units digit"
        return make_check(
            "number_theory",
            f"Check: compute the {what} of ${expr}$ directly.",
            code,
            [want],
            "This matches the answer.",
        )
    return None


_GIVEN_RESIDUE = r"(?<![A-Za-z\\]){v}\s*\\equiv\s*(-?\d+)\s*\\pmod\s*\{{?\s*(\d+)\s*\}}?"


def _residue_class(problem: str, node: Node, expr: str, mod: int, want: int) -> FinalCheck | None:
    """``If $n \\equiv 2 \\pmod{7}$, find the remainder when $(n + 2)(n + 4)(n + 6)$ is divided by 7``: the
    remainder at many members of the residue class (one value, the answer)."""
    (var,) = variables(node)
    given = re.search(_GIVEN_RESIDUE.format(v=re.escape(var)), problem)
    if not given:
        return None
    r, m = int(given.group(1)), int(given.group(2))
    members = range(r, r + 100 * m, m)
    if not kinds(node) <= {"num", "var", "add", "sub", "mul", "neg", "pow"}:
        return None  # integer arithmetic only: % on it is exact
    try:
        got = {int(to_number(node, {var: _frac(k)})) % mod for k in members}
        py = to_python(node, "int")
    except (MathParseError, ValueError, TypeError):
        return None
    if got != {want}:
        return None
    return make_check(
        "number_theory",
        f"Check: compute the remainder of ${expr}$ mod {mod} for a hundred values ${var} \\equiv {r} \\pmod{{{m}}}$.",
        [
            *sorted(py.imports),
            f"print(sorted({{({py.code}) % {mod} for {var} in range({r}, {r + 100 * m}, {m})}}))",
        ],
        [[want]],
        "Every one gives the answer.",
    )


def _frac(x: int) -> Any:
    from fractions import Fraction

    return Fraction(x)


def _listing(nums: list[int]) -> str:
    return ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"


# ------------------------------------------------------------------------------------------ simplification

_SIMPLIFY = re.compile(r"\b(simplify|expand|factor|as a single fraction|combine|write .* as a)\b", re.I)


_DOES = {
    "simplify": "simplify {}",
    "expand": "expand {}",
    "factor": "factor {}",
    "together": "put {} over one denominator",
}


def simplification(problem: str, answer: str) -> FinalCheck | None:
    m = _SIMPLIFY.search(problem)
    ans = parse_or_none(answer.strip().strip("$").strip())
    if not m or ans is None or not variables(ans):
        return None
    said = m.group(1).lower()
    verb = {"expand": "expand", "factor": "factor", "combine": "together"}.get(said, "simplify")
    verb = "together" if re.search(r"single fraction|\bcombine\b", problem, re.I) else verb
    import sympy

    for span in math_spans(problem):
        body = problem[span.inner : span.end].strip().rstrip(".,?")
        node = parse_or_none(body)
        if (
            node is None
            or operator_count(node) < 2
            or not variables(node) <= variables(ans) | variables(node)
        ):
            continue
        if variables(node) != variables(ans):
            continue
        syms = {v: sympy.Symbol(v) for v in variables(node)}
        try:
            if not vanishes(to_sympy(node, syms) - to_sympy(ans, syms)):
                continue
            expr, target = to_python(node, "sympy"), to_python(ans, "sympy")
        except (MathParseError, TypeError, ValueError, ZeroDivisionError):
            continue
        names = sorted(variables(node))
        used = ", ".join(sorted({verb, "simplify", "symbols"}))
        imports = sorted({f"from sympy import {used}"} | expr.imports | target.imports)
        lines = [
            *imports,
            f"{', '.join(names)} = symbols('{' '.join(names)}')",
            f"expr = {expr.code}",
            f"print({verb}(expr))",
            f"print(simplify(expr - ({target.code})) == 0)",
        ]
        return make_check(
            "simplify",
            f"Check: {_DOES[verb].format(f'${body}$')} with sympy and compare it with the answer.",
            lines,
            [to_sympy(ans, syms), True],
            "Sympy agrees with the answer.",
        )
    return None


# --------------------------------------------------------------------------------------- function values

_DEFINITION = re.compile(r"^([a-zA-Z])\s*\(\s*([a-z])\s*\)\s*=\s*(.+)$")
_APPLY = re.compile(r"^([a-zA-Z])\s*\((.+)\)$")
_INT_KINDS = {"num", "var", "add", "sub", "mul", "neg", "pow"}


def _apply(text: str, defs: dict[str, tuple[str, Node]], depth: int = 0) -> tuple[Any, str, int] | None:
    """``f(g(2))`` -> (its value, its Python, the number of applications); None unless every name is defined."""
    text = text.strip()
    m = _APPLY.match(text)
    if m and m.group(1) in defs and depth < 4:
        inner = _apply(m.group(2), defs, depth + 1)
        if inner is None:
            return None
        var, body = defs[m.group(1)]
        return to_number(body, {var: inner[0]}), f"{m.group(1)}({inner[1]})", inner[2] + 1
    node = parse_or_none(text)
    if node is None or variables(node) or depth == 0:
        return None
    return to_number(node), to_python(node).code, 0


def function_value(problem: str, answer: str) -> FinalCheck | None:
    """``If $f(x) = 3x^2 - 5$, what is $f(f(1))$?``: the functions defined in code, the asked value computed."""
    want = parse_or_none(answer.strip().strip("$").strip())
    if want is None or variables(want) or not ASKS_VALUE.search(problem):
        return None
    spans = [problem[s.inner : s.end].strip().rstrip(".,?") for s in math_spans(problem)]
    defs: dict[str, tuple[str, Node]] = {}
    for body in spans:
        m = _DEFINITION.match(body)
        node = parse_or_none(m.group(3)) if m else None
        if m and node is not None and variables(node) <= {m.group(2)} and m.group(1) != m.group(2):
            defs[m.group(1)] = (m.group(2), node)
    if not defs:
        return None
    for body in spans:
        try:
            found = _apply(body, defs)
            value = to_number(want)
        except (MathParseError, RecursionError, OverflowError, ZeroDivisionError, TypeError, ValueError):
            continue
        if found is None or not _close(found[0], value):
            continue
        names = sorted(n for n in defs if f"{n}(" in found[1])
        if sum(operator_count(defs[n][1]) for n in names) + found[2] < 4:
            return None  # one or two operations on a small argument: a glance
        lines: list[str] = []
        imports: set[str] = set()
        exact = all(kinds(defs[n][1]) <= _INT_KINDS for n in names)
        for n in names:
            var, node = defs[n]
            py = to_python(node, "int" if exact else "sympy")
            imports |= py.imports
            lines += [f"def {n}({var}):", f"    return {py.code}"]
        call = found[1]
        if not exact:  # exact from the argument on: f(S(3)) keeps (x + 1) / (x - 2) a Rational
            call = re.sub(r"\(([^()]+)\)", r"(S(\1))", call, count=1)
            imports.add("from sympy import S")
        lines = sorted(imports) + lines
        lines.append(f"print({call})")
        try:
            expected = to_sympy(want)
        except (MathParseError, TypeError, ValueError):
            return None
        return make_check(
            "function",
            f"Check: define the function{'s' if len(names) > 1 else ''} and compute ${body}$.",
            lines,
            [expected],
            "This matches the answer.",
        )
    return None


def _close(a: Any, b: Any) -> bool:
    try:
        return abs(complex(a) - complex(b)) <= 1e-9 * max(1.0, abs(complex(b)))
    except (TypeError, ValueError, OverflowError):
        return False


def problem_check(problem: str, answer: str) -> FinalCheck | None:
    """The first check the problem statement allows for this answer, or None."""

    readers = (
        number_theory, prime_checks, brute_force, simplification, series, function_value, ode_check, system_check,
        interval_check,
    )  # fmt: skip
    for reader in readers:
        try:
            found = reader(problem, answer)
        except (MathParseError, RecursionError, OverflowError, ValueError, TypeError, ZeroDivisionError):
            found = None
        if found is not None:
            return found
    return None
