"""How well a trace uses its tool: does the code do the work, or decorate text that does it anyway?

`score_trace(text)` labels every code block (each with every flag that applies) and scores the trace:

- ``contradicted``: a number the text states right after the block is close to one the block printed but not equal
  at the precision the text writes it (``8.\\overline{4}`` after ``8.4444``, ``3`` after ``2.9999999999999996``,
  ``7.6`` after ``7.54``) — `heuristic.numbers.agrees`;
- ``premature``: placed before its motivation: almost no text since the previous block (or the trace opens with
  it), or its operands are nowhere before it but in the line after it;
- ``rederived``: the text after it (up to three lines, before the next block) computes one of its printed results
  again by hand (``12 + 14 = 26`` after ``print(12 + 14)``), or does the algebra that lands on a printed solution;
- ``trivial``: one operation on small literals (``print(12 + 14)``, ``print(20 - 18)``), nothing else;
- ``useful_<purpose>`` when none of the above: the block ``solve``s, ``enumerate``s (loops, comprehensions,
  itertools), ``check``s (comparisons, asserts, substitution), ``simplify``s (simplify/expand/factor...), or
  ``compute``s something the text does not redo.

The trace's ``useful_block_share`` is useful blocks / blocks; its ``tool_use_score`` is that share, or 0 when a
block is contradicted (reading an output wrongly is worse than not calling the tool). Pure text and regex work plus
`ast` and the arithmetic parser (no sympy, no sandbox), so the filter chain can score every row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import polars as pl

from retool_data.heuristic.chains import RELATION_RE, clauses, longest_prefix, longest_suffix, parse_or_none
from retool_data.heuristic.claims import is_result_form
from retool_data.heuristic.code_profile import code_profile
from retool_data.heuristic.latex_math import MathParseError, Node, operator_count, variables
from retool_data.heuristic.latex_values import to_number
from retool_data.heuristic.numbers import Printed, agrees, near, printed_numbers, stated_numbers
from retool_data.trace import parse_trace

NEGATIVE_LABELS = ("contradicted", "premature", "rederived", "trivial")  # in precedence order
QUALITY_COLUMNS: dict[str, pl.DataType] = {
    "tool_use_score": pl.Float64(),  # useful blocks / blocks, 0 when a block is contradicted by the text
    "useful_block_share": pl.Float64(),  # useful blocks / blocks
    "block_labels": pl.List(pl.String()),  # one per block: useful_<purpose>, or its flags joined by "+"
}
PURPOSES = ("solve", "enumerate", "check", "simplify", "compute")
WINDOW_LINES = 3  # "re-derived in the very next line(s)": how much text after a block is read
WINDOW_CHARS = 600
MIN_MOTIVATION_TOKENS = 3

_WORD_RE = re.compile(r"\\[A-Za-z]+|[A-Za-z]{2,}|\d+(?:\.\d+)?")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


@dataclass(frozen=True)
class BlockScore:
    index: int  # the block's position among the trace's code blocks
    flags: tuple[str, ...]  # every negative label that applies (NEGATIVE_LABELS order); empty when useful
    purpose: str  # solve | enumerate | check | simplify | compute (what the code does, useful or not)

    @property
    def useful(self) -> bool:
        return not self.flags

    @property
    def label(self) -> str:
        """``useful_<purpose>``, or the negative flags joined by ``+`` (``rederived+trivial``)."""
        return "+".join(self.flags) if self.flags else f"useful_{self.purpose}"


@dataclass(frozen=True)
class TraceScore:
    blocks: tuple[BlockScore, ...]
    opens_with_code: bool
    boxed_answers: int  # \boxed{} in the text and answer (one is right)

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    def count(self, flag: str) -> int:
        return sum(flag in b.flags for b in self.blocks)

    @property
    def useful(self) -> int:
        return sum(b.useful for b in self.blocks)

    @property
    def useful_share(self) -> float:
        return self.useful / len(self.blocks) if self.blocks else 0.0

    @property
    def tool_use_score(self) -> float:
        return 0.0 if self.count("contradicted") else self.useful_share

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.blocks]


# ------------------------------------------------------------------------------------------------- text


def _window(text: str) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()][:WINDOW_LINES]
    return "\n".join(lines)[:WINDOW_CHARS]


def _numeric(node: Node) -> bool:
    return not variables(node)


def _one_var(node: Node) -> bool:
    return len(variables(node)) <= 1


def relations(clause: str, ok: Any) -> list[tuple[Node | None, Node | None]]:
    """``(left, right)`` per relation of a chain ``a = b = c`` (sides that do not parse under ``ok`` are None)."""
    parts = RELATION_RE.split(clause)
    if len(parts) < 2:
        return []
    lefts: list[Node | None] = []  # the expression ending each part (a relation's left side)
    rights: list[Node | None] = []  # the expression starting each part (the previous relation's right side)
    for i, part in enumerate(parts):
        whole = parse_or_none(part) if 0 < i < len(parts) - 1 else None
        if whole is not None and ok(whole):
            lefts.append(whole)
            rights.append(whole)
            continue
        lefts.append(longest_suffix(part, ok) if i < len(parts) - 1 else None)
        found = longest_prefix(part, ok) if i > 0 else None
        rights.append(found[0] if found else None)
    return list(zip(lefts[:-1], rights[1:], strict=True))


def _factorization(node: Node) -> bool:
    """``2^2 \\cdot 5 \\cdot 11``: a product of prime powers states a result's form, it does not compute it."""
    if node[0] == "mul":
        return _factorization(node[1]) and _factorization(node[2])
    if node[0] == "pow":
        return _factorization(node[1]) and node[2][0] == "num"
    return node[0] == "num" and node[1].isdigit() and len(node[1]) < 7 and _is_prime(int(node[1]))


def _is_prime(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


def _same(a: Fraction | float, b: Fraction | float) -> bool:
    try:
        return abs(complex(a) - complex(b)) <= 1e-9 * max(1.0, abs(complex(b)))
    except (OverflowError, TypeError, ValueError):
        return False


def rederives(window: str, printed: list[Printed], before: str = "") -> bool:
    """Does this text compute a printed value again by hand, or do the algebra that lands on it? (A relation
    already written before the block, such as the equation it solves, restated after it, is not hand work.)"""
    if not printed:
        return False
    stated_before = _squeezed(before[-2000:])
    for line in window.split("\n"):
        if "=" not in line and "approx" not in line and "≈" not in line and "sim" not in line:
            continue
        for clause in clauses(line):
            if len(_squeezed(clause)) > 3 and _squeezed(clause) in stated_before:
                continue
            for side in {s for pair in relations(clause, _numeric) for s in pair if s is not None}:
                if operator_count(side) < 1 or is_result_form(side) or _factorization(side):
                    continue
                try:
                    value = to_number(side)
                except (MathParseError, RecursionError, OverflowError, TypeError, ValueError):
                    continue
                if any(_same(value, p.value) for p in printed):
                    return True
            if _algebra_lands_on(clause, printed):
                return True
    return False


def _squeezed(text: str) -> str:
    return re.sub(r"[\s$]+", "", text)


def _algebra_lands_on(clause: str, printed: list[Printed]) -> bool:
    """``3x = 15`` when x = 5 was printed: a one-variable relation (not ``x = 5`` itself) that a printed value solves."""
    for lhs, rhs in relations(clause, _one_var):
        if lhs is None or rhs is None:
            continue
        names = variables(lhs) | variables(rhs)
        if len(names) != 1 or lhs[0] == "var" or rhs[0] == "var" or lhs[0] == "num" and rhs[0] == "num":
            continue
        var = names.pop()
        for p in (p.value for p in printed):
            if not isinstance(p, Fraction):
                continue
            try:
                if to_number(lhs, {var: p}) == to_number(rhs, {var: p}):
                    return True
            except (MathParseError, RecursionError, OverflowError, TypeError, ValueError):
                continue
    return False


def contradicted(window: str, printed: list[Printed]) -> bool:
    """A stated number that cites a printed value (`numbers.near`) but disagrees with it at its own precision,
    while nothing in the text agrees with that printed value."""
    stated = stated_numbers(window)
    for p in printed:
        cited = [s for s in stated if near(p, s)]
        if cited and not any(agrees(p, s) for s in stated):
            return True
    return False


def _motivation_tokens(text: str) -> int:
    return len(_WORD_RE.findall(text))


def premature(before: str, after_line: str, literals: Iterable[str]) -> bool:
    """Placed before its motivation: almost no text since the previous block, or the operands show up only
    after it (the sentence that says what is computed comes after the code)."""
    if _motivation_tokens(before) < MIN_MOTIVATION_TOKENS:
        return True
    lits = [lit for lit in literals if len(lit) >= 2]
    if not lits:
        return False
    recent = before[-300:]
    return not any(_mentions(recent, lit) for lit in lits) and any(_mentions(after_line, lit) for lit in lits)


def _mentions(text: str, number: str) -> bool:
    """``number`` appears in ``text`` as a whole number (not inside 1234 or 12.5)."""
    at = text.find(number)
    while at >= 0:
        before = text[at - 1] if at else " "
        after = text[at + len(number)] if at + len(number) < len(text) else " "
        if not (before.isdigit() or before == ".") and not after.isdigit():
            return True
        at = text.find(number, at + 1)
    return False


# ------------------------------------------------------------------------------------------------ trace


def score_trace(trace: str | None) -> TraceScore:
    """Label every code block of a trace and score it (see the module docstring)."""
    if not trace:
        return TraceScore((), False, 0)
    parsed = parse_trace(trace)
    segments = parsed.segments
    calls = parsed.tool_calls
    texts = lambda lo, hi: "".join(s.content for s in segments[lo:hi] if s.kind == "text")  # noqa: E731
    blocks: list[BlockScore] = []
    prev_end = 0
    for n, call in enumerate(calls):
        end = call.interpreter_segment if call.interpreter_segment is not None else call.code_segment
        next_code = calls[n + 1].code_segment if n + 1 < len(calls) else len(segments)
        window = _window(texts(end + 1, next_code))
        profile = code_profile(call.code)
        printed = printed_numbers(call.output or "")
        flags = []
        if contradicted(window, printed):
            flags.append("contradicted")
        first_line = window.split("\n", 1)[0] if window else ""
        if premature(texts(prev_end, call.code_segment), first_line, profile.literals):
            flags.append("premature")
        if rederives(window, printed, texts(0, call.code_segment)):
            flags.append("rederived")
        if profile.trivial:
            flags.append("trivial")
        blocks.append(BlockScore(n, tuple(flags), profile.purpose))
        prev_end = end + 1
    first = next((s for s in segments if s.kind != "text" or s.content.strip()), None)
    boxes = sum(len(_BOX_RE.findall(s.content)) for s in segments if s.kind in ("text", "answer"))
    return TraceScore(tuple(blocks), first is not None and first.kind == "code", boxes)


def summarize(scores: Iterable[TraceScore]) -> dict[str, Any]:
    """Totals over scored traces: what the card, the Dagster metadata and the benchmark report."""
    scores = list(scores)
    summary = summarize_labels([s.labels for s in scores], [s.tool_use_score for s in scores])
    summary["traces_opening_with_code"] = sum(s.opens_with_code for s in scores)
    summary["traces_with_one_boxed_answer"] = sum(s.boxed_answers == 1 for s in scores)
    return summary


def summarize_labels(
    labels: Iterable[list[str] | None], tool_use_scores: Iterable[float | None]
) -> dict[str, Any]:
    """The same totals from the `QUALITY_COLUMNS` of scored rows (``block_labels``, ``tool_use_score``)."""
    per_trace = [list(lab or []) for lab in labels]
    blocks = [b for lab in per_trace for b in lab]
    flags = Counter(f for b in blocks if not b.startswith("useful_") for f in b.split("+"))
    useful = [b.removeprefix("useful_") for b in blocks if b.startswith("useful_")]
    n_blocks = len(blocks) or 1
    values = [v for v in tool_use_scores if v is not None]
    return {
        "traces": len(per_trace),
        "blocks": len(blocks),
        "useful_block_share": len(useful) / n_blocks,
        "mean_tool_use_score": sum(values) / (len(values) or 1),
        **{f"{flag}_share": flags[flag] / n_blocks for flag in NEGATIVE_LABELS},
        "useful_purposes": dict(Counter(useful)),
        "traces_with_contradiction": sum(any("contradicted" in b for b in lab) for lab in per_trace),
    }
