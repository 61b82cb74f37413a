"""Several teacher responses per problem (issue 17, item 3): each verified, the first k verified kept."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.partitions import assign_shards
from retool_data.schema import problem_id, row_id
from retool_data.stages.dedup import dedup
from retool_data.stages.verify import verify
from tests.retool_data.stages.rows import frame, row

PROBLEM = "In how many ways can 2 co-captains be chosen from a team of 10 players?"
OTHER = "What is 12 times 7?"


def responses(problem: str, answers: list[str], gold: str) -> list[dict]:
    pid = problem_id(problem)
    return [
        row(problem, f"So the answer is {a}.", f"\\boxed{{{a}}}", gold, id=row_id(pid, i), problem_id=pid,
            response_index=i, source_id=f"{pid[:4]}-{i}")
        for i, a in enumerate(answers)
    ]  # fmt: skip


def test_a_problem_whose_first_response_is_wrong_is_kept_through_a_later_one():
    df = frame(responses(PROBLEM, ["90", "90", "45", "45"], "45") + responses(OTHER, ["84"], "84"))
    result = verify(df)
    result.check_invariant(df.height)
    assert result.kept["id"].to_list() == [row_id(problem_id(PROBLEM), 2), problem_id(OTHER)]
    reasons = dict(zip(result.rejected["id"], result.rejected["reason"], strict=True))
    pid = problem_id(PROBLEM)
    assert reasons == {
        pid: "answer_mismatch",
        f"{pid}-r1": "answer_mismatch",
        f"{pid}-r3": "surplus_response",
    }
    surplus = result.rejected.filter(pl.col("reason") == "surplus_response")["detail"][0]
    assert surplus == f"verified, but problem {pid} already has 1 verified response(s): {pid}-r2"
    assert result.stats["surplus_responses"] == 1


@pytest.mark.parametrize(("k", "kept"), [(1, [0]), (2, [0, 2]), (None, [0, 2, 3])])
def test_k_verified_responses_per_problem(k, kept):
    df = frame(responses(PROBLEM, ["45", "90", "45", "45"], "45"))
    result = verify(df, responses_per_problem=k)
    result.check_invariant(df.height)
    assert result.kept["response_index"].to_list() == kept


def test_order_is_by_response_index_not_row_order():
    df = frame(list(reversed(responses(PROBLEM, ["45", "45"], "45"))))
    assert verify(df).kept["response_index"].to_list() == [0]


def test_frames_without_response_columns_group_by_id():
    df = frame([row(PROBLEM, "45", "\\boxed{45}", "45"), row(OTHER, "84", "\\boxed{84}", "84")])
    df = df.drop("problem_id", "response_index")
    assert verify(df).kept.height == 2
    with pytest.raises(ValueError, match="responses_per_problem must be >= 1"):
        verify(df, responses_per_problem=0)


def test_dedup_keeps_the_best_problems_responses_together_and_drops_the_duplicate_problem():
    mine = responses(PROBLEM, ["45", "45"], "45")
    copy = row(PROBLEM.replace("10", "$10$"), "45", "\\boxed{45}", "45", id="other-source", problem_id="zz",
               response_index=0, source_id="copy")  # fmt: skip
    df = frame([*mine, copy, *responses(OTHER, ["84"], "84")])
    result = dedup(df)
    result.check_invariant(df.height)
    assert sorted(result.kept["id"].to_list()) == sorted([mine[0]["id"], mine[1]["id"], problem_id(OTHER)])
    assert result.rejected.select("id", "reason").rows() == [("other-source", "duplicate_exact")]


def test_shards_hold_every_response_of_a_problem():
    rows = []
    for i in range(5):
        problem = f"What is {i} + {i}?"
        rows += responses(problem, ["x"], "y")
    rows += responses("What is 0 + 0?", ["x", "z", "w"], "y")[1:]  # late responses of the first problem
    df = frame(rows)
    shards = assign_shards(df, 2)
    per_problem = shards.group_by("problem_id").agg(pl.col("shard").n_unique())
    assert per_problem["shard"].to_list() == [1] * 5
    assert (
        shards["shard"].to_list()
        == ["shard-00000"] * 2 + ["shard-00001"] * 2 + ["shard-00002"] + ["shard-00000"] * 2
    )
