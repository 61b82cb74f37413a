"""Final-answer extraction: the last ``\\boxed{}`` (``\\fbox``, ``\\framebox``, ``\\boxed 5``) with balanced braces,
else the last ``<answer>``. Re-exported by `retool_data.answers`, which compares what this finds.
"""

from __future__ import annotations

import re

__all__ = ["extract_answer", "find_boxed", "group_end", "unwrap_box"]

_MAX_BOX_CHARS = 8000  # a box whose content runs longer than this counts as unclosed (bounds the scan)

_BOX_CMD_RE = re.compile(r"\\(?:boxed|fbox|framebox)(?![A-Za-z])")
_BRACE_RE = re.compile(r"\\.|[{}]", re.DOTALL)  # an escaped character (\{ \} \\) or a brace
_OPTION_RE = re.compile(r"\s*\[[^\]{}]*\]")  # \framebox[3cm][c]{...}
_BARE_ARG_RE = re.compile(r"\s*([^\s$\\{}]+)")  # \boxed 5
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL)


def group_end(text: str, open_idx: int) -> int | None:
    """Index of the ``}`` closing the group opened at ``text[open_idx] == '{'``; None if unclosed."""
    depth = 0
    for m in _BRACE_RE.finditer(text, open_idx, min(len(text), open_idx + _MAX_BOX_CHARS)):
        if m.group() == "{":
            depth += 1
        elif m.group() == "}":
            depth -= 1
            if depth == 0:
                return m.start()
    return None


def _boxes(text: str) -> list[str | None]:
    """Contents of the top-level box commands in order; None for one that is never closed."""
    found: list[str | None] = []
    pos = 0
    while m := _BOX_CMD_RE.search(text, pos):
        j = m.end()
        while opt := _OPTION_RE.match(text, j):
            j = opt.end()
        while j < len(text) and text[j].isspace():
            j += 1
        if j < len(text) and text[j] == "{":
            end = group_end(text, j)
            found.append(None if end is None else text[j + 1 : end])
            pos = j + 1 if end is None else end + 1  # boxes nested inside belong to this one
        else:
            bare = _BARE_ARG_RE.match(text, m.end())
            token = bare.group(1).rstrip(".,;:") if bare else ""
            found.append(token or None)
            pos = bare.end() if bare else m.end()
    return found


def unwrap_box(s: str) -> str:
    """``\\boxed{\\boxed{x}}`` -> ``x``: strip box commands that span the whole string."""
    while True:
        s = s.strip()
        boxes = _boxes(s) if s.startswith("\\") else []
        m = _BOX_CMD_RE.match(s)
        if len(boxes) != 1 or boxes[0] is None or not m or not s.endswith("}"):
            return s
        j = s.index("{", m.end())
        if group_end(s, j) != len(s) - 1:
            return s
        s = boxes[0]


def find_boxed(text: str) -> list[str]:
    """Every top-level ``\\boxed{...}`` / ``\\fbox{...}`` / ``\\framebox{...}`` content in order."""
    if not isinstance(text, str):
        return []
    return [b for b in _boxes(text) if b is not None]


def extract_answer(text: str | None) -> str | None:
    """The final answer of a solution: the last box's content, else the content of the last ``<answer>``.

    None when there is neither, when the last box is empty, or when the last box is never closed (a
    generation cut off inside its final answer has no final answer; an earlier box was superseded).
    """
    if not isinstance(text, str) or not text:
        return None
    boxes = _boxes(text)
    if boxes:
        return (unwrap_box(boxes[-1]) or None) if boxes[-1] is not None else None
    tags = _ANSWER_TAG_RE.findall(text)
    return (tags[-1].strip() or None) if tags else None
