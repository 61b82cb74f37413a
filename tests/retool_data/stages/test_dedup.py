"""Dedup: exact and near-duplicates, the keep-best rule, and multi-part problems that are not duplicates."""

from __future__ import annotations

import random

from retool_data.stages.dedup import STAGE, dedup
from tests.retool_data.frames import frame, row, simple_trace

BASE = (
    "A rectangular garden is 12 meters long and 7 meters wide. A path of uniform width is built around the "
    "garden so that the total area of the garden and path is 198 square meters. Find the width of the path."
)
OTHER = "Find the number of ordered pairs of positive integers $(a, b)$ such that $a + b = 1000$ and neither has a zero digit."


def test_exact_duplicates_differing_in_case_spacing_and_dollars_collapse_to_one() -> None:
    df = frame(
        [
            row(BASE, simple_trace("3", "3"), "3", source_id="a"),
            row(BASE.upper().replace(" ", "   "), simple_trace("3", "3"), "3", source_id="b"),
            row("$" + BASE + "$", simple_trace("3", "3"), "3", source_id="c"),
            row(OTHER, simple_trace("738", "738"), "738", source_id="d"),
        ]
    )
    result = dedup(df)
    result.check_invariant(df.height)
    assert result.kept.height == 2
    assert set(result.rejected["reason"]) == {"duplicate_exact"} and set(result.rejected["stage"]) == {STAGE}
    assert sorted(result.kept["dedup_cluster_size"].to_list()) == [1, 3]
    assert all(d.startswith("kept ") for d in result.rejected["detail"])


def test_near_duplicate_reworded_problem_is_caught_and_unrelated_kept() -> None:
    one_word = BASE.replace("Find the width", "Determine the width").replace("$", "")
    df = frame(
        [
            row(BASE, simple_trace("3", "3"), "3"),
            row(one_word, simple_trace("3", "3"), "3"),
            row(OTHER, None, "738"),
        ]
    )
    result = dedup(df)
    assert result.kept.height == 2
    assert result.rejected["reason"].to_list() == ["duplicate_near"]
    assert "jaccard~" in result.rejected["detail"][0]
    assert dedup(df, near_threshold=None).kept.height == 3  # near-dup rule switched off
    two_words = one_word.replace("is built", "was built")
    df2 = frame([row(BASE, simple_trace("3", "3"), "3"), row(two_words, simple_trace("3", "3"), "3")])
    assert dedup(df2).kept.height == 2  # Jaccard ~0.73 on 3-token shingles: below the default 0.75
    assert dedup(df2, near_threshold=0.65).kept.height == 1


def test_keep_best_prefers_verified_then_rewritten_then_tool_use_then_shorter() -> None:
    long_trace = simple_trace("1+2", "3") + "\n" + "More words to check the arithmetic again. " * 20
    candidates = [
        row(BASE, simple_trace("3", "3"), "3", source_id="unverified", verify_verdict="incorrect"),
        row(BASE, None, "3", source_id="no-trace"),
        row(
            BASE,
            "Just text, no code. <answer>\\boxed{3}</answer>",
            "3",
            source_id="no-code",
            num_code_blocks=0,
        ),
        row(BASE, long_trace, "3", source_id="long"),
        row(BASE, simple_trace("3", "3"), "3", source_id="best"),
    ]
    for seed in range(5):  # the survivor does not depend on input order
        random.Random(seed).shuffle(candidates)
        result = dedup(frame(candidates))
        assert result.kept["source_id"].to_list() == ["best"]
        assert result.rejected.height == 4


def test_multi_part_problems_sharing_a_context_are_not_merged_when_answers_differ() -> None:
    context = (
        "Let $f(n) = 2n - \\lfloor \\frac{1+\\sqrt{8n-7}}{2} \\rfloor$ and $g(n) = 2n + \\lfloor "
        "\\frac{1+\\sqrt{8n-7}}{2} \\rfloor$ for each positive integer $n$. "
    )
    part_a = context + "Determine the value of $g(2011)$."
    part_b = context + "Determine a value of $n$ for which $f(n)=100$."
    df = frame(
        [row(part_a, simple_trace("4085", "4085"), "4085"), row(part_b, simple_trace("101", "101"), "101")]
    )
    assert dedup(df, near_threshold=0.5).kept.height == 2
    same_answer = frame([row(part_a, simple_trace("1", "1"), "1"), row(part_b, simple_trace("1", "1"), "1")])
    assert dedup(same_answer, near_threshold=0.5).kept.height == 1


def test_empty_frame_and_missing_columns() -> None:
    empty = frame([row(BASE, None, "3")]).clear()
    assert dedup(empty).kept.height == 0
    bare = frame([row(BASE, None, None), row(BASE, None, None)]).select("id", "problem")
    result = dedup(bare)
    assert (result.kept.height, result.rejected.height) == (1, 1)
