"""Reading relation chains out of reasoning text: clauses, their ``a = b = c`` sides, and where each side is.

Lines are normalized without moving a character (``\\boxed``, ``&``, units such as ``\\mathrm{~cm}`` become spaces),
so every offset found here is an offset into the original text, which is what lets the rewriter cut a code block
in right after an expression. Multi-line displays are read as one line (`flatten_displays`): a chain written down an
``align*`` is one chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from retool_data.heuristic.latex_math import MathParseError, Node, parse_math, unreadable_spans, variables
from retool_data.heuristic.mathspans import math_spans

_SEPARATORS = re.compile(
    r"\\\\|;|,\s|:\s|\?|\\text\{[^}]*\}|\\mathrm\{[^}]*\}|\\\(|\\\)|\\\[|\\\]|\$|[<>≤≥≠]"
    r"|\\q?quad(?![A-Za-z])|\\(?:implies|Rightarrow|Longrightarrow|rightarrow|to|therefore|because|neq|ne|leq|le"
    r"|geq|ge|equiv|pmod|bmod|mod|lt|gt|cong|in|iff)(?![A-Za-z])|(?<![A-Za-z])(?:so|then|and|thus)\s"
)
RELATION_RE = re.compile(r"(?<![<>!=])=(?!=)|\\(?:approx|simeq|sim|doteq)(?![A-Za-z])|≈")


@lru_cache(maxsize=1 << 14)  # the same piece is tried by every reader (numeric, one-variable, algebraic)
def parse_or_none(text: str) -> Node | None:
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


def longest_suffix_at(text: str, ok: Any) -> tuple[Node, int] | None:
    """The longest math expression ending ``text`` that satisfies ``ok``, and where it starts."""
    bad = unreadable_spans(text)
    after_bad = bad[-1][1] if bad else 0  # a suffix reaching back over a word cannot parse: start past it
    for i in _boundaries(text):
        if i < after_bad:
            continue
        if i and _continues_left(text[:i]):
            continue
        node = parse_or_none(text[i:])
        if node is not None and ok(node):
            return node, i + len(text[i:]) - len(text[i:].lstrip())
    return None


def longest_prefix_at(text: str, ok: Any) -> tuple[Node, int] | None:
    """The longest math expression starting ``text`` that satisfies ``ok``, and where it ends."""
    bad = unreadable_spans(text)
    before_bad = bad[0][0] if bad else len(text)  # a prefix reaching over a word cannot parse: end before it
    for j in reversed(_boundaries(text)):
        if j > before_bad:
            continue
        if j < len(text) and _continues_right(text[j:]):
            continue
        node = parse_or_none(text[:j])
        if node is not None and ok(node):
            return node, len(text[:j].rstrip())
    return None


def longest_suffix(text: str, ok: Any) -> Node | None:
    found = longest_suffix_at(text, ok)
    return found[0] if found else None


def longest_prefix(text: str, ok: Any) -> tuple[Node, str] | None:
    found = longest_prefix_at(text, ok)
    return (found[0], text[: found[1]].strip()) if found else None


def numeric(node: Node) -> bool:
    return not variables(node)


@dataclass
class Side:
    node: Node
    text: str
    start: int  # offsets inside the clause
    end: int
    relation: str = "="  # the relation written before this side ("=" or an approximation)


def chain_sides(clause: str, ok: Any = None) -> list[list[Side]]:
    """The numeric chains of a clause (``a = b = c``), each side with its span; a side that is not purely numeric
    ends one chain and may start the next."""
    ok = ok or numeric
    bounds = [(m.start(), m.end(), m.group(0)) for m in RELATION_RE.finditer(clause)]
    if not bounds:
        return []
    parts = []
    prev, rel = 0, "="
    for start, end, sym in bounds:
        parts.append((prev, start, rel))
        prev, rel = end, sym
    parts.append((prev, len(clause), rel))
    chains: list[list[Side]] = []
    chain: list[Side] = []
    for idx, (lo, hi, rel) in enumerate(parts):
        part = clause[lo:hi]
        if idx == 0:
            found = longest_suffix_at(part, ok)
            chain = (
                [
                    Side(
                        found[0],
                        part[found[1] :].strip(),
                        lo + found[1],
                        hi - (len(part) - len(part.rstrip())),
                    )
                ]
                if found
                else []
            )
            continue
        whole = parse_or_none(part)
        if idx < len(parts) - 1 and whole is not None and ok(whole):
            s = lo + len(part) - len(part.lstrip())
            chain.append(Side(whole, part.strip(), s, s + len(part.strip()), rel))
            continue
        prefix = longest_prefix_at(part, ok)
        if prefix is not None:
            s = lo + len(part) - len(part.lstrip())
            chain.append(Side(prefix[0], part[: prefix[1]].strip(), s, lo + prefix[1], rel))
        chains.append(chain)
        found = longest_suffix_at(part, ok) if idx < len(parts) - 1 else None
        chain = (
            [Side(found[0], part[found[1] :].strip(), lo + found[1], hi - (len(part) - len(part.rstrip())))]
            if found
            else []
        )
    return [c for c in chains if len(c) >= 2]


# Each pattern is replaced by spaces of the same length: offsets into a normalized line are offsets into the text.
_NORMALIZE = re.compile(r"\\boxed\s*|&|\\left\.|\\right\.|\\displaystyle|\\,|\\!|\\\$")
# A unit after a number (``6.5 \\mathrm{~m}``, ``10\\text{ cm}^2``, ``{~J}``): not part of the arithmetic.
_ONE_UNIT = (
    r"(?:\\(?:mathrm|text|textrm|operatorname|mbox)\s*\{[^{}\\]{1,16}\}|\{~[A-Za-z]{1,5}\})(?:\^\{?-?\d\}?)?"
)
_UNIT = re.compile(_ONE_UNIT + r"(?:\s*(?:/|\\cdot)?\s*" + _ONE_UNIT + ")*")  # \mathrm{r} / \mathrm{s}
_UNIT_WORDS = re.compile(r"\{~?([^{}]*)\}")
_NOT_UNITS = frozenset(
    {"and", "or", "so", "if", "then", "thus", "hence", "since", "when", "where", "with", "of", "for", "is", "are",
     "as", "to", "the", "a", "an", "but", "because", "which"}
)  # fmt: skip


def _blank_unit(m: re.Match[str]) -> str:
    for content in _UNIT_WORDS.findall(m.group(0)):
        words = content.replace("~", " ").strip()
        if (
            not words
            or words.lower() in _NOT_UNITS
            or not re.fullmatch(r"[A-Za-z]{1,6}(?:[\s/.^\-\d]+[A-Za-z]{0,6})*", words)
        ):
            return m.group(0)
    return " " * len(m.group(0))


def normalize_line(line: str) -> str:
    line = _NORMALIZE.sub(lambda m: " " * len(m.group(0)), line)
    return _UNIT.sub(_blank_unit, line) if ("{" in line) else line


def clause_spans(line: str) -> list[tuple[int, str]]:
    """``(offset, clause)`` for the pieces of a line between separators that hold a relation."""
    norm = normalize_line(line)
    out, prev = [], 0
    for m in [*_SEPARATORS.finditer(norm), None]:
        lo, hi = (m.start(), m.end()) if m else (len(norm), len(norm))
        if lo > prev or m is None:
            piece = norm[prev:lo]
            if piece and RELATION_RE.search(piece):
                out.append((prev, piece))
        prev = max(prev, hi)
    return out


def clauses(line: str) -> list[str]:
    return [c for _, c in clause_spans(line)]


def line_starts(text: str) -> list[int]:
    starts = [0]
    starts += [m.end() for m in re.finditer("\n", text)]
    return starts


def flatten_displays(text: str) -> str:
    """``text`` with each multi-line display on one line (its newlines and ``\\\\`` row breaks turned into spaces,
    offsets unchanged), so a chain written down an ``align*`` (``L &= a \\\\ &= b``) reads as one chain."""
    chars = list(text)
    for span in math_spans(text):
        if "\n" not in text[span.inner : span.end] or span.opener[7:-1].rstrip("*") in ("cases", "array"):
            continue
        for i in range(span.start, min(span.end + len(span.closer), len(text))):
            if chars[i] == "\n":
                chars[i] = " "
        inner = text[span.inner : span.end]
        for m in re.finditer(r"\\\\(?:\[[^\]]*\])?", inner):
            # a row continuing the chain (``&= ...``) joins the one before; any other row is a new clause
            joins = _CONTINUED_ROW.match(inner, m.end()) is not None
            for i in range(span.inner + m.start(), span.inner + m.end()):
                chars[i] = " "
            if not joins:
                chars[span.inner + m.start()] = ";"
    return "".join(chars)


_CONTINUED_ROW = re.compile(r"\s*&?\s*(?:=|\\approx|\\simeq|\\le|\\ge|<|>)")
