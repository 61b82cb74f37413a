"""What every final check is built from: the `FinalCheck` record and the small helpers the check kinds share
(`final_check` writes checks read off the reasoning, `problem_checks` and its kinds those read off the problem)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FinalCheck:
    kind: str  # substitute | evaluate | point
    lead_in: str
    code: str
    expected: Any  # residuals (substitute: zeros) or the value (evaluate), as sympy values
    conclusion: str


ASKS_VALUE = re.compile(r"\b(?:compute|evaluate|calculate|find|what is|sum|value)\b", re.I)


def vanishes(expr: Any) -> bool:
    """Zero at three sample points (exact rationals in, a tolerance out): the in-process test before a block is
    written; the block's own ``simplify`` in the sandbox is the proof, and a block that does not print 0 is dropped."""
    import sympy

    names = sorted(getattr(expr, "free_symbols", set()), key=str)
    try:
        for k in range(3):
            at = {s: sympy.Rational(7 + 3 * i + 5 * k, 11 + 2 * k) for i, s in enumerate(names)}
            if abs(complex(sympy.N(expr.subs(at), 30))) > 1e-12:
                return False
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        return False
    return True


def make_check(kind: str, lead_in: str, lines: list[str], expected: list[Any], conclusion: str) -> FinalCheck:
    return FinalCheck(kind, lead_in, "\n".join(lines), expected, conclusion)


def plain(problem: str) -> str:
    """The problem with math delimiters and thousands separators removed, for the phrase patterns."""
    text = re.sub(r"\\[()\[\]]|\$", " ", problem)
    text = re.sub(r"(?<=\d)(?:\{,\}|,\\!|,)(?=\d{3}(?!\d))", "", text)
    return re.sub(r"\s+", " ", text)


def answer_int(answer: str) -> int | None:
    text = re.sub(r"(?<=\d)(?:\{,\}|,\\!\s*|,)(?=\d{3})", "", answer.strip().strip("$").strip())
    return int(text) if re.fullmatch(r"-?\d+", text) else None
