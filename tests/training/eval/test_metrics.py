"""Evaluation metrics and the sample store, without a model: pass@k against brute force, majority voting over
equivalent answers, partial runs, and a sample file cut by a kill."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest

from training.eval.metrics import (
    answer_groups,
    default_ks,
    majority_group,
    pass_at_k,
    problem_results,
    summarize,
)
from training.eval.store import SampleStore, read_samples


def brute_force_pass_at_k(flags: list[bool], k: int) -> float:
    """Share of the k-subsets of the samples that hold at least one correct sample (what pass@k estimates)."""
    subsets = list(itertools.combinations(flags, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (4, 1), (5, 2), (8, 3), (8, 8), (10, 0), (10, 9)])
def test_pass_at_k_equals_the_share_of_k_subsets_with_a_correct_sample(n: int, c: int) -> None:
    flags = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        assert pass_at_k(n, c, k) == pytest.approx(brute_force_pass_at_k(flags, k))


def test_pass_at_k_is_not_the_naive_estimates() -> None:
    # n=4, c=1: unbiased pass@2 = 1 - C(3,2)/C(4,2) = 1/2; "1 - (1 - c/n)^k" gives 7/16; "first 2 samples" 0 or 1
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)
    assert pytest.approx(7 / 16) == 1 - (1 - 1 / 4) ** 2
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)  # pass@1 is the plain accuracy
    assert pass_at_k(32, 31, 2) == 1.0  # every pair holds a correct sample
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_default_ks() -> None:
    assert default_ks(32) == [1, 2, 4, 8, 16, 32]
    assert default_ks(5) == [1, 2, 4, 5]
    assert default_ks(1) == [1]


def test_majority_groups_equivalent_answers_and_breaks_ties_by_first_seen() -> None:
    answers = ["7", "12", "12.0", None, "\\frac{24}{2}", "13"]
    groups = answer_groups(answers)
    assert groups == [0, 1, 1, None, 1, 2]  # 12, 12.0 and 24/2 are one answer; no answer abstains
    assert majority_group(groups) == 1
    assert majority_group(groups[:2]) == 0  # 7 and 12 tie: the first one seen wins
    assert majority_group([None, None]) is None
    # with string equality instead, 12 and 12.0 would split and 7 would win the tie
    assert majority_group(answer_groups(answers[:3], equivalent=lambda a, b: a == b)) == 0


def record(pid: str, i: int, answer: str | None, correct: bool, **extra) -> dict:
    base = {"benchmark": "b", "problem_id": pid, "sample_index": i, "gold": "12", "answer": answer,
            "correct": correct, "num_tool_calls": 1, "code_errors": 0, "completion_tokens": 10, "model_tokens": 8,
            "first_call_position": 4, "first_call_ratio": 0.4, "end": "eos"}  # fmt: skip
    return {**base, **extra}


def test_summarize_by_hand() -> None:
    recs = [
        record("p", 0, "7", False, num_tool_calls=2, code_errors=1),
        record("p", 1, "12", True),
        record("p", 2, "12.0", True, end="length"),
        record("q", 1, None, False, num_tool_calls=0, first_call_position=None, first_call_ratio=None),
        record("q", 0, "12", True),  # out of order on purpose: samples are sorted by index
        record("q", 2, None, False, num_tool_calls=0, first_call_position=None, first_call_ratio=None),
    ]
    problems = problem_results(recs)
    assert [(p.problem_id, p.n, p.correct) for p in problems] == [("p", 3, 2), ("q", 3, 1)]
    m = summarize(problems, recs, ks=[1, 2])
    assert m["avg@3"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["pass@2"] == pytest.approx(
        (1 + (1 - 1 / 3)) / 2
    )  # p: 1 - C(1,2)/C(3,2) = 1; q: 1 - C(2,2)/C(3,2)
    assert m["pass@3"] == 1.0
    assert m["maj@1"] == pytest.approx(0.5)  # p: "7" wrong; q: "12" right
    assert m["maj@3"] == 1.0  # p: 12 and 12.0 outvote 7; q: "12" alone
    assert m["code_ratio"] == pytest.approx(4 / 6) and m["tool_calls"] == pytest.approx(5 / 6)
    assert m["code_success_rate"] == pytest.approx(4 / 5)
    assert m["truncation_rate"] == pytest.approx(1 / 6) and m["answered_rate"] == pytest.approx(4 / 6)


def test_summarize_a_partial_run_scores_the_first_n_samples_of_every_problem() -> None:
    recs = [record("p", 0, "3", False), record("p", 1, "12", True), record("q", 0, "12", True)]
    m = summarize(problem_results(recs), recs)
    assert m["samples_per_problem"] == [1, 2] and m["avg@1"] == pytest.approx(0.5)  # p's sample 1 waits
    assert "pass@2" not in m and m["samples"] == 3 and m["tool_calls"] == 1.0


def test_store_drops_a_torn_last_line_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    full = [record("p", 0, "1", False), record("p", 1, "12", True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in full) + json.dumps(record("p", 2, "x", False))[:40])
    assert [r["sample_index"] for r in read_samples(path)] == [0, 1]  # the cut line is not a record
    with SampleStore(path) as store:
        assert store.done == {("b", "p", 0), ("b", "p", 1)}
        store.append(record("p", 2, "12", True))
        with pytest.raises(ValueError, match="already saved"):
            store.append(record("p", 0, "1", False))
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line) for line in lines)
    assert SampleStore(path).records()[2]["answer"] == "12"


def test_store_keeps_the_first_of_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "samples.jsonl"
    rows = [record("p", 0, "first", False), record("p", 0, "second", True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store = SampleStore(path)
    assert len(store) == 1 and store.records()[0]["answer"] == "first"


def test_nan_rates_are_nan_without_a_denominator() -> None:
    recs = [record("p", 0, "1", False, num_tool_calls=0, first_call_position=None, first_call_ratio=None)]
    m = summarize(problem_results(recs), recs)
    assert math.isnan(m["code_success_rate"]) and math.isnan(m["first_call_position"])
