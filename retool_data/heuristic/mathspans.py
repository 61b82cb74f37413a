"""Where a text is inside math (``$..$``, ``\\(..\\)``, ``\\[..\\]``, ``$$..$$``, ``\\begin{align*}..``), so a code
block can be put in the middle of a formula: the math open at the cut is closed before the block and opened again
after it (``$r = \\sqrt{9}$`` <code> ``This gives $r = 3$``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN_RE = re.compile(r"\\\$|\$\$|\$|\\\(|\\\)|\\\[|\\\]|\\begin\{([A-Za-z]+\*?)\}|\\end\{([A-Za-z]+\*?)\}")
_TABULAR = frozenset(
    {"cases", "array", "matrix", "pmatrix", "bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "split"}
)
_MATH_ENVS = _TABULAR | {
    "align",
    "aligned",
    "alignat",
    "equation",
    "gather",
    "gathered",
    "eqnarray",
    "multline",
    "flalign",
}
_CLOSERS = {"$": "$", "$$": "$$", "\\(": "\\)", "\\[": "\\]"}
_RELATION_END_RE = re.compile(r"(?:=|\\approx|≈)\s*\Z")
_PLAIN_SUBJECT_RE = re.compile(
    r"(?:^|\s)([A-Za-z](?:_\{?\w+\}?)?(?:\([^()\s]{1,8}\))?\s*(?:=|\\approx|≈)\s*)\Z"
)


@dataclass(frozen=True)
class MathSpan:
    opener: str  # "$", "\\[", "\\begin{align*}", ...
    closer: str
    start: int  # offset of the opener
    inner: int  # offset just after the opener
    end: int  # offset of the closer (len(text) when never closed)


def math_spans(text: str) -> list[MathSpan]:
    """Every math span, nested ones included (an ``aligned`` inside ``\\[``), in order of their openers."""
    spans: list[MathSpan] = []
    stack: list[tuple[str, str, int, int]] = []  # opener, closer, start, inner
    for m in _TOKEN_RE.finditer(text):
        tok = m.group(0)
        if tok == "\\$":
            continue
        if m.group(1) is not None:
            env = m.group(1)
            if env.rstrip("*") in _MATH_ENVS:
                stack.append((tok, f"\\end{{{env}}}", m.start(), m.end()))
            continue
        if m.group(2) is not None:
            closing = tok
            _close(stack, spans, closing, m.start())
            continue
        if tok in ("$", "$$") and stack and stack[-1][0] == tok:
            _close(stack, spans, tok, m.start())
        elif tok in _CLOSERS and not (tok in ("$", "$$") and stack):
            stack.append((tok, _CLOSERS[tok], m.start(), m.end()))
        elif tok in ("\\)", "\\]"):
            _close(stack, spans, tok, m.start())
    for opener, closer, start, inner in stack:
        spans.append(MathSpan(opener, closer, start, inner, len(text)))
    return sorted(spans, key=lambda s: s.start)


def _close(stack: list[tuple[str, str, int, int]], spans: list[MathSpan], closer: str, at: int) -> None:
    for k in range(len(stack) - 1, -1, -1):
        if stack[k][1] == closer:
            opener, close, start, inner = stack[k]
            spans.append(MathSpan(opener, close, start, inner, at))
            del stack[k:]
            return


def enclosing(spans: list[MathSpan], pos: int) -> list[MathSpan]:
    """The spans open at ``pos``, outermost first."""
    return [s for s in spans if s.inner <= pos <= s.end]


def can_cut(text: str, spans: list[MathSpan], pos: int) -> bool:
    """A block may go at ``pos``: not inside a table-like environment, and no brace or ``\\left`` left open."""
    around = enclosing(spans, pos)
    if any(s.opener.startswith("\\begin{") and s.opener[7:-1].rstrip("*") in _TABULAR for s in around):
        return False
    lo = around[-1].inner if around else text.rfind("\n", 0, pos) + 1
    piece = re.sub(r"\\[{}]", "", text[lo:pos])
    depth = 0
    for ch in piece:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0 and len(re.findall(r"\\left(?![A-Za-z])", piece)) == len(
        re.findall(r"\\right(?![A-Za-z])", piece)
    )


def closers(spans: list[MathSpan], pos: int) -> str:
    return "".join(s.closer for s in reversed(enclosing(spans, pos)))


def openers(spans: list[MathSpan], pos: int) -> str:
    return "".join(s.opener for s in enclosing(spans, pos))


def subject(text: str, spans: list[MathSpan], start: int) -> str:
    """What a computed expression is the value of (``r = `` in ``$r = \\sqrt{9}$``), to state the result with it;
    "" when the expression stands alone or the text before it is prose."""
    around = enclosing(spans, start)
    line_start = text.rfind("\n", 0, start) + 1
    row_start = max(line_start, text.rfind("\\\\", 0, start) + 2 if "\\\\" in text[line_start:start] else 0)
    if around:
        row_start = max(row_start, around[-1].inner)
        left = text[row_start:start]
        if _RELATION_END_RE.search(left) and len(left) <= 80 and "\n" not in left.strip():
            return left.lstrip()
        return ""
    m = _PLAIN_SUBJECT_RE.search(text[row_start:start])
    return m.group(1) if m else ""
