"""Find the explicit calculations in a text-only reasoning trace and write the code that performs each one.

Two kinds, both checked in-process (sympy, exact) before any code is written, so only calculations the text got
right become code:
- arithmetic equalities and chains (``12 \\times 7 = 84``, ``\\frac{3}{4} + \\frac{5}{6} = \\frac{19}{12}``,
  ``2^{10} - 3^5 = 1024 - 243 = 781``, ``\\pi r^2 \\approx 12.57`` for a numeric r);
- one-variable equations sympy can solve (``3x + 5 = 20``) whose solution the text states within the next few
  lines (``x = 5``).

Each `Calculation` records where its code block goes: the start of the line where the result is stated (moved
above a multi-line display it sits in), so the block reads as "compute, then state the result".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from retool_data.heuristic.codegen import code_mode, to_python
from retool_data.heuristic.latex_math import (
    MathParseError,
    Node,
    operator_count,
    parse_math,
    to_sympy,
    variables,
)

SOLUTION_LOOKAHEAD_LINES = 3
_SEPARATORS = re.compile(
    r"\\\\|;|,\s|:\s|\?|\\text\{[^}]*\}|\\mathrm\{[^}]*\}|\\\(|\\\)|\\\[|\\\]|\$|[<>≤≥≠]"
    r"|\\q?quad(?![A-Za-z])|\\(?:implies|Rightarrow|Longrightarrow|rightarrow|to|therefore|because|neq|ne|leq|le"
    r"|geq|ge|equiv|pmod|bmod|mod|lt|gt|sim|cong|in|iff)(?![A-Za-z])|(?<![A-Za-z])(?:so|then|and|thus)\s"
)
_RELATION = re.compile(r"(?<![<>!=])=(?!=)|\\approx(?![A-Za-z])|≈")
_DISPLAY = re.compile(
    r"\\\[.*?\\\]|\$\$.*?\$\$|\\begin\{(align|equation|gather|aligned)\*?\}.*?\\end\{\1\*?\}", re.S
)
_DECIMALS = re.compile(r"\d+\.(\d+)")


@dataclass(frozen=True)
class Calculation:
    kind: str  # "arithmetic" | "equation"
    source: str  # the text it was found in (one clause)
    statement: str  # the python statement(s) printing the result, without imports
    imports: frozenset[str]
    expected: Any  # sympy value (arithmetic) or list of sympy solutions (equation)
    tolerance: float  # absolute tolerance for an approximate (decimal) claim; 0.0 for exact ones
    line: int  # index of the line the code block goes before
    key: str = field(default="")  # what makes two calculations the same (to do each only once)


def _parse(text: str) -> Node | None:
    text = text.strip()
    if not text:
        return None
    try:
        return parse_math(text)
    except (MathParseError, RecursionError):
        return None


def _boundaries(text: str) -> list[int]:
    """Positions where an expression may start or end: never inside a word or a number."""
    cuts = [0, len(text)]
    for i in range(1, len(text)):
        if not (text[i - 1].isalnum() and text[i].isalnum()) and text[i - 1] not in "\\{":
            cuts.append(i)
    return sorted(set(cuts))


_OPERATOR_CMD = r"\\(?:times|cdot|div|pm|mp|ast|frac|sqrt|binom)"
# Math continues across the cut: an operator, a digit, a decimal point glued to it, a single-letter variable
# (not "a", "I", nor the "s" of "that's").
_LEFT_OPEN = re.compile(
    r"(?:(?:[-+*/×·÷−^_=(\[{\\\d]|" + _OPERATOR_CMD + r"|(?<![A-Za-z'’])[b-zA-HJ-Z])\s*|\.)\Z"
)
_RIGHT_OPEN = re.compile(
    r"\A(?:\s*(?:[-+*/×·÷−^_!(\[{\d]|" + _OPERATOR_CMD + r"|[b-zA-HJ-Z](?![A-Za-z]))|\.\d)"
)


def _continues_left(before: str) -> bool:
    """The math goes on to the left (``x^2 + |16``): a piece cut there is not what the text computes."""
    return bool(_LEFT_OPEN.search(before))


def _continues_right(after: str) -> bool:
    """The math goes on to the right (``= 5|x + 3``): the stated value is not what was cut."""
    return bool(_RIGHT_OPEN.match(after))


def longest_suffix(text: str, ok: Any) -> Node | None:
    for i in _boundaries(text):
        if i and _continues_left(text[:i]):
            continue
        node = _parse(text[i:])
        if node is not None and ok(node):
            return node
    return None


def longest_prefix(text: str, ok: Any) -> tuple[Node, str] | None:
    for j in reversed(_boundaries(text)):
        if j < len(text) and _continues_right(text[j:]):
            continue
        node = _parse(text[:j])
        if node is not None and ok(node):
            return node, text[:j].strip()
    return None


def _numeric(node: Node) -> bool:
    return not variables(node)


def is_result_form(node: Node) -> bool:
    """A stated result: 84, -3, \\frac{19}{12}, 2\\sqrt{2}, \\sqrt{3}/2, 4\\pi, 12.57."""
    op = node[0]
    if op in ("num", "pi"):
        return True
    if op == "root":
        return node[1][0] == "num" and node[2] == ("num", "2")
    if op == "neg":
        return is_result_form(node[1])
    if op == "mul":
        return node[1][0] == "num" and node[2][0] in ("root", "pi") and is_result_form(node[2])
    if op == "div":
        return node[2][0] == "num" and node[1][0] != "div" and is_result_form(node[1])
    return False


def _is_trivial(node: Node) -> bool:
    """One operation on one-digit integers (3 + 4, 2 \\times 5): not worth a tool call."""
    lits = re.findall(r"'num', '([^']*)'", repr(node))
    return (
        operator_count(node) <= 1
        and all(len(v) == 1 for v in lits)
        and node[0] in ("add", "sub", "mul", "div")
    )


def _tolerance(claim: str) -> float:
    decimals = [len(m.group(1)) for m in _DECIMALS.finditer(claim)]
    return 10.0 ** -max(decimals) if decimals else 0.0


def values_agree(got: Any, want: Any, tolerance: float) -> bool:
    import sympy

    try:
        diff = abs(complex(sympy.N(got - want, 40)))
        scale = max(1.0, abs(complex(sympy.N(want, 20))))
    except (TypeError, ValueError):
        return False
    return diff <= tolerance + 1e-12 * scale


def arithmetic_in_clause(clause: str, line: int) -> list[Calculation]:
    """Equality chains in one clause: the first side with an operator is computed, the last side is the claim."""
    parts = _RELATION.split(clause)
    if len(parts) < 2:
        return []
    found: list[Calculation] = []
    chain: list[tuple[Node, str]] = []
    for idx, part in enumerate(parts):
        if idx == 0:
            node = longest_suffix(part, _numeric)
            chain = [(node, part.strip())] if node is not None else []
            continue
        whole = _parse(part)
        if idx < len(parts) - 1 and whole is not None and _numeric(whole):
            chain.append((whole, part.strip()))
            continue
        prefix = longest_prefix(part, _numeric)
        if prefix is not None:
            chain.append(prefix)
        found += _chain_calculation(chain, clause, line)
        node = longest_suffix(part, _numeric) if idx < len(parts) - 1 else None
        chain = [(node, part.strip())] if node is not None else []
    return found


def _chain_calculation(chain: list[tuple[Node, str]], clause: str, line: int) -> list[Calculation]:
    if len(chain) < 2:
        return []
    at = next(
        (i for i, (n, _) in enumerate(chain[:-1]) if operator_count(n) >= 1 and not is_result_form(n)), None
    )
    if at is None:
        at = next((i for i, (n, _) in enumerate(chain[:-1]) if operator_count(n) >= 1), None)
    # the claim: the last stated result after it ("5^2 + 12^2 = 169 = 13^2" claims 169)
    claims = [] if at is None else [(n, t) for n, t in chain[at + 1 :] if is_result_form(n)]
    if at is None or not claims or _is_trivial(chain[at][0]) or chain[at][1] == claims[-1][1]:
        return []
    computed, (claim_node, claim_text) = chain[at], claims[-1]
    node, text = computed
    try:
        value, claimed = to_sympy(node), to_sympy(claim_node)
        tolerance = _tolerance(claim_text)
        if not values_agree(value, claimed, tolerance):
            return []  # the text got it wrong (or we misread it): leave it as text
        mode = code_mode(node)
        if "." in claim_text and mode == "fraction":
            mode = "float"
        py = to_python(node, mode)
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, OverflowError):
        return []
    expr = py.code
    if tolerance:
        digits = len(claim_text.split(".")[-1].rstrip("}"))
        expr = f"round({expr if mode == 'float' else f'float({expr})'}, {digits})"
    return [
        Calculation(
            "arithmetic",
            clause.strip(),
            f"print({expr})",
            py.imports,
            value,
            tolerance,
            line,
            key=f"a:{py.code}",
        )
    ]


_SOLVED_RE = r"(?<![A-Za-z\\]){var}\s*=\s*(?=([^=<>]+))"  # lookahead: "3x = 15, so x = 5" has two
_NORMALIZE = [
    (re.compile(r"\\boxed\s*"), ""),
    (re.compile(r"&"), ""),
    (re.compile(r"\\left\.|\\right\."), ""),
    (re.compile(r"\\displaystyle"), ""),
    (re.compile(r"\\,"), " "),
]


def normalize_line(line: str) -> str:
    for pattern, repl in _NORMALIZE:
        line = pattern.sub(repl, line)
    return line


def clauses(line: str) -> list[str]:
    return [c for c in _SEPARATORS.split(normalize_line(line)) if c and _RELATION.search(c)]


def _one_var(node: Node) -> bool:
    return len(variables(node)) <= 1


def equation_in_clause(clause: str, line: int, lines: list[str]) -> list[Calculation]:
    """A one-variable equation whose solution the text states shortly after (on this line or the next few)."""
    import sympy

    parts = _RELATION.split(clause)
    if len(parts) != 2 or "≈" in clause or "approx" in clause:
        return []
    lhs = longest_suffix(parts[0], _one_var)
    rhs_found = longest_prefix(parts[1], _one_var)
    if lhs is None or rhs_found is None:
        return []
    rhs = rhs_found[0]
    names = variables(lhs) | variables(rhs)
    if len(names) != 1 or lhs[0] == "var" or rhs[0] == "var":
        return []  # no unknown, or a definition/statement like "x = 5" rather than an equation
    var = names.pop()
    sym = sympy.Symbol(var)
    try:
        left, right = to_sympy(lhs, {var: sym}), to_sympy(rhs, {var: sym})
        poly = sympy.Poly(sympy.together(left - right).as_numer_denom()[0], sym)
        if not 1 <= poly.degree() <= 4:
            return []
        solutions = sympy.solve(sympy.Eq(left, right), sym)
    except (
        MathParseError,
        sympy.PolynomialError,
        sympy.GeneratorsNeeded,
        TypeError,
        ValueError,
        NotImplementedError,
    ):
        return []
    if not solutions or len(solutions) > 4:
        return []
    for offset, later in enumerate(lines[line : line + 1 + SOLUTION_LOOKAHEAD_LINES]):
        text = normalize_line(later)
        if offset == 0:
            text = text[text.find(clause.strip()[-8:]) + 8 :] if clause.strip()[-8:] in text else ""
        for m in re.finditer(_SOLVED_RE.format(var=re.escape(var)), text):
            stated = longest_prefix(m.group(1), _numeric)
            if stated is None or not is_result_form(stated[0]):
                continue
            value = to_sympy(stated[0])
            if any(values_agree(s, value, _tolerance(stated[1])) for s in solutions):
                return [_equation_calc(clause, lhs, rhs, var, solutions, line + offset)]
    return []


def _equation_calc(
    clause: str, lhs: Node, rhs: Node, var: str, solutions: list[Any], line: int
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
    )


def find_calculations(text: str) -> list[Calculation]:
    """Every convertible calculation in ``text``, in order, each found once (the first time it is done)."""
    lines = text.split("\n")
    found: list[Calculation] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if "=" not in line and "≈" not in line and "approx" not in line:
            continue
        for clause in clauses(line):
            calcs = arithmetic_in_clause(clause, i) or equation_in_clause(clause, i, lines)
            for calc in calcs:
                if calc.key not in seen:
                    seen.add(calc.key)
                    found.append(calc)
    return found


def insertion_lines(text: str) -> dict[int, int]:
    """Line index -> the line a code block meant for it must go before (outside multi-line displays)."""
    starts = [0]
    for m in re.finditer("\n", text):
        starts.append(m.end())
    moved: dict[int, int] = {}
    for m in _DISPLAY.finditer(text):
        first = max(i for i, s in enumerate(starts) if s <= m.start())
        last = max(i for i, s in enumerate(starts) if s <= m.end())
        for i in range(first + 1, last + 1):
            moved[i] = first
    return moved
