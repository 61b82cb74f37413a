"""Find the explicit calculations in R1-style text and check them (test helper for the bundled sample).

A *claim* is a chain like ``12 \\times 7 = 84``, ``\\frac{3}{4} \\cdot 8 = 6``, ``2^{10} = 1024`` or
``\\sqrt{72} = 6\\sqrt{2}`` (numbers only: every adjacent pair of numeric sides must be equal; ``\\approx`` allows
0.1%), or a solved equation ``3x + 5 = 20 gives x = 5`` (the value is substituted back). Spans that touch words,
subscripts, units or percent signs are skipped rather than guessed at: the point is that every calculation the
sample states explicitly is either right or deliberately wrong, not to parse all of LaTeX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy
from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

_PREP = [
    (re.compile(r"\\[\[\]()]|\$"), " "),  # math delimiters
    (re.compile(r"\\left|\\right|\\[,;!]"), ""),
    (re.compile(r"\\[dt]frac"), r"\\frac"),
    (re.compile(r"\\boxed"), ""),  # \boxed{42} -> {42}
    (re.compile(r"[×·]"), r" \\times "),
    (re.compile(r"÷"), r" \\div "),
]
_TOKEN = re.compile(r"\\[A-Za-z]+|\d+(?:\.\d+)?|[A-Za-z]+(?:'[A-Za-z]+)?|\s+|.", re.DOTALL)
_COMMANDS = {r"\times", r"\cdot", r"\div", r"\frac", r"\sqrt", r"\binom", r"\pi", r"\approx"}
_OPERATORS = set("+-*/^=(){}!")
_ENGLISH = {"is", "so", "of", "to", "in", "at", "be", "by", "or", "an", "as", "if", "it", "we", "no", "on", "up"}
_CONNECTORS = {"gives", "so", "which gives", "then", "hence", "thus", "so we get", "and so"}
_SYMBOLS = {c: sympy.Symbol(c) for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_LOCALS = {**_SYMBOLS, "sqrt": sympy.sqrt, "binomial": sympy.binomial, "pi": sympy.pi}
_TRANSFORMS = (*standard_transformations, rationalize)


@dataclass(frozen=True)
class Claim:
    text: str  # the span as written
    holds: bool


def _is_var(tok: str) -> bool:
    return tok.isalpha() and (len(tok) == 1 or (len(tok) == 2 and tok.islower() and tok not in _ENGLISH))


def _is_math(tok: str) -> bool:
    if tok.isspace():
        return "\n" not in tok  # an equation does not run across lines (bulleted lists, display math)
    return tok in _OPERATORS or tok in _COMMANDS or tok[0].isdigit() or _is_var(tok)


class _Converter:
    """LaTeX-ish token list -> a Python expression string for sympy; ValueError when it is not plain math."""

    def __init__(self, tokens: list[str]):
        self.toks = [t for t in tokens if not t.isspace()]
        self.i = 0

    def convert(self) -> str:
        out = self._seq(None)
        if self.i != len(self.toks):
            raise ValueError("unbalanced")
        return out

    def _arg(self) -> str:
        tok = self.toks[self.i] if self.i < len(self.toks) else ""
        if tok == "{":
            self.i += 1
            inner = self._seq("}")
            self.i += 1
            return inner
        if tok[:1].isdigit() and "." not in tok:  # \frac34: one digit per argument
            self.toks[self.i] = tok[1:]
            if not self.toks[self.i]:
                self.i += 1
            return tok[0]
        if tok == r"\pi" or _is_var(tok):
            self.i += 1
            return "pi" if tok == r"\pi" else tok
        raise ValueError(f"bad argument {tok!r}")

    def _seq(self, stop: str | None) -> str:
        out: list[str] = []
        prev = None  # "num" | "operand" | None (after an operator)
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            if tok == stop:
                return "".join(out)
            if tok in (")", "}"):
                raise ValueError("unbalanced")
            self.i += 1
            kind, text = "operand", None
            if tok in "+-*/":
                kind, text = None, tok
            elif tok in (r"\times", r"\cdot", r"\div"):
                kind, text = None, "/" if tok == r"\div" else "*"
            elif tok == "!":
                out.append("!")
                continue
            elif tok == "^":
                exponent = self._arg() if self.toks[self.i] in ("{",) else self.toks[self.i]
                if self.toks[self.i - 1] != "}" and exponent == self.toks[self.i]:
                    self.i += 1
                out.append(f"**({exponent})")
                continue
            elif tok in ("(", "{"):
                inner = self._seq(")" if tok == "(" else "}")
                if self.i >= len(self.toks):
                    raise ValueError("unclosed")
                self.i += 1
                text = f"({inner})"
            elif tok == r"\frac":
                text = f"(({self._arg()})/({self._arg()}))"
            elif tok == r"\binom":
                text = f"binomial({self._arg()},{self._arg()})"
            elif tok == r"\sqrt":
                text = f"sqrt({self._arg()})"
            elif tok == r"\pi":
                text = "pi"
            elif tok[0].isdigit():
                kind, text = "num", tok
            elif _is_var(tok):
                text = "*".join(tok)
            else:
                raise ValueError(f"not math: {tok!r}")
            if kind is not None and prev is not None:  # implicit multiplication: 6\sqrt{2}, 2(16), 3x
                if kind == "num" and prev == "num":
                    raise ValueError("two numbers in a row")
                out.append("*")
            out.append(text)
            prev = kind
        if stop is not None:
            raise ValueError("unclosed")
        return "".join(out)


def _evaluate(tokens: list[str]) -> sympy.Expr:
    return parse_expr(_Converter(tokens).convert(), local_dict=dict(_LOCALS), transformations=_TRANSFORMS)


def _equal(a: sympy.Expr, b: sympy.Expr, approx: bool) -> bool:
    diff = sympy.nsimplify(a - b) if not approx else a - b
    if approx:
        return abs(float(diff)) <= 1e-3 * max(1.0, abs(float(b)))
    return diff == 0 or sympy.simplify(diff) == 0


def _split_parts(tokens: list[str]) -> list[tuple[list[str], str]]:
    """[(side tokens, the relation that follows it)] for a run split at '=' and '\\approx'."""
    parts, cur = [], []
    for tok in tokens:
        if tok in ("=", r"\approx"):
            parts.append((cur, tok))
            cur = []
        else:
            cur.append(tok)
    parts.append((cur, ""))
    return parts


def _balance(tokens: list[str]) -> list[str]:
    """Drop unmatched closers at the end and unmatched openers at the start ("(so 12 \\times 7 = 84)")."""
    while tokens and tokens[-1] in (")", "}") and sum(t in "({" for t in tokens) < sum(t in ")}" for t in tokens):
        tokens = tokens[:-1]
    while tokens and tokens[0] in ("(", "{") and sum(t in "({" for t in tokens) > sum(t in ")}" for t in tokens):
        tokens = tokens[1:]
    return tokens


def _runs(text: str) -> list[tuple[list[str], str]]:
    """Maximal spans of math tokens that hold a relation, each with the text that precedes it."""
    for pattern, repl in _PREP:
        text = pattern.sub(repl, text)
    toks = _TOKEN.findall(text)
    runs, cur, gap, pos = [], [], "", 0
    starts = []
    for tok in toks:
        starts.append(pos)
        pos += len(tok)
    for idx, tok in enumerate(toks + ["\x00"]):
        if tok != "\x00" and _is_math(tok):
            cur.append(idx)
            continue
        if cur:
            span = [i for i in cur]
            while span and toks[span[0]].isspace():
                span.pop(0)
            while span and toks[span[-1]].isspace():
                span.pop()
            before = text[starts[span[0]] - 1] if span and starts[span[0]] > 0 else " "
            after = text[starts[span[-1]] + len(toks[span[-1]]) :][:2] if span else ""
            runs.append(([toks[i] for i in span], gap, before, after))
            gap = ""
            cur = []
        if tok != "\x00":
            gap += tok
    return [r for r in runs if r[0]]


def find_claims(text: str) -> list[Claim]:
    """Every checkable calculation in `text`, in order, with whether it holds."""
    claims: list[Claim] = []
    prev_equation: tuple[list, set] | None = None
    for tokens, gap, before, after in _runs(text):
        equation, prev_eq = None, prev_equation
        prev_equation = None
        if len(tokens) > 1 and tokens[0] == "-" and tokens[1].isspace():
            tokens = tokens[2:]  # "- 252 = ...": a bullet or a dash, not a minus sign
        tokens = _balance(tokens)
        rel = [t for t in tokens if t in ("=", r"\approx")]
        if not rel:
            continue
        # Spans glued to a word, subscript, unit or percent belong to something we cannot read.
        if re.match(r"[\w^_}),.']", before) or re.match(r"[A-Za-z0-9%_]|\\%", after):
            continue
        if tokens[-1] in ("+", "-", "*", "/", "^", r"\times", r"\cdot", r"\div") or tokens[0] in ("+", "*", "/", "^", "!"):
            continue
        parts = [(p, r) for p, r in _split_parts(tokens) if p]
        if len(parts) < 2:
            continue
        try:
            values = [_evaluate(p) for p, _ in parts]
        except (ValueError, SyntaxError, TypeError, ZeroDivisionError, sympy.SympifyError, AttributeError):
            continue
        span = "".join(tokens)
        free = set().union(*(v.free_symbols for v in values))
        if not free:
            holds = all(_equal(values[k], values[k + 1], parts[k][1] == r"\approx") for k in range(len(values) - 1))
            claims.append(Claim(span, holds))
            continue
        # numeric neighbours inside a chain that starts with a variable: f(4) = 32 - 12 + 1 = 21
        numeric = [(values[k], values[k + 1], parts[k][1]) for k in range(len(values) - 1)
                   if not values[k].free_symbols and not values[k + 1].free_symbols]
        for a, b, r in numeric:
            claims.append(Claim(span, _equal(a, b, r == r"\approx")))
        connector = re.sub(r"[^a-z ]", "", gap.lower()).strip()
        if prev_eq is not None and connector in _CONNECTORS and values[0].is_Symbol and len(free) == 1:
            eq_values, eq_free = prev_eq
            var = values[0]
            solved = [v for v in values[1:] if not v.free_symbols]
            if eq_free == {var} and solved:
                subs = [v.subs(var, solved[-1]) for v in eq_values]
                holds = all(_equal(subs[k], subs[k + 1], False) for k in range(len(subs) - 1))
                claims.append(Claim(f"{span} (solving the previous equation)", holds))
        equation = (values, free)
        prev_equation = equation
    return claims
