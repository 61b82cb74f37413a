"""Final-answer extraction and equivalence.

`extract_answer` returns the content of the last ``\\boxed{}`` (``\\fbox``, ``\\framebox``, ``\\boxed 5``),
braces balanced, else the content of the last ``<answer>``. `is_equivalent(pred, gold)` decides whether two
final answers are the same: cheap exact checks first (normalized strings, plain numbers), then math-verify
(gold first) in worker processes with a per-comparison deadline, so it is safe in any thread, under asyncio
and in Dagster executors, and never raises on junk input. See docs/answers.md.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Self

from retool_data._math_verify_pool import MathVerifyPool, WorkerError
from retool_data.boxed import extract_answer, find_boxed, group_end, unwrap_box

__all__ = [
    "AnswerChecker",
    "WorkerError",
    "are_equivalent",
    "default_checker",
    "extract_answer",
    "find_boxed",
    "is_equivalent",
    "normalize_answer",
]

MAX_ANSWER_CHARS = 1000  # longer "answers" are not final answers: compared as normalized strings only
_MAX_NORMALIZE_CHARS = 20 * MAX_ANSWER_CHARS
# ------------------------------------------------------------------------------------------ normalization

_UNICODE = str.maketrans(
    {"\u2212": "-", "\u00d7": r"\times ", "\u00f7": r"\div ", "\u03c0": r"\pi ", "\u221e": r"\infty ",
     "\u2264": r"\le ", "\u2265": r"\ge ", "\u00b0": r"^\circ ", "\u00a0": " "}
)  # fmt: skip
_DELIMS_RE = re.compile(r"\\\$|\$|\\\(|\\\)|\\\[|\\\]")
_DIGIT_GROUP_RE = re.compile(r"(?<=\d)(?:\{,\}|\\[,;: !]|~)(?=\d{3}(?!\d))")  # 1{,}000, 12\,345
_TRAILING_DOT_RE = re.compile(r"(?<!\\)[.\s]+$")  # "104." (but not a control symbol like "\.")
_LEFT_RIGHT_RE = re.compile(r"\\(?:left|right)(?![A-Za-z])\.?|\\(?:[bB]igg?|middle)(?![A-Za-z])")
_SPACING_RE = re.compile(r"\\[,;:! ]|~|\\q?quad(?![A-Za-z])|\\displaystyle(?![A-Za-z])")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\degree(?![A-Za-z])")
_TEXT_CMD_RE = re.compile(
    r"\\(?:text|textbf|textit|textrm|mathrm|mathbf|mathit|mathsf|mbox|boldsymbol|operatorname)\s*\{"
)
_MEMBERSHIP_RE = re.compile(r"^[A-Za-z]\\in(?![A-Za-z])")  # "x \in (1,2]" is the set (1,2]
_ONE_CHAR_SCRIPT_RE = re.compile(r"([\^_])\{(\w)\}")  # x^{2} -> x^2
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_FRACTION_RE = re.compile(r"([+-]?)(?:\\frac\{([+-]?\d+)\}\{(\d+)\}|\\frac(\d)(\d)|(\d+)/(\d+))")
# One-variable inequalities, read as intervals: math-verify matches a gold inequality with a predicted interval
# but not the other way round, so both sides are rewritten to intervals first.
_REL = r"(<|>|\\lt|\\gt|\\le(?:q|qslant)?|\\ge(?:q|qslant)?)"
_BOUND = r"([^<>=\\]*(?:\\(?!l[te]|g[te])[A-Za-z]+[^<>=\\]*)*?)"
_VAR_REL_BOUND_RE = re.compile(rf"^\s*[A-Za-z]\s*{_REL}\s*{_BOUND}\s*$")
_BOUND_REL_VAR_RE = re.compile(rf"^\s*{_BOUND}\s*{_REL}\s*[A-Za-z]\s*$")
_DOUBLE_RE = re.compile(rf"^\s*{_BOUND}\s*{_REL}\s*[A-Za-z]\s*{_REL}\s*{_BOUND}\s*$")


def _rel(op: str) -> tuple[str, bool]:
    """("<" or ">", inclusive) for a relation token."""
    less = op in ("<", "\\lt") or op.startswith("\\le")
    return ("<" if less else ">"), op not in ("<", ">", "\\lt", "\\gt")


def _inequality_as_interval(s: str) -> str:
    """``x > 4`` -> ``(4,\\infty)``, ``-2 \\le x < 3`` -> ``[-2,3)``; anything else unchanged."""
    if m := _DOUBLE_RE.match(s):
        lo, op1, op2, hi = m.group(1).strip(), *_rel_pair(m.group(2), m.group(3)), m.group(4).strip()
        if op1 is None or not lo or not hi:
            return s
        if op1[0] == ">":  # 3 > x > -2 reads as -2 < x < 3
            lo, hi, op1, op2 = hi, lo, op2, op1
        return f"{'[' if op1[1] else '('}{lo},{hi}{']' if op2[1] else ')'}"
    for regex, var_first in ((_VAR_REL_BOUND_RE, True), (_BOUND_REL_VAR_RE, False)):
        if (m := regex.match(s)) is None:
            continue
        op, bound = (m.group(1), m.group(2)) if var_first else (m.group(2), m.group(1))
        bound = bound.strip()
        if not bound:
            return s
        direction, inclusive = _rel(op)
        if not var_first:  # 4 < x is x > 4
            direction = ">" if direction == "<" else "<"
        if direction == ">":
            return f"{'[' if inclusive else '('}{bound},\\infty)"
        return f"(-\\infty,{bound}{']' if inclusive else ')'}"
    return s


def _rel_pair(a: str, b: str) -> tuple[tuple[str, bool] | None, tuple[str, bool]]:
    ra, rb = _rel(a), _rel(b)
    return (ra if ra[0] == rb[0] else None), rb


def _clean(s: str) -> str:
    """Meaning-preserving cleanup shared by both paths: math delimiters, whole-answer boxes, digit groups,
    one-variable inequalities as intervals."""
    s = _DELIMS_RE.sub(" ", s.translate(_UNICODE))
    s = _DIGIT_GROUP_RE.sub("", unwrap_box(s))
    s = _TRAILING_DOT_RE.sub("", s).strip()
    return _inequality_as_interval(s) if ("<" in s or ">" in s or "\\l" in s or "\\g" in s) else s


def _unwrap_text_commands(s: str) -> str:
    """``\\text{ cm}`` -> `` cm``: drop text/font wrappers, keep their content."""
    while m := _TEXT_CMD_RE.search(s):
        end = group_end(s, m.end() - 1)
        if end is None:
            return s[: m.start()] + s[m.end() :]
        s = s[: m.start()] + s[m.end() : end] + s[end + 1 :]
    return s


def normalize_answer(answer: str | None) -> str:
    """A canonical spelling for exact comparison and grouping (majority votes, dedup); "" for junk.

    Drops what does not change the value: math delimiters, whole-answer boxes, ``\\left``/``\\right``,
    spacing, ``\\dfrac``/``\\tfrac``, degree signs, text/font wrappers, digit-group separators, whitespace,
    a trailing period, redundant outer braces, parentheses around a lone number, a leading ``x \\in``,
    and braces around one-character super/subscripts. Two answers with the same canonical form are equivalent;
    the converse needs `is_equivalent`.
    """
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str):
        return ""
    if len(answer) > _MAX_NORMALIZE_CHARS:  # not an answer; keeps junk from costing quadratic time below
        return "".join(answer.split())
    return _canonical(answer)


@lru_cache(maxsize=1 << 16)  # gold answers repeat across a GRPO group, common predictions across rows
def _canonical(answer: str) -> str:
    s = _clean(answer)
    s = _LEFT_RIGHT_RE.sub("", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _DEGREE_RE.sub("", _SPACING_RE.sub("", s))
    s = _unwrap_text_commands(s).replace("\\%", "%")
    thousands = _THOUSANDS_RE.fullmatch(s.strip())  # "1,234" is a number, "1, 234" a list
    s = "".join(s.split())
    s = s.replace(",", "") if thousands else _ONE_CHAR_SCRIPT_RE.sub(r"\1\2", _MEMBERSHIP_RE.sub("", s))
    s = s.rstrip(".")
    while s.startswith("{") and group_end(s, 0) == len(s) - 1:
        s = s[1:-1]
    if s.startswith("(") and s.endswith(")") and _as_numbers(s[1:-1]):
        s = s[1:-1]  # "(073)", AoPS's \textbf{(073)}: a parenthesized number is the number
    return s


def _as_numbers(canonical: str) -> list[Fraction] | None:
    """Exact values of a plain number (``-12``, ``0.5``, ``3/4``, ``\\frac{3}{4}``); ``p%`` may mean p or p/100."""
    pct = canonical.endswith("%")
    core = canonical[:-1] if pct else canonical
    if len(core) > 60:
        return None
    try:
        if _DECIMAL_RE.fullmatch(core):
            value = Fraction(core)
        elif m := _FRACTION_RE.fullmatch(core):
            num, den = (int(g) for g in m.groups()[1:] if g is not None)
            value = Fraction(-num if m.group(1) == "-" else num, den)
        else:
            return None
    except (ValueError, ZeroDivisionError):
        return None
    return [value, value / 100] if pct else [value]


def _exact_at_6_decimals(values: list[Fraction]) -> bool:
    # math-verify rounds floats to 6 decimals, so only values exact at that precision can be told apart
    # here (0.333333 vs 1/3 is its call)
    return all(10**6 % x.denominator == 0 for x in values)


def _as_number_list(canonical: str) -> tuple[str, list[Fraction]] | None:
    """``\\{1,2\\}`` / ``(1,2]`` / ``1, 2``: the bracket kind and the values, when every item is a plain number."""
    if canonical.startswith("\\{") and canonical.endswith("\\}"):
        kind, inner = "set", canonical[2:-2]
    elif canonical[:1] in "([" and canonical[-1:] in ")]":
        kind, inner = canonical[0] + canonical[-1], canonical[1:-1]
    else:
        kind, inner = "bare", canonical
    items = inner.split(",")
    values = [_as_numbers(item) if not item.endswith("%") else None for item in items]
    if len(items) < 2 or not all(values):
        return None
    return kind, [v[0] for v in values]


def _quick_verdict(pred: str, gold: str, max_chars: int) -> bool | None:
    """True/False when cheap exact checks decide, None when math-verify has to."""
    p, g = normalize_answer(pred), normalize_answer(gold)
    if not p or not g:
        return False
    if p == g:
        return True
    p_nums, g_nums = _as_numbers(p), _as_numbers(g)
    if p_nums and g_nums:
        if any(x == y for x in p_nums for y in g_nums):
            return True
        return False if _exact_at_6_decimals(p_nums + g_nums) else None
    p_list, g_list = _as_number_list(p), _as_number_list(g)
    if p_list and g_list and _exact_at_6_decimals(p_list[1] + g_list[1]):
        (p_kind, p_values), (g_kind, g_values) = p_list, g_list
        if p_kind == g_kind:  # a set, a bare list (math-verify reads it as a set), or one bracket pair
            return set(p_values) == set(g_values) if p_kind in ("set", "bare") else p_values == g_values
        if "set" not in (p_kind, g_kind) and "bare" not in (p_kind, g_kind):
            return False  # (1,2] vs [1,2]: intervals (or tuples) with different brackets
    if len(p) > max_chars or len(g) > max_chars:
        return False
    return None


# ------------------------------------------------------------------------------------------- equivalence


class AnswerChecker:
    """Answer equivalence with its own math-verify worker pool and verdict cache; share one per process.

    ``workers``: math-verify worker processes (started on demand; a batch is split across them).
    ``deadline_s``: per comparison; past it the pair is not equivalent and its worker is replaced.
    ``memory_mb``: address-space limit of each worker (None: unlimited).
    ``cache_size``: verdicts kept (LRU) for pairs that needed math-verify.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        deadline_s: float = 5.0,
        memory_mb: int | None = 2048,
        cache_size: int = 65_536,
        max_answer_chars: int = MAX_ANSWER_CHARS,
    ) -> None:
        if workers < 1 or deadline_s <= 0:
            raise ValueError("workers must be >= 1 and deadline_s > 0")
        self._pool_args = {"max_workers": workers, "deadline_s": deadline_s, "memory_mb": memory_mb}
        self.cache_size = cache_size
        self.max_answer_chars = max_answer_chars
        self._after_fork()
        _CHECKERS.add(self)

    def _after_fork(self) -> None:
        # a forked child gets fresh locks (one may have been held by another thread) and starts its own
        # workers; the parent's pool is left alone (MathVerifyPool checks the pid before touching them)
        old_pool = getattr(self, "_pool", None)
        if old_pool is not None and old_pool.pid != os.getpid():
            old_pool.abandon()
        self._lock = threading.Lock()
        self._pool: MathVerifyPool | None = None
        self._cache: OrderedDict[tuple[str, str], bool] = getattr(self, "_cache", OrderedDict())
        self._counts = dict.fromkeys(("pairs", "quick", "cached", "math_verify"), 0)  # rows decided each way

    @property
    def stats(self) -> dict[str, int]:
        """Rows seen (``pairs``) and how they were decided (``quick`` paths, ``cached`` verdicts,
        ``math_verify``), plus the pool's distinct comparisons (``compared``), ``timeouts``, ``crashes``
        and ``workers_started``."""
        with self._lock:
            pool_stats = dict(self._pool.stats) if self._pool else {}
            return {**self._counts, **pool_stats}

    def is_equivalent(self, pred: str | None, gold: str | None) -> bool:
        """Whether the predicted final answer equals the gold one. Never raises on junk input."""
        return self.are_equivalent([pred], [gold])[0]

    def are_equivalent(self, preds: Sequence[str | None], golds: Sequence[str | None]) -> list[bool]:
        """`is_equivalent` for each (pred, gold) pair; faster than a loop (one round trip per chunk)."""
        if len(preds) != len(golds):
            raise ValueError(f"{len(preds)} predictions but {len(golds)} gold answers")
        verdicts: list[bool | None] = []
        pending: dict[tuple[str, str], list[int]] = {}
        quick = cached = 0
        for i, (pred, gold) in enumerate(zip(preds, golds, strict=True)):
            verdict = self._quick(pred, gold)
            if verdict is None:
                # math-verify: gold first, both in math mode
                key = (f"${_clean(str(gold))}$", f"${_clean(str(pred))}$")
                with self._lock:
                    verdict = self._cache.get(key)
                    if verdict is not None:
                        self._cache.move_to_end(key)
                        cached += 1
                if verdict is None:
                    pending.setdefault(key, []).append(i)
            else:
                quick += 1
            verdicts.append(verdict)
        if pending:
            keys = list(pending)
            for key, ok in zip(keys, self._get_pool().verify_many(keys), strict=True):
                for i in pending[key]:
                    verdicts[i] = ok
                self._remember(key, ok)
        with self._lock:
            self._counts["pairs"] += len(verdicts)
            self._counts["quick"] += quick
            self._counts["cached"] += cached
            self._counts["math_verify"] += sum(map(len, pending.values()))
        return [bool(v) for v in verdicts]

    def _quick(self, pred: object, gold: object) -> bool | None:
        for value in (pred, gold):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                return False
        return _quick_verdict(str(pred), str(gold), self.max_answer_chars)

    def _remember(self, key: tuple[str, str], ok: bool) -> None:
        with self._lock:
            self._cache[key] = ok
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _get_pool(self) -> MathVerifyPool:
        with self._lock:
            if self._pool is None or self._pool.pid != os.getpid():
                self._pool = MathVerifyPool(**self._pool_args)
            return self._pool

    def close(self) -> None:
        """Stop the worker processes (a later call starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_CHECKERS: weakref.WeakSet[AnswerChecker] = weakref.WeakSet()
_default: AnswerChecker | None = None
_default_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for checker in list(_CHECKERS):
        checker._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


def default_checker() -> AnswerChecker:
    """The process-wide checker behind `is_equivalent` (up to min(4, cpu count) workers)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = AnswerChecker(workers=max(1, min(4, os.cpu_count() or 1)))
            atexit.register(_default.close)
        return _default


def is_equivalent(pred: str | None, gold: str | None) -> bool:
    """Whether ``pred`` is the same final answer as ``gold`` (math-verify, gold first). Never raises."""
    return default_checker().is_equivalent(pred, gold)


def are_equivalent(preds: Sequence[str | None], golds: Sequence[str | None]) -> list[bool]:
    """`is_equivalent` over pairs, batched across the default checker's workers."""
    return default_checker().are_equivalent(preds, golds)
