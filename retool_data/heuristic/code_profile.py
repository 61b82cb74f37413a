"""What a code block does, read from its syntax: its purpose, and whether it is a trivial one-operation print.

Shared by the trace-quality scorer (the ``trivial`` label and the purpose of useful blocks) and the heuristic
rewriter (which never writes a block the scorer would call trivial).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache

_SOLVE = {"solve", "nsolve", "linsolve", "nonlinsolve", "solveset", "roots", "real_roots", "nroots", "dsolve",
          "fsolve", "brentq", "bisect", "newton", "diophantine", "solve_univariate_inequality", "reduce_inequalities",
          "all_roots", "minimize", "minimize_scalar", "maximum", "minimum"}  # fmt: skip
_ENUMERATE = {
    "product",
    "permutations",
    "combinations",
    "combinations_with_replacement",
    "divisors",
    "primerange",
}
_CHECK = {"subs", "equals", "all", "any", "isprime", "is_square", "isclose", "Eq", "assert"}
_SIMPLIFY = {"simplify", "expand", "factor", "together", "apart", "cancel", "nsimplify", "trigsimp", "collect",
             "radsimp", "powsimp", "expand_trig", "logcombine", "ratsimp", "sqrtdenest", "expand_log", "combsimp"}  # fmt: skip
_TRIVIAL_CALLS = {"print", "Fraction", "Rational", "float", "round", "abs", "S", "Integer"}
_DIVISIONS = {"Fraction", "Rational"}  # Fraction(3, 4) is one operation (a division), like 3 / 4


def _glance(binops: list[ast.BinOp], constants: list[int | float], divisions: int) -> bool:
    """One operation a reader does at a glance: a sum or difference under 1000 (``12 + 14``, ``20 - 18``), a
    times-table product or quotient (``12 * 7``, ``84 / 12``), a small power (``2**5``), or no operation at all."""
    values = sorted(abs(c) for c in constants)
    if not binops and not divisions:
        return all(v < 1000 for v in values)
    if len(values) != 2:
        return False
    lo, hi = values
    if divisions or isinstance(binops[0].op, (ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)):
        return (lo <= 10 and hi < 100) or hi <= 12
    if isinstance(binops[0].op, (ast.Add, ast.Sub)):
        return hi < 1000
    if isinstance(binops[0].op, ast.Pow):
        base, exp = (constants[0], constants[1])
        return abs(exp) <= 10 and abs(base) ** abs(exp) <= 1000
    return False


@dataclass(frozen=True)
class CodeProfile:
    purpose: str
    trivial: bool
    literals: frozenset[str]  # numeric literals of two or more digits (the operands a reader would see)


_CALL_RE = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*\(")
_LOOP_RE = re.compile(r"\b(?:for|while)\b")
_COMPARE_RE = re.compile(r"==|!=|<=|>=|\bassert\b|(?<![<\-=])<(?![<=])|(?<![>\-=])>(?![>=])")
_NUMBER_RE = re.compile(r"(?<![\w.])\d+\.\d+|(?<![\w.])\d+(?![\w.])")
SHORT_CODE = 200  # longer code is never "one operation"


@lru_cache(maxsize=4096)
def code_profile(code: str) -> CodeProfile:
    """What a block's code does (`PURPOSES`), and whether it is one operation on small literals."""
    names = set(_CALL_RE.findall(code))
    if names & _SOLVE:
        purpose = "solve"
    elif _LOOP_RE.search(code) or names & _ENUMERATE:
        purpose = "enumerate"
    elif _COMPARE_RE.search(code) or names & _CHECK:
        purpose = "check"
    elif names & _SIMPLIFY:
        purpose = "simplify"
    else:
        purpose = "compute"
    if len(code) > SHORT_CODE or purpose != "compute" or not names <= _TRIVIAL_CALLS:
        # cannot be trivial: only the operands are needed, and a regex reads them (no ast walk)
        numbers = [float(n) if "." in n else int(n) for n in _NUMBER_RE.findall(code)]
        literals = frozenset(repr(c) for c in numbers if abs(c) >= 10 or isinstance(c, float))
        return CodeProfile(purpose, False, literals)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return CodeProfile("compute", False, frozenset())
    binops: list[ast.BinOp] = []
    divisions = 0
    constants: list[int | float] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            binops.append(node)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            divisions += name in _DIVISIONS and len(node.args) == 2
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            constants.append(node.value)
    trivial = (
        purpose == "compute"
        and len(binops) + divisions <= 1
        and names <= _TRIVIAL_CALLS
        and all(isinstance(c, int) or len(repr(c)) <= 4 for c in constants)
        and _glance(binops, constants, divisions)
    )
    literals = frozenset(repr(c) for c in constants if abs(c) >= 10 or isinstance(c, float))
    return CodeProfile(purpose, trivial, literals)
