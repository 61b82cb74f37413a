"""Find the explicit calculations in a text-only reasoning trace and write the exact code that performs each one.

Kinds, each checked in-process (sympy, exact) before any code is written, so only calculations the text got right
become code:
- arithmetic equalities and chains (``12 \\times 17 = 204``, ``\\frac{3}{4} + \\frac{5}{6} = \\frac{19}{12}``,
  ``2^{10} - 3^5 = 1024 - 243 = 781``, ``\\pi r^2 \\approx 12.57`` for a numeric r), compared at the precision the
  text writes the result to (`claims`);
- one-variable equations sympy can solve (``3x + 5 = 20``) whose solution the text states within the next few
  lines (``x = 5``) (`equations`).

Each `Calculation` records the spans the rewriter needs (`heuristic.compose`): where the computed expression starts
and ends (the block goes right after it) and where the stated result is (the text resumes there).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from retool_data.heuristic.algebra import identity_in_clause
from retool_data.heuristic.assignments import assignment_positions
from retool_data.heuristic.chains import (
    Side,
    chain_sides,
    clause_spans,
    flatten_displays,
    line_starts,
    numeric,
)
from retool_data.heuristic.claims import (
    _SCI_CLAIM,
    Calculation,
    _measured,
    claim_places,
    is_result_form,
    tolerance,
    values_agree,
)
from retool_data.heuristic.code_profile import code_profile
from retool_data.heuristic.codegen import PyExpr, code_mode, to_python
from retool_data.heuristic.equations import equation_in_clause
from retool_data.heuristic.latex_math import MathParseError, Node, is_int_literal, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy

__all__ = ["Calculation", "arithmetic_in_clause", "find_calculations", "print_statement", "values_agree"]


def arithmetic_in_clause(
    clause: str, line: int, offset: int = 0, known: dict[str, Node] | None = None
) -> list[Calculation]:
    """Equality chains in one clause: the first side with an operator is computed, the last side is the claim.
    ``offset`` is where the clause starts in the whole text (the spans are text offsets). ``known``: values the
    text gave unknowns before this clause (``x = 5``); a side in those unknowns is computed with them."""
    found = [c for chain in chain_sides(clause) for c in _chain_calculation(chain, clause, line, offset)]
    if found or not known:
        return found
    names = set(known)
    chains = chain_sides(clause, lambda n: bool(variables(n)) and variables(n) <= names or numeric(n))
    return [c for chain in chains for c in _chain_calculation(chain, clause, line, offset, known)]


def _chain_calculation(
    chain: list[Side], clause: str, line: int, offset: int, known: dict[str, Node] | None = None
) -> list[Calculation]:
    at = next(
        (i for i, s in enumerate(chain[:-1]) if operator_count(s.node) >= 1 and not is_result_form(s.node)),
        None,
    )
    if at is None:
        at = next((i for i, s in enumerate(chain[:-1]) if operator_count(s.node) >= 1), None)
    # the claim: the last stated result after it ("5^2 + 12^2 = 169 = 13^2" claims 169)
    claims = [] if at is None else [s for s in chain[at + 1 :] if is_result_form(s.node)]
    if at is None or not claims or chain[at].text == claims[-1].text:
        return []
    # the last stated result, else an earlier one: "2e27 / 1e6 = 2e21 s = 6e13 years" computes 2e21, and the
    # unit conversion after it stays text
    for claim in reversed(claims):
        found = _claimed(chain, at, claim, clause, line, offset, known)
        if found:
            return found
    return []


def _claimed(
    chain: list[Side],
    at: int,
    claim: Side,
    clause: str,
    line: int,
    offset: int,
    known: dict[str, Node] | None,
) -> list[Calculation]:
    computed = chain[at]
    if (
        computed.text == claim.text
        or not numeric(claim.node)
        or (known is not None and not variables(computed.node))
    ):
        return []
    node = substitute(computed.node, known) if known else computed.node
    approx = any(s.relation != "=" for s in chain[at + 1 : chain.index(claim) + 1])
    places = claim_places(claim.text, rounded=_measured(node))
    tol = tolerance(places, approx)
    try:
        quick, quick_claim = to_number(node), to_number(claim.node)
        if isinstance(quick, Fraction) and isinstance(
            quick_claim, Fraction
        ):  # exact already: no sympy needed
            if abs(quick - quick_claim) > Fraction(tol):
                return []
            value, claimed = quick, quick_claim
        else:
            if abs(complex(quick) - complex(quick_claim)) > tol + 1e-6 * max(1.0, abs(complex(quick_claim))):
                return []  # the text got it wrong (or we misread it): leave it as text
            value, claimed = to_sympy(node), to_sympy(claim.node)
            if not values_agree(value, claimed, tol):
                return []
        py = to_python(computed.node, code_mode(node)) if known else to_python(node)
        prelude = _given(computed.node, known, code_mode(node)) if known else ""
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return []
    statement, imports = print_statement(py, value, claimed, places, tol, claim.text)
    if prelude:
        given, given_imports = prelude
        statement, imports = given + "\n" + statement, imports | given_imports
    if code_profile(statement).trivial:
        return []  # a glance's worth of arithmetic: a tool call would only decorate it
    return [
        Calculation(
            "arithmetic",
            clause.strip(),
            statement,
            imports,
            value,
            tol,
            line,
            key=f"a:{statement}",
            start=offset + computed.start,
            cut=offset + computed.end,
            resume=offset + claim.start,
            claim=claim.text,
        )
    ]


def substitute(node: Node, values: dict[str, Node]) -> Node:
    """``node`` with each variable replaced by its value's tree."""
    if node[0] == "var":
        return values.get(node[1], node)
    start = 2 if node[0] == "fn" else 1
    return (*node[:start], *(substitute(c, values) if isinstance(c, tuple) else c for c in node[start:]))


def _given(node: Node, known: dict[str, Node], mode: str) -> tuple[str, frozenset[str]]:
    """The assignments a block computing with the text's values starts with (``x = 5``), exact in ``mode``."""
    lines, imports = [], set()
    for name in sorted(variables(node)):
        value = to_python(known[name], mode)
        text = value.code
        if mode == "sympy" and known[name][0] == "num" and is_int_literal(known[name]):
            imports.add("from sympy import Integer")
            text = f"Integer({text})"  # so that x / 3 stays exact
        lines.append(f"{name} = {text}")
        imports |= value.imports
    return "\n".join(lines), frozenset(imports)


def print_statement(
    py: PyExpr, value: Any, claimed: Any, places: int | None, tol: float, claim: str
) -> tuple[str, frozenset[str]]:
    """``print(...)`` of an exact computation, rounded only at the end and only to the precision the text writes."""
    exact = value == claimed if isinstance(value, Fraction) else values_agree(value, claimed, 0.0)
    written_exactly = "." not in claim and _SCI_CLAIM.search(claim) is None
    if tol == 0 or (exact and written_exactly):  # "\\sqrt[3]{64} = 4": exactly 4, whatever the data
        if "from sympy import I" in py.imports:  # sympy leaves I*(7 + 2*I) unexpanded: print a + b*I
            return f"print(simplify({py.code}))", py.imports | {"from sympy import simplify"}
        return f"print({py.code})", py.imports
    if exact and py.mode in ("int", "fraction") and _SCI_CLAIM.search(claim) is None:
        return f"print(float({py.code}))", py.imports  # a terminating decimal: float() prints it exactly
    sci = _SCI_CLAIM.search(claim)
    if sci:
        digits = len(sci.group(1).split(".", 1)[1]) if "." in sci.group(1) else 0
        return f'print(format(float({py.code}), ".{digits}e"))', py.imports
    return f"print(round(float({py.code}), {max(places or 0, 0)}))", py.imports


def find_calculations(text: str) -> list[Calculation]:
    """Every convertible calculation in ``text``, in order, each found once (the first time it is done)."""
    flat = flatten_displays(text)
    lines = flat.split("\n")
    starts = line_starts(flat)
    given = assignment_positions(text)
    found: list[Calculation] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if "=" not in line and "≈" not in line and "approx" not in line and "sim" not in line:
            continue  # "sim": \simeq and \sim, the relations estimates are written with
        for off, clause in clause_spans(line):
            at = starts[i] + off
            known = {name: node for pos, name, node in given if pos < at}
            calcs = (
                arithmetic_in_clause(clause, i, at, known)
                or equation_in_clause(clause, i, lines, starts[i] + off, starts)
                or identity_in_clause(clause, i, starts[i] + off)
            )
            for calc in calcs:
                if calc.key not in seen:
                    seen.add(calc.key)
                    found.append(calc)
    return found
