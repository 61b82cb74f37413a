"""Canonical tokens of a math problem statement, for matching copies (decontamination, near-dup detection).

`schema.normalize_problem` is the *identity* normalization (an exact-dedup key). This one is looser on purpose:
two statements that a reader would call "the same problem" should produce the same token sequence even when
they differ in whitespace, ``$`` delimiters, LaTeX spelling (``\\frac12`` / ``\\dfrac{1}{2}`` / ``\\frac{1}{2}``,
``\\left(`` / ``(``, ``\\le`` / ``\\leq``, ``\\,`` spacing), thousands separators or sentence punctuation.
Digits, operators, letters and LaTeX command names are kept, so a changed number stays a different token.
Unicode mathematics is read as its LaTeX spelling (``x² ≤ π`` = ``x^2 \\leq \\pi``), so a statement typed in one
and copied in the other still agrees. `strip_figures` drops Asymptote/TikZ figure code, and `number_values` /
`masked_tokens` separate a statement's numbers from its wording (decontamination tells a copy from a template
variant with them).
"""

from __future__ import annotations

import re
import unicodedata

_DELIMITERS_RE = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]")
_SIZING_RE = re.compile(r"\\(?:left|right|big|bigg|displaystyle|textstyle)(?![a-z])")
_SPACING_RE = re.compile(r"\\[,;:! ]|\\q?quad(?![a-z])|~")
_STYLE_RE = re.compile(
    r"\\(?:text|mathrm|textbf|mathbf|mathit|textit|operatorname|mbox|emph|textrm)(?![a-z])"
)
_ALIASES = [
    (re.compile(r"\\[dt]frac(?![a-z])"), r"\\frac"),
    (re.compile(r"\\[dt]binom(?![a-z])"), r"\\binom"),
    (re.compile(r"\\le(?![a-z])"), r"\\leq"),
    (re.compile(r"\\ge(?![a-z])"), r"\\geq"),
    (re.compile(r"\\ne(?![a-z])"), r"\\neq"),
    (re.compile(r"\\leqslant(?![a-z])"), r"\\leq"),
    (re.compile(r"\\geqslant(?![a-z])"), r"\\geq"),
    (re.compile(r"\\to(?![a-z])"), r"\\rightarrow"),
]
# \frac12 == \frac{1}{2}: a two-argument command whose arguments are single characters without braces.
_TWO_ARG_RE = re.compile(r"\\(frac|binom)\s*(\{[^{}]*\}|[0-9a-z])\s*(\{[^{}]*\}|[0-9a-z])")
_ONE_ARG_RE = re.compile(r"\\(sqrt)\s*([0-9a-z])")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TOKEN_RE = re.compile(r"\\[a-z]+|[a-z]+|\d+(?:\.\d+)?|[^\sa-z\d]")
# Sentence punctuation and grouping braces carry no mathematical content once the LaTeX is canonical.
_DROPPED_TOKENS = frozenset(".,;:!?'\"`{}")


# Unicode symbols -> the LaTeX a benchmark file writes; superscripts before NFKC (which would drop the "^").
_UNICODE_MATH = {
    "≤": r" \leq ", "≥": r" \geq ", "≠": r" \neq ", "≈": r" \approx ", "π": r" \pi ", "√": r" \sqrt ",
    "×": r" \times ", "·": r" \cdot ", "⋅": r" \cdot ", "÷": r" \div ", "−": "-", "–": "-", "∠": r" \angle ",
    "△": r" \triangle ", "°": r" ^\circ ", "θ": r" \theta ", "α": r" \alpha ", "β": r" \beta ",
    "γ": r" \gamma ", "ω": r" \omega ", "∞": r" \infty ", "…": r" \dots ", "⋯": r" \dots ", "∈": r" \in ",
    "∪": r" \cup ", "∩": r" \cap ", "⊆": r" \subseteq ", "→": r" \rightarrow ", "⌊": r" \lfloor ",
    "⌋": r" \rfloor ", "⌈": r" \lceil ", "⌉": r" \rceil ", "∑": r" \sum ", "∏": r" \prod ", "⁄": "/",
    "⊥": r" \perp ", "∥": r" \parallel ", "±": r" \pm ",
    **{c: "^" + d for c, d in zip("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789", strict=True)},
}  # fmt: skip
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE_MATH)))
_MATH_ALIASES = [(re.compile(r"\\(?:l|c)dots(?![a-z])"), r"\\dots")]
_FIGURE_RE = re.compile(
    r"\[asy\].*?(?:\[/asy\]|\Z)|\\begin\{(tikzpicture|picture)\}.*?(?:\\end\{\1\}|\Z)", re.S | re.I
)
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def strip_figures(text: str) -> str:
    """The statement without Asymptote (``[asy]...[/asy]``) or TikZ picture code: a copy often leaves it out."""
    return _FIGURE_RE.sub(" ", text) if ("[asy]" in text or "\\begin" in text) else text


def unicode_to_latex(text: str) -> str:
    """Unicode mathematics in its LaTeX spelling (``x² ≤ π`` -> ``x^2 \\leq \\pi``); other characters unchanged."""
    return text if text.isascii() else _UNICODE_RE.sub(lambda m: _UNICODE_MATH[m.group()], text)


def _braced(arg: str) -> str:
    return arg if arg.startswith("{") else "{" + arg + "}"


def canonical_latex(text: str) -> str:
    """Lowercased text with LaTeX spelled one way (see module docstring); braces are still present."""
    t = unicodedata.normalize("NFKC", unicode_to_latex(text or "")).lower()
    t = _DELIMITERS_RE.sub(" ", t).replace("{,}", ",")
    if "\\" not in t:  # every rule below needs a backslash but the "~" spacing: skip thirteen regex passes
        return t.replace("~", " ")
    t = _SIZING_RE.sub("", t)
    t = _SPACING_RE.sub(" ", t)
    t = _STYLE_RE.sub("", t)
    for pattern, repl in (*_ALIASES, *_MATH_ALIASES):
        t = pattern.sub(repl, t)
    t = _TWO_ARG_RE.sub(lambda m: f"\\{m.group(1)}{_braced(m.group(2))}{_braced(m.group(3))}", t)
    t = _ONE_ARG_RE.sub(lambda m: f"\\{m.group(1)}{{{m.group(2)}}}", t)
    return t


def math_tokens(text: str) -> list[str]:
    """Canonical tokens: words, numbers, LaTeX commands and operator symbols, punctuation and braces dropped."""
    t = canonical_latex(text).replace("{", " ").replace("}", " ")
    t = _THOUSANDS_RE.sub("", t)
    return [tok for tok in _TOKEN_RE.findall(t) if tok not in _DROPPED_TOKENS]


def canonical_text(text: str) -> str:
    """The canonical tokens joined by single spaces: the string that fuzzy ratios are computed on."""
    return " ".join(math_tokens(text))


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """Distinct word n-grams; a sequence shorter than ``n`` yields itself as its only n-gram."""
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def number_values(tokens: list[str]) -> list[str]:
    """The numbers of a token list (digits, and the words zero..twenty as digits), in order."""
    out = []
    for tok in tokens:
        if _NUMBER_RE.fullmatch(tok):
            out.append(tok)
        elif tok in _NUMBER_WORDS:
            out.append(_NUMBER_WORDS[tok])
    return out


def masked_tokens(tokens: list[str]) -> list[str]:
    """Tokens with every number (digits or zero..twenty) replaced by ``#``: the statement's template."""
    return ["#" if _NUMBER_RE.fullmatch(t) or t in _NUMBER_WORDS else t for t in tokens]
