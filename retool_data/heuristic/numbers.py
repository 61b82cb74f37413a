"""Numbers as a text states them and as the interpreter prints them, compared at the text's precision.

A stated number carries the precision its spelling claims: ``3``, ``\\frac{19}{12}`` and ``8.\\overline{4}`` are
exact; ``7.6`` is good to half a unit of its last place (``±0.05``); ``\\approx 3`` to ``±0.5``. A printed number is
exactly the decimal (or ``p/q``) it spells, so ``2.9999999999999996`` is not ``3`` and ``8.4444`` is not
``8.\\overline{4}``. `agrees` is the comparison both the heuristic rewriter (keep a block?) and the trace-quality
scorer (is a block contradicted by the text after it?) use; `near` says whether a stated number plausibly cites a
printed one at all (close, but maybe not equal at the stated precision).
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from fractions import Fraction

_APPROX_RE = re.compile(
    r"(?:\\approx|≈|\\sim|~|\babout|\bapproximately|\broughly|\baround|\bnearly|\balmost)\s*\$?\s*\\?\(?\s*$"
)
_TEXT_NUMBER_RE = re.compile(
    r"(?P<sign>(?:(?<![^=(\[{$,:])|(?<=[=(\[{$,:]\s))[-−])?"
    r"(?:\\[dt]?frac\{(?P<fn>\d+)\}\{(?P<fd>\d+)\}"
    r"|(?P<rep>\d*\.\d*)\\overline\{(?P<rd>\d+)\}"
    r"|(?P<mant>\d+(?:\.\d+)?)\s*(?:\\times|\\cdot|×)\s*10\^\{?(?P<exp>[-−]?\d+)\}?"
    r"|(?P<sci>\d+(?:\.\d+)?[eE][-+]?\d+)"
    r"|(?P<dec>\d{1,3}(?:(?:\{,\}|,)\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?)(?:/(?P<den>\d+)(?![\d.]))?)"
    r"(?![\w{])"
)
_SCRIPT_RE = re.compile(r"[\^_]\{?\Z")
_PRINTED_RE = re.compile(r"(?<![\w.*/^])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:/\d+)?(?![\w.(*^])")
_MAX_DIGITS = (
    40  # longer digit strings are identifiers or big integers nobody re-derives; skip the Fraction cost
)


@dataclass(frozen=True)
class Stated:
    """A number in the text: its value, the tolerance its spelling claims, and where it is."""

    value: Fraction
    tolerance: Fraction  # 0: exact; half a unit of the last written place for decimals and approximations
    unit: Fraction  # one unit of the last written place: how far a printed value may be and still be "cited"
    start: int
    end: int

    @property
    def exact(self) -> bool:
        return self.tolerance == 0


def _decimal_places(spelling: str) -> int:
    return len(spelling.split(".", 1)[1]) if "." in spelling else 0


def repeating_decimal(head: str, repeat: str) -> Fraction:
    """``8.\\overline{4}`` -> 76/9: ``head`` is the written part (``8.``, ``0.1``), ``repeat`` the repeating digits."""
    whole, _, frac = head.partition(".")
    base = Fraction(int(whole or 0)) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    return base + Fraction(int(repeat), (10 ** len(repeat) - 1) * 10 ** len(frac))


def stated_numbers(text: str) -> list[Stated]:
    """Every number the text states, in order: integers, decimals, ``1{,}024``, fractions, repeating decimals,
    ``2.45 \\times 10^{6}``; a number right after ``\\approx``/"about" is approximate at its last place."""
    found: list[Stated] = []
    for m in _TEXT_NUMBER_RE.finditer(text):
        if len(m.group(0)) > _MAX_DIGITS or _SCRIPT_RE.search(text, max(0, m.start() - 2), m.start()):
            continue  # an exponent or index (x^{2}, a_1) is not a stated value
        g = m.groupdict()
        if g["fn"] is not None:
            if int(g["fd"]) == 0:
                continue
            value, places, exact = Fraction(int(g["fn"]), int(g["fd"])), None, True
        elif g["rep"] is not None:
            value, places, exact = repeating_decimal(g["rep"], g["rd"]), None, True
        elif g["mant"] is not None:
            exp = int(g["exp"].replace("−", "-"))
            if abs(exp) > 400:
                continue
            value = Fraction(g["mant"]) * Fraction(10) ** exp
            places, exact = _decimal_places(g["mant"]) - exp, "." not in g["mant"]
        elif g["sci"] is not None:
            mant, _, exp_s = g["sci"].lower().partition("e")
            if abs(int(exp_s)) > 400:
                continue
            value = Fraction(mant) * Fraction(10) ** int(exp_s)
            places, exact = _decimal_places(mant) - int(exp_s), False
        else:
            digits = g["dec"].replace("{,}", "").replace(",", "")
            if g["den"] is not None:
                if int(g["den"]) == 0 or "." in digits:
                    continue
                value, places, exact = Fraction(int(digits), int(g["den"])), None, True
            else:
                value, places, exact = Fraction(digits), _decimal_places(digits), "." not in digits
        if g["sign"]:
            value = -value
        approx = bool(_APPROX_RE.search(text, max(0, m.start() - 24), m.start()))
        found.append(_stated(value, places, exact and not approx, m.start(), m.end()))
    return found


def _stated(value: Fraction, places: int | None, exact: bool, start: int, end: int) -> Stated:
    if places is None:  # a fraction or repeating decimal: exact; "cited" within 1% (0.3333 for 1/3)
        unit = abs(value) / 100 or Fraction(1, 100)
    else:
        unit = Fraction(1, 10**places) if places >= 0 else Fraction(10) ** (-places)
    return Stated(value, Fraction(0) if exact else unit / 2, unit, start, end)


@dataclass(frozen=True)
class Printed:
    """A number in an interpreter output: exact as spelled (a Fraction), or a float for ``sqrt(2)/2``."""

    value: Fraction | float
    decimal: bool  # spelled with a decimal point (``2.9999999999999996``), or evaluated to a float


def printed_numbers(output: str) -> list[Printed]:
    """The numbers an interpreter output shows: plain ones exactly as spelled (``0.30000000000000004``,
    ``19/12``), and numeric sympy forms (``sqrt(2)/2``, ``3*pi``) as floats."""
    values: list[Printed] = []
    for line in output.splitlines()[:50]:
        for item in _items(line):
            value = _numeric_expression(item)
            if value is not None:
                values.append(Printed(value, isinstance(value, float) or "." in item))
                continue
            for m in _PRINTED_RE.finditer(item):
                if len(m.group(0)) <= _MAX_DIGITS:
                    try:
                        values.append(
                            Printed(Fraction(m.group(0)), "." in m.group(0) or "e" in m.group(0).lower())
                        )
                    except (ValueError, ZeroDivisionError):
                        continue
    return values


def _items(line: str) -> list[str]:
    line = line.strip().strip("[](){}")
    return [p.strip() for p in re.split(r",\s+|;\s*", line) if p.strip()] if line else []


_SAFE_NAMES = {"pi": math.pi, "E": math.e, "sqrt": math.sqrt, "exp": math.exp, "log": math.log}


def _numeric_expression(item: str) -> Fraction | float | None:
    """``sqrt(2)/2`` -> 0.7071..., ``19/12`` -> Fraction(19, 12); None unless it is a closed numeric form."""
    if (
        len(item) > 80
        or not re.fullmatch(r"[-+*/^().\s\deEpiqrstxlog]+", item)
        or not re.search(r"\d|pi", item)
    ):
        return None
    if re.fullmatch(r"-?\d+(?:\.\d+)?(?:/\d+)?", item):
        try:
            return Fraction(item)
        except (ValueError, ZeroDivisionError):
            return None
    if not re.search(r"sqrt|pi|exp|log|E|\*\*", item):
        return None
    try:
        tree = ast.parse(item.replace("^", "**"), mode="eval")
        return float(_eval(tree.body))
    except (SyntaxError, ValueError, TypeError, ZeroDivisionError, OverflowError, KeyError):
        return None


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(_SAFE_NAMES[node.id])  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left), _eval(node.right)
        ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
        if type(node.op) in ops:
            return ops[type(node.op)]
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.Pow) and abs(b) <= 64:
            return a**b
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
        return float(_SAFE_NAMES[node.func.id](_eval(node.args[0])))  # type: ignore[operator]
    raise ValueError("not a numeric form")


def agrees(printed: Printed, stated: Stated) -> bool:
    """Is the printed value the stated one at the text's precision? (Exact claims need the exact value.)"""
    printed = printed.value
    if isinstance(printed, float):  # an irrational sympy form: as exact as a float gets
        slack = 1e-9 * max(1.0, abs(float(stated.value)))
        return abs(printed - float(stated.value)) <= float(stated.tolerance) + slack
    return abs(printed - stated.value) <= stated.tolerance


def near(printed: Printed, stated: Stated) -> bool:
    """Close enough that the text plausibly cites this printed value: within one unit of the stated number's last
    place; for an exact claim (``3``, ``\\frac{19}{12}``), a decimal print within 1% (``2.9999999999999996``,
    ``8.4444``): an exact print like ``2/3`` is never read as ``1``."""
    value = printed.value
    diff = abs(float(value) - float(stated.value)) if isinstance(value, float) else abs(value - stated.value)
    if stated.exact:
        return printed.decimal and diff <= abs(float(stated.value)) / 100
    return diff < stated.unit
