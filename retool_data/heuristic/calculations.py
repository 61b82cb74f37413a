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
from retool_data.heuristic.chains import Side, chain_sides, clause_spans, flatten_displays, line_starts
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
from retool_data.heuristic.codegen import PyExpr, to_python
from retool_data.heuristic.equations import equation_in_clause
from retool_data.heuristic.latex_math import MathParseError, operator_count
from retool_data.heuristic.latex_values import to_number, to_sympy

__all__ = ["Calculation", "arithmetic_in_clause", "find_calculations", "print_statement", "values_agree"]


def arithmetic_in_clause(clause: str, line: int, offset: int = 0) -> list[Calculation]:
    """Equality chains in one clause: the first side with an operator is computed, the last side is the claim.
    ``offset`` is where the clause starts in the whole text (the spans are text offsets)."""
    return [c for chain in chain_sides(clause) for c in _chain_calculation(chain, clause, line, offset)]


def _chain_calculation(chain: list[Side], clause: str, line: int, offset: int) -> list[Calculation]:
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
    computed, claim = chain[at], claims[-1]
    approx = any(s.relation != "=" for s in chain[at + 1 : chain.index(claim) + 1])
    places = claim_places(claim.text, rounded=_measured(computed.node))
    tol = tolerance(places, approx)
    try:
        quick, quick_claim = to_number(computed.node), to_number(claim.node)
        if isinstance(quick, Fraction) and isinstance(
            quick_claim, Fraction
        ):  # exact already: no sympy needed
            if abs(quick - quick_claim) > Fraction(tol):
                return []
            value, claimed = quick, quick_claim
        else:
            if abs(complex(quick) - complex(quick_claim)) > tol + 1e-6 * max(1.0, abs(complex(quick_claim))):
                return []  # the text got it wrong (or we misread it): leave it as text
            value, claimed = to_sympy(computed.node), to_sympy(claim.node)
            if not values_agree(value, claimed, tol):
                return []
        py = to_python(computed.node)
    except (MathParseError, TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return []
    statement, imports = print_statement(py, value, claimed, places, tol, claim.text)
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
            key=f"a:{py.code}",
            start=offset + computed.start,
            cut=offset + computed.end,
            resume=offset + claim.start,
            claim=claim.text,
        )
    ]


def print_statement(
    py: PyExpr, value: Any, claimed: Any, places: int | None, tol: float, claim: str
) -> tuple[str, frozenset[str]]:
    """``print(...)`` of an exact computation, rounded only at the end and only to the precision the text writes."""
    if tol == 0:
        if "from sympy import I" in py.imports:  # sympy leaves I*(7 + 2*I) unexpanded: print a + b*I
            return f"print(simplify({py.code}))", py.imports | {"from sympy import simplify"}
        return f"print({py.code})", py.imports
    exact_decimal = places is not None and (
        value == claimed if isinstance(value, Fraction) else values_agree(value, claimed, 0.0)
    )
    if exact_decimal and py.mode in ("int", "fraction") and _SCI_CLAIM.search(claim) is None:
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
    found: list[Calculation] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if "=" not in line and "≈" not in line and "approx" not in line:
            continue
        for off, clause in clause_spans(line):
            calcs = (
                arithmetic_in_clause(clause, i, starts[i] + off)
                or equation_in_clause(clause, i, lines, starts[i] + off, starts)
                or identity_in_clause(clause, i, starts[i] + off)
            )
            for calc in calcs:
                if calc.key not in seen:
                    seen.add(calc.key)
                    found.append(calc)
    return found
