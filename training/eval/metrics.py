"""Evaluation metrics over saved samples: avg@k, pass@k (unbiased), maj@k, and ReTool's behaviour metrics.

For a problem with ``n`` samples of which ``c`` are correct:

* ``avg@n`` = c / n, averaged over problems (the paper's "average over 32 samples"); equals the unbiased pass@1.
* ``pass@k`` = 1 - C(n-c, k) / C(n, k), averaged over problems (Chen et al. 2021, the unbiased estimator of the
  chance that at least one of k samples drawn without replacement is correct); reported for k <= n.
* ``maj@k``: the majority answer of the first k samples (by sample index) is correct. Answers are grouped by
  mathematical equivalence (`is_equivalent`, each answer joins the first group whose representative it equals),
  samples without an answer abstain, ties go to the group that appeared first; the group is correct when its
  representative sample is.

Behaviour metrics are `training.rollout.metrics.behaviour_metrics` (shared with GRPO's logging) over the samples'
rollout summaries, plus ``answered_rate`` (samples with a final answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import Any

from training.rollout.metrics import NAN, behaviour_metrics

Equivalent = Callable[[str, str], bool]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem: 1 - C(n-c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    return 1.0 - comb(n - c, k) / comb(n, k)


def default_ks(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks, k = [], 1
    while k < n:
        ks.append(k)
        k *= 2
    return [*ks, n] if n >= 1 else []


def answer_groups(answers: Sequence[str | None], equivalent: Equivalent | None = None) -> list[int | None]:
    """Group id per sample (None: no answer): sample i joins the first earlier group whose representative
    (its first member) is equivalent, else opens a new one. Ids are numbered in order of first appearance.

    Default equivalence: the same `normalize_answer` spelling, else `are_equivalent` (math-verify) against all
    representatives in one batched call; a spelling seen before reuses its verdict.
    """
    from retool_data.answers import are_equivalent, normalize_answer

    def matches(a: str, reps: list[str]) -> list[bool]:
        if equivalent is not None:
            return [equivalent(a, rep) for rep in reps]
        return are_equivalent([a] * len(reps), reps) if reps else []

    reps: list[str] = []
    by_spelling: dict[str, int] = {}
    out: list[int | None] = []
    for a in answers:
        if a is None:
            out.append(None)
            continue
        key = a if equivalent is not None else normalize_answer(a)
        gid = by_spelling.get(key)
        if gid is None:
            gid = next((g for g, ok in enumerate(matches(a, reps)) if ok), None)
            if gid is None:
                gid = len(reps)
                reps.append(a)
            by_spelling[key] = gid
        out.append(gid)
    return out


def majority_group(groups: Sequence[int | None]) -> int | None:
    """The group with the most votes; ties go to the lowest id (the group seen first); None if nobody answered."""
    counts: dict[int, int] = {}
    for g in groups:
        if g is not None:
            counts[g] = counts.get(g, 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda g: (-counts[g], g))


@dataclass
class ProblemResult:
    """Aggregates of one problem's samples (sorted by sample index)."""

    benchmark: str
    problem_id: str
    gold: str | None
    n: int
    correct: int
    answers: list[str | None] = field(repr=False)
    correct_flags: list[bool] = field(repr=False)
    groups: list[int | None] = field(repr=False)

    def maj_correct(self, k: int) -> bool:
        g = majority_group(self.groups[:k])
        if g is None:
            return False
        first = self.groups.index(g)  # the group's representative sample
        return self.correct_flags[first]

    def majority_answer(self, k: int | None = None) -> str | None:
        g = majority_group(self.groups[: k or self.n])
        return None if g is None else self.answers[self.groups.index(g)]

    def to_dict(self, ks: Sequence[int]) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "problem_id": self.problem_id,
            "gold": self.gold,
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.correct / self.n,
            **{f"pass@{k}": pass_at_k(self.n, self.correct, k) for k in ks if k <= self.n},
            "majority_answer": self.majority_answer(),
            **{f"maj@{k}": self.maj_correct(k) for k in ks if k <= self.n},
            "answers": self.answers,
        }


def problem_results(
    records: Iterable[Mapping[str, Any]], equivalent: Equivalent | None = None
) -> list[ProblemResult]:
    """One `ProblemResult` per (benchmark, problem_id), in first-seen order; samples sorted by index."""
    by_problem: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        by_problem.setdefault((str(r["benchmark"]), str(r["problem_id"])), []).append(r)
    out = []
    for (bench, pid), rows in by_problem.items():
        rows = sorted(rows, key=lambda r: int(r["sample_index"]))
        answers = [r.get("answer") for r in rows]
        flags = [bool(r["correct"]) for r in rows]
        out.append(
            ProblemResult(
                bench,
                pid,
                rows[0].get("gold"),
                len(rows),
                sum(flags),
                answers,
                flags,
                answer_groups(answers, equivalent),
            )
        )
    return out


def summarize(
    problems: Sequence[ProblemResult], summaries: Sequence[Mapping[str, Any]], ks: Sequence[int] | None = None
) -> dict[str, Any]:
    """Metrics of one benchmark: its problems' aggregates and its samples' rollout summaries.

    Accuracy metrics use the first n samples of every problem, n the smallest per-problem count (all of them on
    a finished run; a partial run is scored on equal footing); pass@k and maj@k are reported for every
    requested k <= n (default `default_ks`). Behaviour metrics use every sample.
    """
    if not problems:
        return {"problems": 0, "samples": 0}
    n = min(p.n for p in problems)
    n_max = max(p.n for p in problems)
    ks = sorted({k for k in (ks or default_ks(n)) if 1 <= k <= n} | {n})
    correct = [sum(p.correct_flags[:n]) for p in problems]
    out: dict[str, Any] = {
        "problems": len(problems),
        "samples": sum(p.n for p in problems),
        "samples_per_problem": n if n == n_max else [n, n_max],
        "correct": sum(correct),
        f"avg@{n}": _mean([c / n for c in correct]),
    }
    for k in ks:
        out[f"pass@{k}"] = _mean([pass_at_k(n, c, k) for c in correct])
    for k in ks:
        out[f"maj@{k}"] = _mean([1.0 if p.maj_correct(k) else 0.0 for p in problems])
    out["answered_rate"] = _mean([1.0 if s.get("answer") is not None else 0.0 for s in summaries])
    out.update(behaviour_metrics(summaries))
    return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else NAN


def avg_key(metrics: Mapping[str, Any]) -> str | None:
    """The ``avg@n`` key of a benchmark's metrics (n differs between runs)."""
    return next((k for k in metrics if k.startswith("avg@")), None)
