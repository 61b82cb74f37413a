"""Final-answer extraction and equivalence.

`extract_answer` finds the last ``\\boxed{...}`` (braces balanced) or the content of ``<answer>``.
`is_equivalent` compares a predicted answer with the gold one using math-verify (gold first).
"""

from __future__ import annotations

import re

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_TAG_RE = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.S)


def _balanced(text: str, open_idx: int) -> str | None:
    """Content of the brace group starting at ``text[open_idx] == '{'``; None if never closed."""
    depth = 0
    i = open_idx
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}":
            i += 2  # escaped brace \{ or \} does not count
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_idx + 1 : i]
        i += 1
    return None


def find_boxed(text: str) -> list[str]:
    """Every ``\\boxed{...}`` / ``\\fbox{...}`` content in order, braces balanced (``\\boxed 5`` too)."""
    found: list[str] = []
    for m in _BOXED_RE.finditer(text):
        j = m.end()
        if j < len(text) and text[j] == "{":
            inner = _balanced(text, j)
            if inner is not None:
                found.append(inner)
        elif m.group(0).endswith(" ") or (j < len(text) and text[j] != "{"):
            # "\boxed 5" (no braces): the next token up to whitespace or a delimiter
            tok = re.match(r"[^\s$\\]+", text[j:])
            if tok and m.group(0) != "\\fbox":
                found.append(tok.group(0))
    return found


def extract_answer(text: str | None) -> str | None:
    """The final answer of a solution: the last ``\\boxed{}``, else the content of the last ``<answer>``."""
    if not text:
        return None
    boxed = find_boxed(text)
    if boxed:
        ans = boxed[-1].strip()
        return ans or None
    tags = _ANSWER_TAG_RE.findall(text)
    if tags:
        ans = tags[-1].strip()
        return ans or None
    return None
