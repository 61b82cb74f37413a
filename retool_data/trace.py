"""The ReTool trace format: text interleaved with code, its interpreter output, and a final answer.

Canonical form (what `render_trace` writes, and what the paper's templates ask for)::

    some reasoning
    <code>
    ```python
    print(12 * 7)
    ```
    </code>
    <interpreter>
    84
    </interpreter>
    more reasoning
    <answer>\\boxed{84}</answer>

`parse_trace` is tolerant of real model output (a missing ``python`` tag, bare fences, no fences, an unclosed
final block, stray closing tags); `validate_trace` is strict and reports every deviation as a machine-readable
problem code for the filters. Every parsed segment keeps its exact source text in ``raw``, so
``"".join(s.raw for s in parse_trace(text).segments) == text`` always holds: tokenizers can work segment by
segment without losing a byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from retool_data.answers import extract_answer

SegmentKind = Literal["text", "code", "interpreter", "answer"]
BLOCK_KINDS: tuple[str, ...] = ("code", "interpreter", "answer")
CODE_LANGUAGES = frozenset({"python", "py", "python3", ""})

_TAG_RE = re.compile(r"<(/?)(code|interpreter|answer)>")
_OPEN_RE = re.compile(r"<(code|interpreter|answer)>")
# An opening tag at the start of a line: where a new block surely begins, even inside a broken code block.
_LINE_OPEN_RE = re.compile(r"(?m)^[ \t]*<(?:code|interpreter|answer)>")
_FENCE_OPEN_RE = re.compile(r"[ \t]*\r?\n?[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n")
_FENCE_LINE_RE = re.compile(r"(?m)^[ \t]*```[ \t]*\r?$")
_CLOSE_CODE_AFTER_FENCE_RE = re.compile(r"[ \t]*\r?\n?[ \t]*</code>")
_OUTPUT_FENCE_RE = re.compile(r"\A\r?\n?```[ \t]*(?:output|text|plaintext)?[ \t]*\r?\n(.*)\r?\n```\r?\n?\Z", re.S)


@dataclass(frozen=True)
class Segment:
    """One piece of a trace.

    ``content`` is the payload: the code body without fences, the interpreter text, the inside of
    ``<answer>...</answer>``, or the text itself. ``raw`` is the exact source substring (tags included) and is
    not part of equality, so a parsed trace equals the trace it was rendered from.
    """

    kind: SegmentKind
    content: str
    closed: bool = True
    lang: str | None = None  # code blocks only: the fence's language tag, "" for a bare fence, None if unfenced
    raw: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class ToolCall:
    """A code block and the interpreter output written after it (None when the trace has none)."""

    code: str
    output: str | None
    code_segment: int
    interpreter_segment: int | None


@dataclass(frozen=True)
class Trace:
    segments: tuple[Segment, ...]

    @property
    def code_blocks(self) -> list[str]:
        return [s.content for s in self.segments if s.kind == "code"]

    @property
    def interpreter_outputs(self) -> list[str]:
        return [s.content for s in self.segments if s.kind == "interpreter"]

    @property
    def tool_calls(self) -> list[ToolCall]:
        """Code blocks in order, each paired with the interpreter output that follows it.

        An interpreter block belongs to the nearest preceding code block that has no output yet and is not
        separated from it by another code block.
        """
        calls: list[ToolCall] = []
        pending: int | None = None  # index into calls of the last code block still waiting for output
        for i, seg in enumerate(self.segments):
            if seg.kind == "code":
                calls.append(ToolCall(seg.content, None, i, None))
                pending = len(calls) - 1
            elif seg.kind == "interpreter" and pending is not None:
                c = calls[pending]
                calls[pending] = ToolCall(c.code, seg.content, c.code_segment, i)
                pending = None
        return calls

    @property
    def answer_segment(self) -> Segment | None:
        answers = [s for s in self.segments if s.kind == "answer"]
        return answers[-1] if answers else None

    @property
    def final_answer(self) -> str | None:
        """The boxed answer: from the last ``<answer>`` block, else the last ``\\boxed{}`` in the text."""
        seg = self.answer_segment
        if seg is not None:
            found = extract_answer(seg.content)
            if found is not None:
                return found
            stripped = seg.content.strip()
            if stripped:
                return stripped
        text = "".join(s.content for s in self.segments if s.kind == "text")
        return extract_answer(text)

    @property
    def source_text(self) -> str:
        """The exact text this trace was parsed from (the canonical rendering for hand-built traces)."""
        if all(s.raw for s in self.segments):
            return "".join(s.raw for s in self.segments)
        return render_trace(self)


# --------------------------------------------------------------------------------------------- render


def format_code_block(code: str, lang: str = "python") -> str:
    return f"<code>\n```{lang}\n{code}\n```\n</code>"


# A tag look-alike in program output (``print("</interpreter><answer>...")``), and an already escaped one
# (``&lt;/code>``, ``&amp;lt;/code>``, ...) so that escaping stays reversible.
_ESCAPABLE_RE = re.compile(r"(<|&(?:amp;)*lt;)(/?(?:code|interpreter|answer)>)")
_ESCAPED_RE = re.compile(r"&((?:amp;)*)lt;(/?(?:code|interpreter|answer)>)")


def escape_interpreter(text: str) -> str:
    """Program output made safe to put inside ``<interpreter>``: ``<`` of a tag look-alike becomes ``&lt;``.

    Without this, code that prints ``</interpreter><answer>\\boxed{42}</answer>`` would close the block and write
    an answer the model never wrote (reward hacking). Only the six ReTool tags are touched, so ordinary output
    (``a < b``, HTML, ``&``) keeps its bytes; a literal ``&lt;code>`` gains one ``amp;`` so that
    `unescape_interpreter` restores every output exactly.
    """
    return _ESCAPABLE_RE.sub(
        lambda m: ("&lt;" if m.group(1) == "<" else "&amp;" + m.group(1)[1:]) + m.group(2), text
    )


def unescape_interpreter(text: str) -> str:
    """Inverse of `escape_interpreter`: ``unescape_interpreter(escape_interpreter(s)) == s`` for every ``s``."""
    return _ESCAPED_RE.sub(lambda m: ("&" + m.group(1)[4:] + "lt;" if m.group(1) else "<") + m.group(2), text)


def interpreter_text(output: str) -> str:
    """What an interpreter block holds for a run's output: the output minus one trailing newline, with tag
    look-alikes escaped (`escape_interpreter`).

    ``print(84)`` writes ``"84\\n"``; the block reads ``<interpreter>\\n84\\n</interpreter>`` (the paper's
    layout), not ``84`` followed by a blank line. Every writer of interpreter blocks (RL rollout, evaluation,
    iTool's search, heuristic rewriter, consistency repair, SFT tokenization) goes through this, directly or
    through `format_interpreter_block` / `render_segment`, so their bytes agree and none can be hijacked by output.
    `parse_trace` undoes the escaping: an interpreter segment's ``content`` is the output itself.
    """
    return escape_interpreter(output[:-1] if output.endswith("\n") else output)


def format_interpreter_block(output: str) -> str:
    """The interpreter block exactly as the rollout appends it after ``</code>`` (and SFT masks it).

    The leading and trailing newlines belong to the environment's turn: the model stops at ``</code>`` and
    resumes after ``</interpreter>\\n``.
    """
    return f"\n<interpreter>\n{interpreter_text(output)}\n</interpreter>\n"


def render_segment(seg: Segment) -> str:
    if seg.kind == "text":
        return seg.content
    if seg.kind == "code":
        body = format_code_block(seg.content, "python" if seg.lang is None else seg.lang)
        return body if seg.closed else body[: -len("\n```\n</code>")]
    if seg.kind == "interpreter":
        body = f"<interpreter>\n{escape_interpreter(seg.content)}\n</interpreter>"
        return body if seg.closed else body[: -len("\n</interpreter>")]
    if seg.kind == "answer":
        return f"<answer>{seg.content}</answer>" if seg.closed else f"<answer>{seg.content}"
    raise ValueError(f"unknown segment kind {seg.kind!r}")


def render_trace(trace: Trace) -> str:
    """Canonical text of a trace; ``parse_trace(render_trace(t)) == t`` for well-formed traces."""
    return "".join(render_segment(s) for s in trace.segments)


def make_trace(*parts: tuple[SegmentKind, str]) -> Trace:
    """Build a trace from ``(kind, content)`` pairs, e.g. ``make_trace(("text", "x"), ("code", "print(1)"))``."""
    return Trace(
        tuple(Segment(kind, content, lang="python" if kind == "code" else None) for kind, content in parts)
    )


# ---------------------------------------------------------------------------------------------- parse


def _strip_one_newline(body: str, leading: bool = True, trailing: bool = True) -> str:
    if leading:
        body = body[2:] if body.startswith("\r\n") else body[1:] if body.startswith("\n") else body
    if trailing:
        body = body[:-2] if body.endswith("\r\n") else body[:-1] if body.endswith("\n") else body
    return body


def _generic_block_end(text: str, kind: str, start: int) -> tuple[int, int, bool]:
    """(inner_end, block_end, closed) for a block whose content may hold other tags (program output).

    The block closes at the first ``</kind>`` unless another ``<kind>`` opens first (a forgotten closing tag);
    an unclosed block ends where the next block of any kind opens, or at the end of the text.
    """
    close = f"</{kind}>"
    c = text.find(close, start)
    same = text.find(f"<{kind}>", start)
    if c != -1 and (same == -1 or c < same):
        return c, c + len(close), True
    nxt = _OPEN_RE.search(text, start)
    end = nxt.start() if nxt else len(text)
    return end, end, False


def _code_block_end(text: str, start: int) -> tuple[int, int, bool, str | None, int]:
    """(inner_end, block_end, closed, lang, body_start) for a ``<code>`` block starting at ``start``.

    Fence-aware: between the fences, tags are code (``print('<code>')``). The closing fence is searched up to
    the next opening tag at the start of a line, so an unclosed block cannot swallow the next one.
    """
    fence = _FENCE_OPEN_RE.match(text, start)
    if fence is None:
        inner_end, block_end, closed = _generic_block_end(text, "code", start)
        return inner_end, block_end, closed, None, start
    limit_m = _LINE_OPEN_RE.search(text, fence.end())
    limit = limit_m.start() if limit_m else len(text)
    close_fence = _FENCE_LINE_RE.search(text, fence.end(), limit)
    close_tag = text.find("</code>", fence.end(), limit)
    if close_fence is not None:
        after = _CLOSE_CODE_AFTER_FENCE_RE.match(text, close_fence.end())
        if after is not None:
            return after.end() - len("</code>"), after.end(), True, fence.group(1), fence.end()
        if close_tag == -1 or close_tag > close_fence.start():
            # fenced code ended but </code> never came: the block is unclosed, the rest is ordinary text
            return close_fence.end(), close_fence.end(), False, fence.group(1), fence.end()
    if close_tag != -1:  # </code> without a closing fence: tolerate
        return close_tag, close_tag + len("</code>"), True, fence.group(1), fence.end()
    nxt = _OPEN_RE.search(text, fence.end())
    end = min(nxt.start() if nxt else len(text), limit)
    return end, end, False, fence.group(1), fence.end()


def _code_content(body: str) -> str:
    """Code between the opening fence and the closing fence (or the block's end)."""
    m = _FENCE_LINE_RE.search(body)
    if m is not None:
        body = body[: m.start()]
    return _strip_one_newline(body, leading=False)


def _interpreter_content(inner: str) -> str:
    m = _OUTPUT_FENCE_RE.match(inner)
    return unescape_interpreter(m.group(1) if m else _strip_one_newline(inner))


def _append_text(segments: list[Segment], text: str) -> None:
    if not text:
        return
    if segments and segments[-1].kind == "text":
        prev = segments[-1]
        segments[-1] = Segment("text", prev.content + text, raw=prev.raw + text)
    else:
        segments.append(Segment("text", text, raw=text))


def parse_trace(text: str) -> Trace:
    """Split a trace into ordered text/code/interpreter/answer segments, tolerating real model output.

    A block whose closing tag never comes has ``closed=False`` and ends where the next block opens (or at the
    end of the text). A closing tag with no opener stays in the text (``validate_trace`` reports it).
    """
    segments: list[Segment] = []
    pos = 0
    while (m := _OPEN_RE.search(text, pos)) is not None:
        _append_text(segments, text[pos : m.start()])
        kind = m.group(1)
        if kind == "code":
            inner_end, block_end, closed, lang, body_start = _code_block_end(text, m.end())
            if lang is None:
                content = _strip_one_newline(text[m.end() : inner_end], trailing=closed)
            else:
                content = _code_content(text[body_start:inner_end])
            seg = Segment("code", content, closed, lang, text[m.start() : block_end])
        else:
            inner_end, block_end, closed = _generic_block_end(text, kind, m.end())
            inner = text[m.end() : inner_end]
            content = _interpreter_content(inner) if kind == "interpreter" else inner
            seg = Segment(kind, content, closed, None, text[m.start() : block_end])  # type: ignore[arg-type]
        segments.append(seg)
        pos = block_end
    _append_text(segments, text[pos:])
    return Trace(tuple(segments))


# ------------------------------------------------------------------------------------------- validate


@dataclass(frozen=True)
class TraceProblem:
    code: str
    message: str
    segment: int | None = None


PROBLEM_CODES: dict[str, str] = {
    "unbalanced_tags": "an opening tag without its closing tag, or a closing tag without its opener",
    "empty_code": "a code block with no code",
    "missing_fence": "a code block without ```python fences",
    "unsupported_language": "a code block fenced with a language other than python",
    "interpreter_without_code": "an interpreter block with no code block before it",
    "code_without_interpreter": "a code block that is not followed by an interpreter block",
    "text_between_code_and_interpreter": "text other than whitespace between </code> and <interpreter>",
    "no_answer": "no \\boxed{} answer anywhere in the trace",
    "answer_not_in_tags": "a \\boxed{} answer exists but not inside <answer>...</answer>",
    "multiple_answers": "more than one <answer> block",
    "empty_answer": "an <answer> block with nothing in it",
    "text_after_answer": "non-whitespace text after the final </answer>",
    "block_after_answer": "a code or interpreter block after the final answer",
}


def validate_trace(text: str) -> list[TraceProblem]:
    """Strict check of the ReTool format; returns every problem found (empty list = valid)."""
    return validate_parsed(parse_trace(text))


def validate_parsed(trace: Trace) -> list[TraceProblem]:
    """`validate_trace` on an already parsed trace, for callers that need the parse too (parse once)."""
    segs = trace.segments
    problems: list[TraceProblem] = []

    def add(code: str, segment: int | None = None, detail: str = "") -> None:
        problems.append(TraceProblem(code, detail or PROBLEM_CODES[code], segment))

    for i, s in enumerate(segs):
        if s.kind != "text" and not s.closed:
            add("unbalanced_tags", i, f"<{s.kind}> is never closed")
        if s.kind == "text" and _TAG_RE.search(s.content):
            stray = _TAG_RE.search(s.content).group(0)  # type: ignore[union-attr]
            add("unbalanced_tags", i, f"stray {stray}")
        if s.kind == "code":
            if not s.content.strip():
                add("empty_code", i)
            if s.lang is None and s.content.strip():
                add("missing_fence", i)
            elif s.lang is not None and s.lang.lower() not in CODE_LANGUAGES:
                add("unsupported_language", i, f"fence language {s.lang!r}")

    calls = trace.tool_calls
    paired = {c.interpreter_segment for c in calls if c.interpreter_segment is not None}
    for i, s in enumerate(segs):
        if s.kind == "interpreter" and i not in paired:
            add("interpreter_without_code", i)
    for c in calls:
        if c.interpreter_segment is None:
            add("code_without_interpreter", c.code_segment)
        else:
            between = segs[c.code_segment + 1 : c.interpreter_segment]
            if any(b.kind == "text" and b.content.strip() for b in between):
                add("text_between_code_and_interpreter", c.code_segment)

    answer_idx = [i for i, s in enumerate(segs) if s.kind == "answer"]
    if len(answer_idx) > 1:
        add("multiple_answers", answer_idx[1])
    if answer_idx:
        last = answer_idx[-1]
        if not segs[last].content.strip():
            add("empty_answer", last)
        elif extract_answer(segs[last].content) is None:
            add("no_answer", last, "<answer> holds no \\boxed{}")
        tail = segs[last + 1 :]
        if any(t.kind == "text" and t.content.strip() for t in tail):
            add("text_after_answer", last)
        if any(t.kind in ("code", "interpreter") for t in tail):
            add("block_after_answer", last)
    elif trace.final_answer is not None:
        add("answer_not_in_tags")
    else:
        add("no_answer")
    return problems


def problem_codes(text: str) -> list[str]:
    """Sorted unique problem codes of ``validate_trace(text)``."""
    return sorted({p.code for p in validate_trace(text)})
