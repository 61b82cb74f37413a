"""Stated results and the precision they claim: what a calculation's printed value is compared against."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from retool_data.heuristic.latex_math import Node, kinds

_DECIMALS = re.compile(r"\d+\.(\d+)")
_SCI_CLAIM = re.compile(
    r"(\d+(?:\.\d+)?)(?:\s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*\{?\s*([-−]?\d+)|[eE]([-+]?\d+))"
)


@dataclass(frozen=True)
class Calculation:
    kind: str  # "arithmetic" | "equation"
    source: str  # the text it was found in (one clause)
    statement: str  # the python statement(s) printing the result, without imports
    imports: frozenset[str]
    expected: Any  # sympy value (arithmetic) or list of sympy solutions (equation)
    tolerance: float  # absolute tolerance for an approximate (decimal) claim; 0.0 for exact ones
    line: int  # index of the line the computation is on
    key: str = field(default="")  # what makes two calculations the same (to do each only once)
    start: int = 0  # text offset where what is computed starts (the expression, or the equation)
    cut: int = 0  # offset right after it: the text before the code block ends here
    resume: int = 0  # offset of the stated result: the text after the block resumes here, citing it
    claim: str = ""  # the stated result as written


def is_result_form(node: Node) -> bool:
    """A stated result: 84, -3, \\frac{19}{12}, 2\\sqrt{2}, \\sqrt{3}/2, 4\\pi, 12.57, 5.1 \\times 10^{-8}, 40_9."""
    op = node[0]
    if op in ("num", "pi", "base", "imag") or _power_of_ten(node):
        return True
    if op in ("add", "sub") and _imaginary_part(node[2]) and node[1][0] in ("num", "neg"):  # -2 + 7i
        return is_result_form(node[1])
    if _imaginary_part(node):
        return True
    if op == "mul" and node[1][0] == "num" and _power_of_ten(node[2]):
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


def _imaginary_part(node: Node) -> bool:
    """``7i``, ``i``, ``\\frac{3}{2}i``."""
    return node == ("imag",) or (node[0] == "mul" and node[2] == ("imag",) and node[1][0] in ("num", "div"))


def _power_of_ten(node: Node) -> bool:
    if node[0] != "pow" or node[1] != ("num", "10"):
        return False
    exp = node[2][1] if node[2][0] == "neg" else node[2]
    return exp[0] == "num" and exp[1].isdigit()


def _literals(node: Node) -> list[str]:
    if node[0] == "num":
        return [node[1]]
    return [v for c in node[1:] if isinstance(c, tuple) for v in _literals(c)]


def claim_places(claim: str, rounded: bool = False) -> int | None:
    """Decimal places a stated result is written to (``12.57``: 2; ``5.1 \\times 10^{-8}``: 9, ``4.5e33``: -32);
    None for an exact claim. ``rounded``: the claim rounds a computation on measured data, so ``-7`` and
    ``9 \\times 10^{14}`` are good to their last digit too."""
    sci = _SCI_CLAIM.search(claim)
    if sci:
        exp = int((sci.group(2) or sci.group(3)).replace("−", "-"))
        mantissa = sci.group(1)
        if "." in mantissa or rounded:
            return (len(mantissa.split(".", 1)[1]) if "." in mantissa else 0) - exp
        return None
    decimals = [len(m.group(1)) for m in _DECIMALS.finditer(claim)]
    if decimals:
        return max(decimals)
    return 0 if rounded else None


def tolerance(places: int | None, approx: bool) -> float:
    """Half a unit of the last written place (``7.6``: 0.05); 0.5 for ``\\approx 3``; 0 for an exact claim."""
    if places is not None:
        return 0.5 * 10.0**-places
    return 0.5 if approx else 0.0


def _measured(node: Node) -> bool:
    """Decimals in the inputs (measured data) or an irrational step: a stated result is rounded, whatever its form."""
    return bool(kinds(node) & {"fn", "pi", "root"}) or any("." in v or "e" in v for v in _literals(node))


def values_agree(got: Any, want: Any, tol: float) -> bool:
    """|got - want| <= tol (plus a hair for float noise); sympy values, Fractions or numbers."""
    import sympy

    if isinstance(got, Fraction) and isinstance(want, Fraction):
        return abs(got - want) <= Fraction(tol)
    got = sympy.Rational(got.numerator, got.denominator) if isinstance(got, Fraction) else got
    want = sympy.Rational(want.numerator, want.denominator) if isinstance(want, Fraction) else want
    try:
        diff = abs(complex(sympy.N(got - want, 40)))
        scale = max(1.0, abs(complex(sympy.N(want, 20))))
    except (TypeError, ValueError):
        return False
    return diff <= tol + 1e-12 * scale
