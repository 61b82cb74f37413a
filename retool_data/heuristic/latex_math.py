"""A small parser for the arithmetic R1 writes (LaTeX or plain text) into an AST, its exact value, and Python.

Covers what hand calculations in math reasoning are made of: integers and decimals (``1{,}024``, ``1,024``),
``+ - * / ^ !``, ``\\times \\cdot \\div × ·``, ``\\frac{}{}``, ``\\sqrt{}``, ``\\sqrt[n]{}``, ``\\binom{}{}``,
``\\pi``, parentheses (``\\left( \\right)``), implicit multiplication (``2\\sqrt{3}``, ``3x``) and single-letter
variables (for equations). Anything else (words, ``\\text``, ``\\cdots``, ``\\pmod``) is a `MathParseError`: the
caller skips that piece of text rather than guess.

`heuristic.codegen.to_python` turns the same AST into the Python a person would write.
"""

from __future__ import annotations

import re
from typing import Any

Node = tuple  # ("num", "12") ("var", "x") ("neg", a) ("add"|"sub"|"mul"|"div"|"pow"|"binom", a, b) ...

MAX_EXPONENT = 4096  # 2^{4096} is fine; 10^{10^{6}} is not a hand calculation
MAX_FACTORIAL = 500


class MathParseError(ValueError):
    pass


_SKIP = re.compile(r"\s+|\\[,;:! ]|~|\\quad|\\qquad|\\displaystyle|\\(?:big|Big|bigg|Bigg)[lr]?(?=[(\[)\]])")
_NUM = re.compile(r"\d{1,3}(?:(?:\{,\}|,)\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?|\.\d+")
_COMMANDS = {
    r"\times": "*",
    r"\cdot": "*",
    r"\ast": "*",
    r"\div": "/",
    r"\left(": "(",
    r"\right)": ")",
    r"\left[": "[",
    r"\right]": "]",
    r"\left\{": "(",
    r"\right\}": ")",
    r"\{": "(",
    r"\}": ")",
    r"\frac": "frac",
    r"\dfrac": "frac",
    r"\tfrac": "frac",
    r"\sqrt": "sqrt",
    r"\binom": "binom",
    r"\dbinom": "binom",
    r"\tbinom": "binom",
    r"\pi": "pi",
}
_COMMAND_RE = re.compile(
    "|".join(
        re.escape(c) + (r"(?![A-Za-z])" if c[-1].isalpha() else "")
        for c in sorted(_COMMANDS, key=len, reverse=True)
    )
)
_WORD = re.compile(r"[A-Za-z]+")
_SINGLE = {
    "+": "+",
    "-": "-",
    "−": "-",
    "*": "*",
    "×": "*",
    "·": "*",
    "⋅": "*",
    "/": "/",
    "÷": "/",
    "^": "^",
    "!": "!",
    "(": "(",
    ")": ")",
    "[": "[",
    "]": "]",
    "{": "{",
    "}": "}",
}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        m = _SKIP.match(text, i)
        if m and m.end() > i:
            i = m.end()
            continue
        m = _NUM.match(text, i)
        if m:
            tokens.append(("num", m.group(0).replace("{,}", "").replace(",", "")))
            i = m.end()
            continue
        m = _COMMAND_RE.match(text, i)
        if m:
            tokens.append(("op", _COMMANDS[m.group(0)]))
            i = m.end()
            continue
        ch = text[i]
        if ch in _SINGLE:
            tokens.append(("op", _SINGLE[ch]))
            i += 1
            continue
        m = _WORD.match(text, i)
        if m and len(m.group(0)) == 1:
            tokens.append(("var", m.group(0)))
            i = m.end()
            continue
        raise MathParseError(f"cannot read {text[i : i + 12]!r}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise MathParseError(f"expected {value or 'a token'}, got {tok}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise MathParseError("empty expression")
        node = self.expr()
        if self.peek() is not None:
            raise MathParseError(f"unexpected {self.peek()}")
        return node

    def expr(self) -> Node:
        node = self.term()
        while (tok := self.peek()) is not None and tok[1] in ("+", "-"):
            self.i += 1
            node = ("add" if tok[1] == "+" else "sub", node, self.term())
        return node

    def _starts_primary(self, tok: tuple[str, str] | None) -> bool:
        return tok is not None and (
            tok[0] in ("num", "var") or tok[1] in ("(", "[", "frac", "sqrt", "binom", "pi")
        )

    def term(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok is not None and tok[1] in ("*", "/"):
                self.i += 1
                node = ("mul" if tok[1] == "*" else "div", node, self.unary())
            elif self._starts_primary(tok) and not (tok[0] == "num" and self._ends_with_number(node)):
                node = ("mul", node, self.power())  # implicit: 2\sqrt{3}, 3x, (a)(b); never "2 3"
            else:
                return node

    @staticmethod
    def _ends_with_number(node: Node) -> bool:
        while node[0] in ("mul", "pow", "neg", "fact"):
            node = node[-1] if node[0] != "fact" else node[1]
        return node[0] in ("num", "var")

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[1] in ("-", "+"):
            self.i += 1
            inner = self.unary()
            return ("neg", inner) if tok[1] == "-" else inner
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        if (tok := self.peek()) is not None and tok[1] == "^":
            self.i += 1
            nxt = self.peek()
            if nxt is not None and nxt[1] in ("-", "+"):
                return ("pow", base, self.unary())
            return ("pow", base, self.postfix())
        return base

    def postfix(self) -> Node:
        node = self.primary()
        while (tok := self.peek()) is not None and tok[1] == "!":
            self.i += 1
            node = ("fact", node)
        return node

    def group(self) -> Node:
        self.take("{")
        node = self.expr()
        self.take("}")
        return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return ("num", value)
        if kind == "var":
            return ("var", value)
        if value in ("(", "[", "{"):
            node = self.expr()
            self.take({"(": ")", "[": "]", "{": "}"}[value])
            return node
        if value == "frac":
            return ("div", self.group(), self.group())
        if value == "binom":
            return ("binom", self.group(), self.group())
        if value == "sqrt":
            index = None
            if (tok := self.peek()) is not None and tok[1] == "[":
                self.i += 1
                index = self.expr()
                self.take("]")
            return ("root", self.group(), index or ("num", "2"))
        if value == "pi":
            return ("pi",)
        raise MathParseError(f"unexpected {value!r}")


def parse_math(text: str) -> Node:
    return _Parser(tokenize(text)).parse()


def variables(node: Node) -> set[str]:
    if node[0] == "var":
        return {node[1]}
    return set().union(*(variables(c) for c in node[1:] if isinstance(c, tuple))) if len(node) > 1 else set()


def kinds(node: Node) -> set[str]:
    out = {node[0]}
    for child in node[1:]:
        if isinstance(child, tuple):
            out |= kinds(child)
    return out


def operator_count(node: Node) -> int:
    own = 0 if node[0] in ("num", "var", "pi") else 1
    return own + sum(operator_count(c) for c in node[1:] if isinstance(c, tuple))


def is_int_literal(node: Node) -> bool:
    return node[0] == "num" and "." not in node[1]


# ------------------------------------------------------------------------------------------- exact value


def to_sympy(node: Node, symbols: dict[str, Any] | None = None) -> Any:
    import sympy

    def go(n: Node) -> Any:
        op = n[0]
        if op == "num":
            return sympy.Rational(n[1])
        if op == "var":
            if symbols is None or n[1] not in symbols:
                raise MathParseError(f"unexpected variable {n[1]}")
            return symbols[n[1]]
        if op == "pi":
            return sympy.pi
        if op == "neg":
            return -go(n[1])
        if op == "fact":
            arg = go(n[1])
            if not (arg.is_integer and 0 <= arg <= MAX_FACTORIAL):
                raise MathParseError("factorial out of range")
            return sympy.factorial(arg)
        a, b = go(n[1]), go(n[2])
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "div":
            if b == 0:
                raise MathParseError("division by zero")
            return a / b
        if op == "pow":
            if b.is_number and abs(b) > MAX_EXPONENT:
                raise MathParseError("exponent too large")
            return a**b
        if op == "root":
            return sympy.root(a, b) if b != 2 else sympy.sqrt(a)
        if op == "binom":
            return sympy.binomial(a, b)
        raise MathParseError(f"unknown node {op}")

    return go(node)
