"""More ``number_theory`` final checks read off the problem: prime factors, divisor sums, digits, primes in a range,
base conversion. Each asked value is computed in-process first (sympy) and the block is written only when it is the
answer (`problem_checks`).

- ``the largest prime factor of 1001`` / ``the sum of the distinct prime factors of 210`` (`sympy.primefactors`);
- ``the sum of the positive divisors of 500`` (`sympy.divisors`, listed and summed);
- ``the sum of the digits of $2^{10}$`` / ``how many digits does $5^{20}$ have`` (`str` of the exact integer);
- ``how many primes are between 30 and 50`` (`sympy.primerange`, listed and counted);
- ``Express $222_{10}$ in base $5$`` (repeated division, the digits printed): the answer ``1342_5``;
- ``the least positive multiple of 30 written with only the digits 0 and 2`` (the numbers made of those digits
  counted up in order, the first multiple taken).
"""

from __future__ import annotations

import re

from retool_data.heuristic.chains import parse_or_none
from retool_data.heuristic.check_kit import FinalCheck, answer_int, make_check, plain
from retool_data.heuristic.latex_math import MathParseError, operator_count, variables
from retool_data.heuristic.latex_values import to_number

_PRIME_FACTOR = re.compile(
    r"(largest|greatest|smallest|least) prime (?:factor|divisor) of (\d+)|"
    r"sum of (?:all )?(?:the )?(?:distinct )?prime (?:factors|divisors) of (\d+)",
    re.I,
)
_DIVISOR_SUM = re.compile(
    r"sum of (?:all )?(?:of )?(?:the )?(?:positive )?(?:whole[- ]number )?(?:divisors|factors) of (\d+)", re.I
)
_DIGIT_SUM = re.compile(
    r"sum of the digits (?:of|in) (?:the (?:number|integer) )?(.+?)(?:[?.]\s|[?.]?$|,| when| if)", re.I
)
_DIGIT_COUNT = re.compile(
    r"how many digits (?:are in|does) (?:the (?:number|integer|value of) )?(.+?)(?: have)?(?:[?.]\s|[?.]?$|,)",
    re.I,
)
_PRIME_COUNT = re.compile(r"how many prime(?: number)?s? (?:are )?(?:there )?between (\d+) and (\d+)", re.I)
_TO_BASE = re.compile(r"(?:express|convert|write)\s+(\d+)(?:_\{?10\}?)?\s+(?:to|in)\s+base\s+(\d+)", re.I)


_DIGIT_MULTIPLE = re.compile(
    r"(?:least|smallest) positive (?:integer )?multiple of (\d+) (?:that can be written with only the digits|whose "
    r"digits are all) (\d|zero(?:e)?s?|ones?|twos?) and (\d|zero(?:e)?s?|ones?|twos?)",
    re.I,
)
_DIGIT_WORDS = {"zero": 0, "zeroe": 0, "one": 1, "two": 2}


def prime_checks(problem: str, answer: str) -> FinalCheck | None:
    text = plain(problem)
    found = _to_base(text, answer)
    if found is not None:
        return found
    want = answer_int(answer)
    if want is None:
        return None
    found = _digit_multiple(text, want)
    if found is not None:
        return found
    import sympy

    m = _PRIME_FACTOR.search(text)
    if m:
        n = int(m.group(2) or m.group(3))
        ps = sympy.primefactors(n)
        how = ("max" if m.group(1).lower() in ("largest", "greatest") else "min") if m.group(1) else "sum"
        got = {"max": max, "min": min, "sum": sum}[how](ps) if ps else None
        if got != want or n < 100:
            return None
        return make_check(
            "number_theory",
            f"Check: factor {n} and take the {'sum' if how == 'sum' else m.group(1).lower()} of its prime factors.",
            ["from sympy import primefactors", f"p = primefactors({n})", "print(p)", f"print({how}(p))"],
            [ps, want],
            "This matches the answer.",
        )
    m = _DIVISOR_SUM.search(text)
    if m:
        n = int(m.group(1))
        if sum(sympy.divisors(n)) != want or n < 20:
            return None
        return make_check(
            "number_theory",
            f"Check: list the positive divisors of {n} and add them up.",
            ["from sympy import divisors", f"d = divisors({n})", "print(d)", "print(sum(d))"],
            [sympy.divisors(n), want],
            "The sum is the answer.",
        )
    m = _PRIME_COUNT.search(text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        primes = list(sympy.primerange(lo + 1, hi))
        if len(primes) != want or hi - lo < 10:
            return None
        return make_check(
            "number_theory",
            f"Check: list the primes between {lo} and {hi} and count them.",
            [
                "from sympy import primerange",
                f"p = list(primerange({lo + 1}, {hi}))",
                "print(p)",
                "print(len(p))",
            ],
            [primes, want],
            "The count is the answer.",
        )
    for pattern, how in ((_DIGIT_SUM, "sum"), (_DIGIT_COUNT, "count")):
        m = pattern.search(text)
        if not m:
            continue
        expr = m.group(1).strip().rstrip(".,?")
        node = parse_or_none(expr)
        if node is None or variables(node):
            continue
        try:
            value = to_number(node)
        except MathParseError:
            continue
        if getattr(value, "denominator", 0) != 1 or value < 0:
            continue
        digits = str(int(value))
        got = sum(map(int, digits)) if how == "sum" else len(digits)
        if got != want or (operator_count(node) < 1 and len(digits) < 5):
            continue
        from retool_data.heuristic.codegen import to_python

        py = to_python(node)
        if py.mode != "int":
            continue
        show = "sum(int(d) for d in str(n))" if how == "sum" else "len(str(n))"
        return make_check(
            "number_theory",
            f"Check: compute ${expr}$ exactly and {'add up' if how == 'sum' else 'count'} its digits.",
            [*sorted(py.imports), f"n = {py.code}", f"print({show})"],
            [want],
            "This matches the answer.",
        )
    return None


def _digit(word: str) -> int:
    return int(word) if word.isdigit() else _DIGIT_WORDS[word.lower().rstrip("s")]


def _digit_multiple(text: str, want: int) -> FinalCheck | None:
    """``the least positive multiple of 30 written with only the digits 0 and 2``: the numbers made of 0 and d
    counted up in order (d times the binary numerals), the first multiple taken."""
    m = _DIGIT_MULTIPLE.search(text)
    if not m:
        return None
    n, digits = int(m.group(1)), {_digit(m.group(2)), _digit(m.group(3))}
    if 0 not in digits or len(digits) != 2:
        return None
    (d,) = digits - {0}
    k = next((d * int(format(b, "b")) for b in range(1, 1 << 20) if d * int(format(b, "b")) % n == 0), None)
    if k != want:
        return None
    scaled = "" if d == 1 else f"{d} * "
    code = [
        "from itertools import count",
        f'm = next(m for b in count(1) if (m := {scaled}int(format(b, "b"))) % {n} == 0)',
        "print(m)",
    ]
    return make_check(
        "number_theory",
        f"Check: go through the numbers written with the digits 0 and {d} in increasing order and take the first "
        f"multiple of {n}.",
        code,
        [want],
        "This matches the answer.",
    )


def _to_base(text: str, answer: str) -> FinalCheck | None:
    m = _TO_BASE.search(text)
    if not m:
        return None
    n, base = int(m.group(1)), int(m.group(2))
    got = re.fullmatch(r"\s*(\w+?)\s*(?:_\{?\s*(\d+)\s*\}?)?\s*", answer.strip().strip("$"))
    if not got or not 2 <= base <= 16 or (got.group(2) and int(got.group(2)) != base):
        return None
    digits, k = "", n
    while k:
        digits, k = "0123456789ABCDEF"[k % base] + digits, k // base
    if digits != got.group(1).upper() or n < base**2:
        return None
    code = [
        f"n, digits = {n}, ''",
        "while n:",
        f"    digits = '0123456789ABCDEF'[n % {base}] + digits",
        f"    n //= {base}",
        "print(digits)",
    ]
    return make_check(
        "number_theory",
        f"Check: convert {n} to base {base} by repeated division.",
        code,
        [digits],  # a string: compared as printed (base-b digits are not a number to read)
        "This matches the answer.",
    )
