"""Final checks read off the problem statement itself: the asked value computed by code that does not follow the text.

Where the reasoning holds no calculation worth a block (a divisor count done by a formula, a congruence reduced by
hand, an inequality solved in words), the problem often says exactly what to compute, and a short program answers
it independently of the text. Each check is computed in-process first (fractions, sympy) and written only when its
value is the answer, so a block never disagrees with the answer:

- ``number_theory``: ``remainder when $129^{34}+96^{38}$ is divided by $11$`` (``%``), the units digit of an
  expression (``% 10``), ``greatest common divisor of 3339, 2961 and 1491`` (`math.gcd`), the least common
  multiple, ``how many positive divisors does 196 have`` (`sympy.divisor_count`);
- ``enumerate``: brute force over the integers the problem's conditions allow: ``What integer $x$ satisfies
  $\\frac14 < \\frac{x}{7} < \\frac13$?``, ``$0 \\le n < 18$ and $n \\equiv -11213141 \\pmod{18}$``, ``How many
  integers $n$ satisfy ...?`` (the search space is bounded and every solution lies well inside it);
- ``simplify``: the problem asks to simplify, expand, factor or combine an expression and the answer is an
  expression: sympy does it, then checks that the difference from the answer simplifies to 0.
"""

from __future__ import annotations

import re
from typing import Any

from retool_data.heuristic.chains import parse_or_none
from retool_data.heuristic.code_profile import code_profile
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.final_check import FinalCheck
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy
from retool_data.heuristic.mathspans import math_spans

SEARCH = 1000  # brute force over -SEARCH..SEARCH; a solution within MARGIN of an end means the set may go on
MARGIN = 100
MAX_LISTED = 12  # the solutions are printed when there are this few


def _check(kind: str, lead_in: str, lines: list[str], expected: list[Any], conclusion: str) -> FinalCheck:
    return FinalCheck(kind, lead_in, "\n".join(lines), expected, conclusion)


def plain(problem: str) -> str:
    """The problem with math delimiters and thousands separators removed, for the phrase patterns."""
    text = re.sub(r"\\[()\[\]]|\$", " ", problem)
    text = re.sub(r"(?<=\d)(?:\{,\}|,\\!|,)(?=\d{3}(?!\d))", "", text)
    return re.sub(r"\s+", " ", text)


def answer_int(answer: str) -> int | None:
    text = re.sub(r"(?<=\d)(?:\{,\}|,\\!|,)(?=\d{3})", "", answer.strip().strip("$").strip())
    return int(text) if re.fullmatch(r"-?\d+", text) else None


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
            return _check(
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
        return _check(
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
        return _check(
            "number_theory",
            f"Check: compute the {what} of ${expr}$ directly.",
            code,
            [want],
            "This matches the answer.",
        )
    return None


def _listing(nums: list[int]) -> str:
    return ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"


# -------------------------------------------------------------------------------------------- brute force

_INEQ = re.compile(r"\\le(?:q|qslant)?(?![A-Za-z])|\\ge(?:q|qslant)?(?![A-Za-z])|\\[lg]t(?![A-Za-z])|<|>|≤|≥")
_CONGRUENCE = re.compile(r"^(.+?)\\equiv(.+?)\\pmod\s*\{?\s*(\d+)\s*\}?\s*[.,?~]*$")
_PY_OP = {"<": "<", ">": ">", "≤": "<=", "≥": ">="}


def _relation_op(token: str) -> str:
    if token in _PY_OP:
        return _PY_OP[token]
    name = token.lstrip("\\")
    return {"lt": "<", "gt": ">"}.get(name, "<=" if name.startswith("le") else ">=")


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
        parts = _INEQ.split(body)
        if len(parts) < 2:
            continue
        nodes = [parse_or_none(p) for p in parts]
        if any(n is None for n in nodes):
            return None
        ops = [_relation_op(t) for t in _INEQ.findall(body)]
        names |= set().union(*(variables(n) for n in nodes))
        for (a, b), op in zip(zip(nodes[:-1], nodes[1:], strict=True), ops, strict=True):
            found.append(_inequality(a, op, b))
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
    if want is None:
        return None
    read = conditions(problem)
    if read is None:
        return None
    var, conds = read
    text = plain(problem)
    lo = 1 if re.search(r"\bpositive integers?\b", text, re.I) else -SEARCH
    sols = []
    for x in range(lo, SEARCH + 1):
        try:
            if all(test({var: _frac(x)}) for _, test in conds):
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
    return _check(
        "enumerate",
        f"Check: try every integer ${var}$ from {lo} to {SEARCH} against the problem's conditions.",
        lines,
        expected_lines,
        conclusion,
    )


def _frac(x: int) -> Any:
    from fractions import Fraction

    return Fraction(x)


# ------------------------------------------------------------------------------------------ simplification

_SIMPLIFY = re.compile(r"\b(simplify|expand|factor|as a single fraction|combine|write .* as a)\b", re.I)


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
            if sympy.simplify(to_sympy(node, syms) - to_sympy(ans, syms)) != 0:
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
        return _check(
            "simplify",
            f"Check: let sympy {verb} ${body}$ and compare it with the answer.",
            lines,
            [to_sympy(ans, syms), True],
            "Sympy agrees with the answer.",
        )
    return None


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
    if want is None or not _ASKS_SUM.search(problem):
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
        return _check(
            "series",
            f"Check: add up the {len(run)} terms of ${body}$ directly.",
            code,
            [want],
            "This matches the answer.",
        )
    return None


_ASKS_SUM = re.compile(r"\b(?:compute|evaluate|calculate|find|what is|sum|value)\b", re.I)


def problem_check(problem: str, answer: str) -> FinalCheck | None:
    """The first check the problem statement allows for this answer, or None."""
    for reader in (number_theory, brute_force, simplification, series):
        try:
            found = reader(problem, answer)
        except (MathParseError, RecursionError, OverflowError, ValueError, TypeError, ZeroDivisionError):
            found = None
        if found is not None:
            return found
    return None
