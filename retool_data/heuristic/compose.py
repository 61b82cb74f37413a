"""Assemble a trace in which the code does the work the text did by hand.

For each block: the text up to the computed expression (the sentence that motivates the block) is kept, the math
open there is closed, the code and its real output follow, and the text resumes at the stated result, introduced
as what the output gives (``This gives $r = 3$.``). The hand steps between the expression and the result (the
intermediate terms of a chain, the algebra between an equation and its solution) are what the block replaced, so
they are left out. The text's own ``\\boxed{}`` is unwrapped: the trace boxes its answer once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from retool_data.boxed import _BOX_CMD_RE, group_end
from retool_data.heuristic.mathspans import closers, math_spans, openers, subject
from retool_data.trace import format_code_block, format_interpreter_block

CONNECTORS = {"arithmetic": "This gives ", "equation": "So ", "identity": "This gives ", "system": "So "}


@dataclass(frozen=True)
class Placement:
    """A code block cut into the text: ``text[:cut]`` before it, ``text[resume:]`` after it."""

    kind: str
    start: int  # where the computed expression starts (its subject, if any, is stated again with the result)
    cut: int
    resume: int
    code: str
    output: str


def unbox(text: str) -> str:
    """``... = \\boxed{16}.`` -> ``... = 16.``: every box command replaced by its content."""
    out: list[str] = []
    pos = 0
    while m := _BOX_CMD_RE.search(text, pos):
        j = m.end()
        while j < len(text) and text[j].isspace():
            j += 1
        end = group_end(text, j) if j < len(text) and text[j] == "{" else None
        if end is None:
            out.append(text[pos : m.end()])
            pos = m.end()
            continue
        out.append(text[pos : m.start()])
        out.append(text[j + 1 : end])
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


def assemble(
    text: str,
    placements: list[Placement],
    answer: str,
    final_check: tuple[str, str, str, str] | None = None,
) -> str:
    """The trace: ``text`` with each placement cut in (in order; they must not overlap), an optional final check
    ``(lead-in, code, output, conclusion)`` after the text, then ``<answer>\\boxed{answer}</answer>``."""
    spans = math_spans(text)
    out: list[str] = []
    pos = 0
    for p in sorted(placements, key=lambda p: p.cut):
        if p.start < pos or p.resume < p.cut:
            raise ValueError(f"placement at {p.start}-{p.resume} overlaps the previous one (ends at {pos})")
        out.append(text[pos : p.cut].rstrip() + closers(spans, p.cut))
        out.append("\n" + format_code_block(p.code) + format_interpreter_block(p.output))
        lead = subject(text, spans, p.start) if p.kind in ("arithmetic", "identity") else ""
        out.append(CONNECTORS.get(p.kind, "") + openers(spans, p.resume) + lead)
        pos = p.resume
        while pos < len(text) and text[pos] == " ":
            pos += 1
    out.append(text[pos:])
    body = "".join(out)
    if final_check is not None:
        lead_in, code, output, conclusion = final_check
        body = (
            body.rstrip()
            + "\n\n"
            + lead_in
            + "\n"
            + format_code_block(code)
            + format_interpreter_block(output)
        )
        body += conclusion
    return body.rstrip() + f"\n\n<answer>\\boxed{{{answer}}}</answer>"
