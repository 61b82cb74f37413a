"""Verification: rules first, then the R1-style judge (scripted server) for what the rules cannot decide."""

from __future__ import annotations

import json
from typing import Any

import pytest

from retool_data.llm import OpenAIBackend, ResponseCache
from retool_data.llm.client import ClientConfig
from retool_data.llm.judge import JUDGE_TEMPLATE
from retool_data.schema import VERIFY_COLUMNS
from retool_data.stages.verify import verify
from retool_data.stages.verify_rules import is_text_answer, rule_decision, rule_decisions
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of
from tests.retool_data.stages.rows import frame, row

ROWS = [
    row("P-right: 12 times 7?", "... so 84.", "The answer is \\boxed{84}.", "84"),
    row("P-equiv: half?", "...", "\\boxed{\\frac{1}{2}}", "0.5"),
    row("P-wrong: 13 times 7?", "...", "\\boxed{90}", "91"),
    row("P-text: who wins?", "...", "\\boxed{\\text{Alice wins}}", "\\text{Alice}"),
    row("P-noanswer: sum?", "I could not finish.", "", "10"),
    row(
        "P-proof: Prove that sqrt 2 is irrational.",
        "Suppose ...",
        "Hence proved.",
        None,
        gold_solution="Assume p/q in lowest terms ... contradiction.",
    ),
    row("P-retry: which city?", "...", "\\boxed{\\text{Paris}}", "\\text{the capital of France}"),
    row("P-garbage: which color?", "...", "\\boxed{\\text{red}}", "\\text{crimson}"),
    row("P-down: which shape?", "...", "\\boxed{\\text{circle}}", "\\text{round shape}"),
    row("P-noref: anything?", "...", "\\boxed{3}", None),
]


def judge_script(body: dict[str, Any], seen: int) -> Reply:
    p = prompt_of(body)
    verdict = lambda ok, why: json.dumps({"correct": ok, "reason": why})  # noqa: E731
    if "P-text" in p:
        return Reply(text="<think>Alice wins means Alice.</think>\n" + verdict(True, "same winner"))
    if "P-noanswer" in p:
        return Reply(text="The candidate gives no final answer.\n" + verdict(False, "no final answer"))
    if "P-proof" in p:
        return Reply(text=verdict(True, "complete argument"))
    if "P-retry" in p:  # malformed twice, then a valid verdict
        return Reply(text="correct!" if seen < 2 else verdict(True, "Paris is the capital"))
    if "P-garbage" in p:
        return Reply(text='{"correct": "maybe"}')
    if "P-down" in p:
        return Reply("status", status=503)
    return Reply("status", status=400, text=f"unexpected prompt {p[:80]}")


def judge(server: FakeOpenAIServer, cache: Any = None) -> OpenAIBackend:
    cfg = ClientConfig(
        base_url=server.base_url,
        model="r1",
        concurrency=4,
        timeout_s=2,
        max_retries=2,
        backoff_base_s=0.01,
        progress=False,
    )
    return OpenAIBackend(cfg, cache)


def by_problem(df: Any) -> dict[str, dict[str, Any]]:
    return {r["problem"].split(":")[0]: r for r in df.iter_rows(named=True)}


def test_rules_then_judge_every_row_ends_with_a_verdict(tmp_path):
    df = frame(ROWS)
    with FakeOpenAIServer(judge_script) as server:
        result = verify(df, judge(server, ResponseCache(tmp_path)))
        prompts = [r.prompt for r in server.records()]
    assert result.rows_in == len(ROWS)
    assert set(VERIFY_COLUMNS) <= set(result.kept.columns)
    kept = by_problem(result.kept)
    assert sorted(kept) == ["P-equiv", "P-proof", "P-retry", "P-right", "P-text"]
    assert kept["P-right"]["verify_method"] == "rule" and kept["P-right"]["teacher_answer"] == "84"
    assert kept["P-equiv"]["verify_method"] == "rule"
    for name in ("P-text", "P-proof", "P-retry"):
        assert kept[name]["verify_method"] == "judge" and kept[name]["verify_verdict"] == "correct"
        assert (
            kept[name]["verify_judge"] == "openai:r1" and kept[name]["verify_template"] == JUDGE_TEMPLATE.id
        )
    assert kept["P-text"]["verify_reason"].startswith("same winner (rules: text answer)")
    assert kept["P-proof"]["verify_reason"].startswith("complete argument (rules: proof problem")

    rejected = {
        json.loads(r["row"])["problem"].split(":")[0]: r for r in result.rejected.iter_rows(named=True)
    }
    assert {k: v["reason"] for k, v in rejected.items()} == {
        "P-wrong": "answer_mismatch",
        "P-noanswer": "answer_mismatch",
        "P-garbage": "judge_error",
        "P-down": "judge_error",
        "P-noref": "no_reference",
    }
    assert "malformed judge reply after 3 tries" in rejected["P-garbage"]["detail"]
    assert "judge request failed: http_503" in rejected["P-down"]["detail"]
    assert json.loads(rejected["P-wrong"]["row"])["verify_method"] == "rule"
    # rule-decided rows and the row without a reference never reach the judge
    assert not any(m in p for p in prompts for m in ("P-right", "P-equiv", "P-wrong", "P-noref"))
    assert sum("P-retry" in p for p in prompts) == 3 and sum("P-garbage" in p for p in prompts) == 3
    assert sum("P-down" in p for p in prompts) == 3  # 1 + max_retries, then judge_error
    assert result.stats["method"] == {"rule": 3, "judge": 6, "none": 1}


def test_without_a_judge_undecidable_rows_are_quarantined():
    result = verify(frame(ROWS))
    assert sorted(by_problem(result.kept)) == ["P-equiv", "P-right"]
    assert result.reject_counts() == {"answer_mismatch": 1, "no_reference": 1, "unverifiable": 6}
    assert set(result.rejected.filter(result.rejected["reason"] == "unverifiable")["detail"]) >= {
        "text answer",
        "no final answer in the teacher's solution",
        "proof problem without a reference answer",
    }


def test_judge_all_and_rerun_is_served_from_cache(tmp_path):
    rows = [ROWS[3], ROWS[5]]

    def always_yes(body: dict[str, Any], seen: int) -> Reply:
        return Reply(text='{"correct": true, "reason": "ok"}')

    with FakeOpenAIServer(always_yes) as server:
        first = verify(frame(rows + [ROWS[0]]), judge(server, ResponseCache(tmp_path)), judge_all=True)
        assert len(server.records()) == 3 and first.kept.height == 3
        again = verify(frame(rows + [ROWS[0]]), judge(server, ResponseCache(tmp_path)), judge_all=True)
        assert len(server.records()) == 3
    assert again.kept.equals(first.kept)
    assert "(rules: '84' is equivalent to '84')" in by_problem(first.kept)["P-right"]["verify_reason"]


@pytest.mark.parametrize(
    ("teacher", "gold", "problem", "decided"),
    [
        ("84", "84", "", True),
        ("\\frac{1}{2}", "0.5", "", True),
        ("90", "91", "", False),
        (None, "91", "", None),
        ("3", None, "Prove that ...", None),
        ("\\text{Yes}", "yes", "", True),
        ("\\text{no}", "\\text{yes}", "", None),
        # reference answers with units, text and digit groups (issue 17)
        ("100", "100\\text{ square units}", "", True),
        ("99", "100\\text{ square units}", "", False),
        ("4:30 p.m.", "4:30 \\text{ p.m.}", "", True),
        ("4:30 a.m.", "4:30 \\text{ p.m.}", "", False),
        ("4:30", "4:30 \\text{ p.m.}", "", None),  # which half of the day: a judge's call
        ("10000", "10{,}000", "", True),
        ("50625", "50,625", "", True),
        ("50,625", "50624", "", False),
    ],
)
def test_rule_decision(teacher, gold, problem, decided):
    assert rule_decision(teacher, gold, problem)[0] is decided


def test_text_answers():
    assert is_text_answer("\\text{Alice wins}") and is_text_answer("yes")
    assert not is_text_answer("\\frac{\\sqrt{3}}{2}") and not is_text_answer("12 \\text{ cm}")
    assert not is_text_answer("\\sin x + \\log 2") and not is_text_answer("(A)")


def test_batched_rule_decisions_match_one_by_one():
    teachers = ["84", "\\frac{1}{2}", "90", None, "\\text{Yes}", "2\\sqrt{2}", "100", "4:30 p.m."]
    golds = ["84", "0.5", "91", "7", "yes", "\\sqrt{8}", "100\\text{ square units}", "4:30 \\text{ p.m.}"]
    problems = [""] * len(teachers)
    assert rule_decisions(teachers, golds, problems) == [
        rule_decision(t, g, p) for t, g, p in zip(teachers, golds, problems, strict=True)
    ]
