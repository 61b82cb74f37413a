"""Algebra the text does by hand: expansions, factorizations and simplifications, done by sympy instead.

A chain ``(x - 1)(x + 2) = x^2 + x - 2`` whose sides are equal as expressions (sympy says so, not the text)
becomes ``print(expand((x - 1)*(x + 2)))``; the operation is the one whose printed form is the text's result
(`expand`, `factor`, `cancel`, `simplify`), else the block checks the identity (``simplify(a - b) == 0``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from retool_data.heuristic.chains import Side, chain_sides
from retool_data.heuristic.claims import Calculation
from retool_data.heuristic.codegen import to_python
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_number, to_sympy

MAX_VARIABLES = 3
_RESERVED = frozenset("IESNOQ")  # sympy names: a variable called E or I would not mean what the text means


def algebraic(node: Node) -> bool:
    names = variables(node)
    return len(names) <= MAX_VARIABLES and not names & _RESERVED


def identity_in_clause(clause: str, line: int, offset: int = 0) -> list[Calculation]:
    """The first identity of a chain with variables: a side with operators, and the last side after it that
    sympy finds equal to it (and that is written differently)."""
    import sympy

    for chain in chain_sides(clause, algebraic):
        names = sorted(set().union(*(variables(s.node) for s in chain)))
        if not names:
            continue
        prints = [_fingerprint(s.node, names) for s in chain]
        for i, side in enumerate(chain[:-1]):
            if operator_count(side.node) < 1 or not variables(side.node) or prints[i] is None:
                continue
            same = i
            while same + 1 < len(chain) and _close(prints[i], prints[same + 1]):
                same += 1
            if same == i:
                continue
            syms = {n: sympy.Symbol(n) for n in names}
            try:
                value, result = to_sympy(side.node, syms), to_sympy(chain[same].node, syms)
            except (MathParseError, TypeError, ValueError, ZeroDivisionError, OverflowError):
                continue
            if value == result:
                continue  # the same expression written twice
            # equal at the sample points; a rational function is then equal, anything else is checked by the
            # block itself (simplify in the sandbox), never by sympy here
            if not _exact(prints[i]):
                return [
                    _identity_calc(side, chain[same], value, result, names, clause, line, offset, check=True)
                ]
            return [_identity_calc(side, chain[same], value, result, names, clause, line, offset)]
    return []


_SAMPLES = (
    Fraction(13, 7),
    Fraction(-5, 11),
    Fraction(29, 3),
)  # where two sides are compared before sympy is


def _fingerprint(node: Node, names: list[str]) -> list[Fraction | float] | None:
    """The side's values at a few rational points: different values, different expressions (no sympy needed)."""
    out = []
    for k, sample in enumerate(_SAMPLES):
        env = {n: sample + j * Fraction(1, 3) + k for j, n in enumerate(names)}
        try:
            value = to_number(node, env)
            complex(value)  # a value too large for a float is no use for comparing
            out.append(value)
        except (MathParseError, RecursionError, OverflowError, ValueError, TypeError):
            return None
    return out


def _exact(values: list[Fraction | float] | None) -> bool:
    """Rational values at rational points: a rational function; equal at these points means equal (no sympy)."""
    return values is not None and all(isinstance(v, Fraction) for v in values)


def _close(a: list[Fraction | float] | None, b: list[Fraction | float] | None) -> bool:
    if a is None or b is None:
        return False
    if _exact(a) and _exact(b):
        return a == b
    return all(
        abs(complex(x) - complex(y)) <= 1e-9 * max(1.0, abs(complex(y))) for x, y in zip(a, b, strict=True)
    )


def operation(value: Any, result: Any) -> str:
    """The sympy function whose output is the text's result as written (``simplify(a - b) == 0`` if none)."""
    import sympy

    for name in ("expand", "factor", "cancel"):
        try:
            if getattr(sympy, name)(value) == result:
                return name
        except (TypeError, ValueError, AttributeError, RecursionError):
            continue
    return "check"


def _identity_calc(
    side: Side,
    claim: Side,
    value: Any,
    result: Any,
    names: list[str],
    clause: str,
    line: int,
    offset: int,
    check: bool = False,
) -> Calculation:
    py = to_python(side.node, "sympy")
    op = "check" if check else operation(value, result)
    decl = f"{', '.join(names)} = symbols('{' '.join(names)}')"
    if op == "check":
        other = to_python(claim.node, "sympy")
        imports = {"from sympy import simplify, symbols"} | py.imports | other.imports
        body = f"print(simplify({py.code} - ({other.code})) == 0)"
    else:
        imports = {f"from sympy import {op}, symbols"} | py.imports
        body = f"print({op}({py.code}))"
    return Calculation(
        "identity",
        clause.strip(),
        f"{decl}\n{body}",
        frozenset(imports),
        result,
        0.0,
        line,
        key=f"i:{py.code}",
        start=offset + side.start,
        cut=offset + side.end,
        resume=offset + claim.start,
        claim=claim.text,
    )
