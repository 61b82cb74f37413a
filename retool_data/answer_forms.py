"""One spelling for a final answer: what the heuristic rewriter boxes and the verl RL ground truth holds.

`strip_units` drops a trailing unit after a value; `reference_form` also drops outer ``$`` and boxes and digit-group
separators, and unwraps a time of day. See docs/answers.md, "Reference form".
"""

from __future__ import annotations

import re

from retool_data.answers import _DIGIT_GROUP_RE, _THOUSANDS_RE, _unwrap_text_commands
from retool_data.boxed import unwrap_box

__all__ = ["reference_form", "strip_units"]


_UNIT_TEXT_RE = re.compile(
    r"^(?P<value>.*?\d.*?)\s*(?:\\(?:text|mbox|textrm|mathrm)\s*\{(?P<braced>[^{}]*)\}|(?P<plain>(?<=\s)[A-Za-z][A-Za-z .]*))"
    r"\s*(?:\^\s*\{?\s*[23]\s*\}?)?\s*$"
)
_TIME_OF_DAY_RE = re.compile(r"^\s*(?:a|p)\.?\s*m\.?\s*$", re.I)
_UNIT_WORDS_RE = re.compile(r"^[A-Za-z][A-Za-z .]*$")
_PLAIN_NUMBER_RE = re.compile(r"[-+]?(?:\\\$)?\d[\d,{}.]*")
_CLOCK_RE = re.compile(r"^\d{1,2}:\d{2}\s*\\(?:text|mbox|textrm|mathrm)\s*\{\s*[ap]\.?\s*m\.?\s*\}$", re.I)


def strip_units(answer: str) -> str:
    """``100\\text{ square units}`` -> ``100``, ``18 \\text{cm}^2`` -> ``18``, ``12 inches`` -> ``12``: a trailing
    unit after a value is dropped. Text that changes the value stays: ``4:30 \\text{ p.m.}`` (the time of day),
    ``\\text{Alice wins}`` (no value before it), ``x = 5 \\text{ or } x = 7`` (not trailing)."""
    m = _UNIT_TEXT_RE.match(answer.strip())
    if m is None:
        return answer.strip()
    braced = m.group("braced") is not None
    words = (m.group("braced") if braced else m.group("plain") or "").strip()
    value = m.group("value").strip()
    if not words or not _UNIT_WORDS_RE.match(words) or _TIME_OF_DAY_RE.match(words) or "\\text" in value:
        return answer.strip()
    # "7.6 Z", "-2+2\\sqrt{3} i", "125-1.25 P": a letter after an expression is part of it, not a unit
    number = _PLAIN_NUMBER_RE.fullmatch(value) is not None
    if not number and (not braced or len(words.replace(" ", "")) < 2):
        return answer.strip()
    if not braced and len(words.replace(" ", "").replace(".", "")) < 2:
        return answer.strip()
    return value


def reference_form(answer: str | None) -> str | None:
    """The one spelling of a final answer that traces box and the verl RL ground truth holds: outer ``$`` and
    boxes gone, a trailing unit dropped (`strip_units`), digit-group separators removed from a lone number
    (``10{,}000``, ``50,625`` -> ``10000``, ``50625``), a time of day unwrapped (``4:30 p.m.``)."""
    if answer is None:
        return None
    s = unwrap_box(answer.strip().strip("$").strip())
    s = strip_units(s)
    grouped = _DIGIT_GROUP_RE.sub("", s)
    if _THOUSANDS_RE.fullmatch(grouped.replace(" ", "")):
        grouped = grouped.replace(",", "").replace(" ", "")
    if _CLOCK_RE.match(grouped):  # 4:30 \text{ p.m.} -> 4:30 p.m.
        grouped = " ".join(_unwrap_text_commands(grouped).split())
    return grouped or answer.strip()
