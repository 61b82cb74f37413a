"""The values a reasoning text settles its unknowns on (``x = 5``, ``x = y = \\sqrt{2}``, ``(m, n) = (16, 13)``).

Used to compute what the text computes with them (``so x^2 + 3x = 40``, `calculations`) and to check the point it
found against the problem (`final_check`).
"""

from __future__ import annotations

import re

from retool_data.heuristic.chains import longest_prefix, normalize_line, numeric, parse_or_none
from retool_data.heuristic.claims import is_result_form
from retool_data.heuristic.latex_math import Node

_RESERVED = frozenset("IESNOQ")  # sympy names: a variable called E or I would not mean what the text means


def top_level_split(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += ch in "({["
        depth -= ch in ")}]"
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (p.strip() for p in parts) if p]


_ASSIGN_RE = re.compile(r"(?<![\w\\{}^_])((?:[A-Za-z]\s*=\s*)+)(?=[^=<>]+)")
_TUPLE_RE = re.compile(r"\(\s*([A-Za-z](?:\s*,\s*[A-Za-z])+)\s*\)\s*=\s*\(([^()=]+)\)")


def assignment_positions(text: str) -> list[tuple[int, str, Node]]:
    """``(offset, name, value)`` for each value the text gives an unknown: ``x = y = \\sqrt{2}`` (two),
    ``(m,n) = (16,13)`` (two), in text order."""
    found: list[tuple[int, str, Node]] = []
    norm = normalize_line(text)
    for m in _ASSIGN_RE.finditer(norm):
        names = re.findall(r"[A-Za-z]", m.group(1))
        rest = norm[m.end() : m.end() + 80]
        stated = longest_prefix(rest, numeric)
        if stated is None or not is_result_form(stated[0]):
            continue
        end = m.end() + rest.index(stated[1]) + len(stated[1]) if stated[1] in rest else m.end()
        if not _continues(norm, end):
            found += [(m.start(), name, stated[0]) for name in names if name not in _RESERVED]
    for m in _TUPLE_RE.finditer(norm):
        names = re.findall(r"[A-Za-z]", m.group(1))
        parts = top_level_split(m.group(2))
        nodes = [parse_or_none(p) for p in parts]
        if len(parts) == len(names) and all(n is not None and numeric(n) for n in nodes):
            found += [(m.start(), k, v) for k, v in zip(names, nodes, strict=True) if k not in _RESERVED]
    return sorted(found, key=lambda f: f[0])


def assignments(text: str) -> dict[str, Node]:
    """The values the text settles its unknowns on (the last one for each name)."""
    return {name: node for _, name, node in assignment_positions(text)}


def _continues(text: str, end: int) -> bool:
    """``x = 2y`` or ``x = 3 + t``: the value goes on past what was read."""
    return bool(re.match(r"\s*(?:[A-Za-z(]|[-+*/^])", text[end : end + 3]))
