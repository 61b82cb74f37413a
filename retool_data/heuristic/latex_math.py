"""A small parser for the arithmetic R1 writes (LaTeX or plain text) into an AST.

Covers what hand calculations in math reasoning are made of: integers and decimals (``1{,}024``, ``1,024``,
``4.5e33``, ``8.\\overline{4}``), ``+ - * / ^ ! \\%``, ``\\times \\cdot \\div × ·``, ``\\frac{}{}`` (``\\frac12``),
``\\sqrt{}``, ``\\sqrt[n]{}``, ``\\binom{}{}``, ``\\pi``, parentheses (``\\left( \\right)``), ``|x|``,
``\\lfloor \\rfloor``, ``\\lceil \\rceil``, functions (``\\sin``, ``\\log_2``, ``\\ln``, ``\\sin^{-1}``, degrees
``30^\\circ``), base-``b`` numerals (``58_9``), implicit multiplication (``2\\sqrt{3}``, ``3x``) and single-letter
variables (for equations). Anything else (words, ``\\text``, ``\\cdots``, ``\\pmod``) is a `MathParseError`: the
caller skips that piece of text rather than guess.

`heuristic.latex_values` gives a tree's exact value (sympy) or a quick one (fractions); `heuristic.codegen.to_python`
turns it into the Python a person would write.
"""

from __future__ import annotations

import re
from functools import lru_cache

Node = tuple  # ("num", "12") ("var", "x") ("neg", a) ("add"|"sub"|"mul"|"div"|"pow"|"binom", a, b) ...

MAX_EXPONENT = 4096  # 2^{4096} is fine; 10^{10^{6}} is not a hand calculation
MAX_FACTORIAL = 500
FUNCTIONS = ("sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "log", "ln", "exp")
_INVERSE = {"sin": "arcsin", "cos": "arccos", "tan": "arctan"}


class MathParseError(ValueError):
    pass


_SKIP = re.compile(r"\s+|\\[,;:! ]|~|\\quad|\\qquad|\\displaystyle|\\(?:big|Big|bigg|Bigg)[lr]?(?=[(\[)\]|])")
_NUM = re.compile(
    r"\d{1,3}(?:(?:\{,\}|,)\d{3})+(?:\.\d+)?(?![\d,])"
    r"|(?P<rep>\d*\.\d*)\\overline\{(?P<rd>\d+)\}"
    r"|\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.])"
    r"|\d+(?:\.\d+)?|\.\d+"
)
_BASE = re.compile(r"_\{?(\d{1,2})\}?")  # 58_9, 204_{5}
_LOG_BASE = re.compile(r"\s*_\s*\{?\s*(\d+)\s*\}?")
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
    r"\left|": "|",
    r"\right|": "|",
    r"\lvert": "|",
    r"\rvert": "|",
    r"\{": "(",
    r"\}": ")",
    r"\lfloor": "floor",
    r"\rfloor": "rfloor",
    r"\lceil": "ceil",
    r"\rceil": "rceil",
    r"\left\lfloor": "floor",
    r"\right\rfloor": "rfloor",
    r"\left\lceil": "ceil",
    r"\right\rceil": "rceil",
    r"\frac": "frac",
    r"\dfrac": "frac",
    r"\tfrac": "frac",
    r"\sqrt": "sqrt",
    r"\binom": "binom",
    r"\dbinom": "binom",
    r"\tbinom": "binom",
    r"\pi": "pi",
    r"\circ": "circ",
    r"\%": "%",
    **{f"\\{name}": f"fn:{name}" for name in FUNCTIONS},
}
_COMMAND_RE = re.compile(
    "|".join(
        re.escape(c) + (r"(?![A-Za-z])" if c[-1].isalpha() else "")
        for c in sorted(_COMMANDS, key=len, reverse=True)
    )
)
_WORD = re.compile(r"[A-Za-z]+")
_COMPLEX = re.compile(r"\di(?![A-Za-z])|(?<![A-Za-z\\])i\s*\^\s*\{?\s*2")
# short words that are English, not a product of variables ("is 12" is not i*s*12)
_WORDS = frozenset(
    {"is", "so", "of", "to", "in", "on", "at", "be", "we", "if", "it", "as", "an", "or", "by", "no", "and", "the",
     "for", "are", "its", "has", "can", "all", "one", "two", "let", "but", "not", "was", "get", "use", "our", "see",
     "now", "new", "per", "sum", "max", "min", "mod", "gcd", "lcm", "deg", "cis", "arg", "det", "dim", "ker", "sec",
     "csc", "cot", "cos", "sin", "tan", "log", "exp", "then", "thus"}
)  # fmt: skip
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
    "|": "|",
    "°": "circ",
}


def _number_token(m: re.Match[str]) -> tuple[str, str]:
    if m.group("rep") is not None:  # 8.\overline{4}: exact, as p/q
        from fractions import Fraction

        whole, _, frac = m.group("rep").partition(".")
        rep = m.group("rd")
        value = Fraction(int(whole or 0)) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
        value += Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(frac))
        return ("rat", f"{value.numerator}/{value.denominator}")
    return ("num", m.group(0).replace("{,}", "").replace(",", ""))


def tokenize(text: str) -> list[tuple[str, str]]:
    return _scan(text, None)


@lru_cache(maxsize=1 << 14)
def unreadable_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Where `tokenize` would fail in ``text`` (a word, an unknown symbol), scanning on past each: a piece of text
    that contains one of these spans is not math, whatever its other pieces (readers skip such pieces unparsed)."""
    spans: list[tuple[int, int]] = []
    _scan(text, spans)
    # `parse_math` reads {n \choose k}: the command is not a word that stops the math
    return tuple(s for s in spans if not text.startswith("\\choose", s[0] - 1 if text[s[0]] == "c" else s[0]))


def _scan(text: str, unreadable: list[tuple[int, int]] | None) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    complex_context = _COMPLEX.search(text) is not None  # "2 + 3i", "i^2": i is the imaginary unit here
    i = 0
    while i < len(text):
        m = _SKIP.match(text, i)
        if m and m.end() > i:
            i = m.end()
            continue
        m = _NUM.match(text, i)
        if m:
            tok = _number_token(m)
            i = m.end()
            base = _BASE.match(text, i)
            if base and tok[0] == "num" and tok[1].isdigit() and 2 <= int(base.group(1)) <= 36:
                digits, b = tok[1], int(base.group(1))
                if all(int(d) < b for d in digits):
                    tok = ("base", f"{digits}_{b}")
                    i = base.end()
            tokens.append(tok)
            continue
        m = _COMMAND_RE.match(text, i)
        if m:
            op = _COMMANDS[m.group(0)]
            i = m.end()
            base = _LOG_BASE.match(text, i) if op == "fn:log" else None
            if base:  # \log_2 8, \log_{10} x
                op, i = f"fn:log:{base.group(1)}", base.end()
            tokens.append(("op", op))
            continue
        ch = text[i]
        if ch in _SINGLE:
            tokens.append(("op", _SINGLE[ch]))
            i += 1
            continue
        m = _WORD.match(text, i)
        if m and (len(m.group(0)) == 1 or (len(m.group(0)) <= 3 and m.group(0).lower() not in _WORDS)):
            tokens += [("imag", ch) if ch == "i" and complex_context else ("var", ch) for ch in m.group(0)]
            i = m.end()
            continue
        if unreadable is None:
            raise MathParseError(f"cannot read {text[i : i + 12]!r}")
        end = m.end() if m else i + 1
        unreadable.append((i, end))
        i = end
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.abs_depth = 0

    def peek(self, ahead: int = 0) -> tuple[str, str] | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

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
        return _plain_degrees(node)

    def expr(self) -> Node:
        node = self.term()
        while (tok := self.peek()) is not None and tok[1] in ("+", "-"):
            self.i += 1
            node = ("add" if tok[1] == "+" else "sub", node, self.term())
        return node

    def _starts_primary(self, tok: tuple[str, str] | None) -> bool:
        if tok is None:
            return False
        if tok[1] == "|":
            return self.abs_depth == 0  # inside |...| a bar closes, it does not open
        return tok[0] in ("num", "var", "rat", "base", "imag") or tok[1] in (
            "(", "[", "frac", "sqrt", "binom", "pi", "floor", "ceil",
        ) or tok[1].startswith("fn:")  # fmt: skip

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
        while node[0] in ("mul", "pow", "neg", "fact", "deg"):
            node = node[-1] if node[0] not in ("fact", "deg") else node[1]
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
            if nxt is not None and nxt[1] == "circ":
                self.i += 1
                return self._after_degree(("deg", base))
            if (
                nxt is not None
                and nxt[1] == "{"
                and self.peek(1) == ("op", "circ")
                and self.peek(2) == ("op", "}")
            ):
                self.i += 3
                return self._after_degree(("deg", base))
            if nxt is not None and nxt[1] in ("-", "+"):
                return ("pow", base, self.unary())
            return ("pow", base, self.postfix())
        return base

    def _after_degree(self, node: Node) -> Node:
        if (tok := self.peek()) is not None and tok[1] == "circ":  # "30°" written twice: never
            raise MathParseError("double degree sign")
        return node

    def postfix(self) -> Node:
        node = self.primary()
        while (tok := self.peek()) is not None and tok[1] in ("!", "%", "circ"):
            self.i += 1
            if tok[1] == "!":
                node = ("fact", node)
            elif tok[1] == "%":
                node = ("div", node, ("num", "100"))
            else:
                node = ("deg", node)
        return node

    def group(self) -> Node:
        tok = self.peek()
        if tok is not None and tok[0] == "num" and tok[1].isdigit():  # \frac12: one-digit arguments, unbraced
            self.i += 1
            if len(tok[1]) > 1:
                self.toks[self.i - 1 : self.i] = [("num", tok[1][0]), ("num", tok[1][1:])]
                return ("num", tok[1][0])
            return ("num", tok[1])
        if tok is not None and tok[0] == "var":
            self.i += 1
            return ("var", tok[1])
        self.take("{")
        node = self.expr()
        self.take("}")
        return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "imag":
            return ("imag",)
        if kind in ("num", "var", "rat", "base"):
            if kind == "rat":
                p, q = value.split("/")
                return ("div", ("num", p), ("num", q))
            return (kind, value)
        if value in ("(", "[", "{"):
            node = self.expr()
            self.take({"(": ")", "[": "]", "{": "}"}[value])
            return node
        if value == "|":
            self.abs_depth += 1
            node = self.expr()
            self.abs_depth -= 1
            self.take("|")
            return ("abs", node)
        if value in ("floor", "ceil"):
            node = self.expr()
            self.take("r" + value)
            return (value, node)
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
        if value.startswith("fn:"):
            return self.function(value[3:])
        raise MathParseError(f"unexpected {value!r}")

    def function(self, name: str) -> Node:
        """``\\sin x``, ``\\sin^2 x``, ``\\sin^{-1}(x)``, ``\\log_2 8``, ``\\log_{10}(x)``."""
        power: Node | None = None
        base: Node | None = None
        if name.startswith("log:"):
            name, base = "log", ("num", name[4:])
        if (tok := self.peek()) is not None and tok[1] == "^":
            self.i += 1
            power = self.postfix() if (self.peek() or ("", ""))[1] not in ("-",) else self.unary()
            if power == ("neg", ("num", "1")) and name in _INVERSE:
                name, power = _INVERSE[name], None
        arg = self.power()
        if arg[0] == "deg" and name in ("sin", "cos", "tan", "cot", "sec", "csc"):
            arg = ("mul", arg[1], ("div", ("pi",), ("num", "180")))
        node: Node = ("fn", name, arg) if base is None else ("fn", name, arg, base)
        return ("pow", node, power) if power is not None else node


_CHOOSE = re.compile(r"\{\s*([^{}]+?)\s*\\choose\s*([^{}]+?)\s*\}")


def parse_math(text: str) -> Node:
    if "choose" in text:  # {8 \choose 2}: the plain-TeX spelling of \binom{8}{2}
        text = _CHOOSE.sub(r"\\binom{\1}{\2}", text)
    return _Parser(tokenize(text)).parse()


def _plain_degrees(node: Node) -> Node:
    """Degrees outside a trig function are plain numbers (``90^\\circ`` states 90)."""
    if node[0] == "deg":
        return _plain_degrees(node[1])
    if node[0] in ("num", "var", "pi", "base", "imag"):
        return node
    if node[0] == "fn":
        return (node[0], node[1], *(_plain_degrees(c) for c in node[2:]))
    return (node[0], *(_plain_degrees(c) if isinstance(c, tuple) else c for c in node[1:]))


def variables(node: Node) -> set[str]:
    if node[0] == "var":
        return {node[1]}
    start = 2 if node[0] == "fn" else 1
    return (
        set().union(*(variables(c) for c in node[start:] if isinstance(c, tuple)))
        if len(node) > start
        else set()
    )


def kinds(node: Node) -> set[str]:
    out = {node[0]}
    for child in node[1:]:
        if isinstance(child, tuple):
            out |= kinds(child)
    return out


def operator_count(node: Node) -> int:
    own = 0 if node[0] in ("num", "var", "pi", "base", "imag") else 1
    return own + sum(operator_count(c) for c in node[1:] if isinstance(c, tuple))


def is_int_literal(node: Node) -> bool:
    return node[0] == "num" and "." not in node[1] and "e" not in node[1].lower()
