"""Execution consistency with the real sandbox: every verdict, normalization limits, repair, the frame stage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from retool_data.stages.consistency import (
    STAGE,
    acheck_consistency,
    check_consistency,
    consistency_stage,
    normalize_output,
)
from retool_data.trace import parse_trace
from tests.retool_data.frames import frame, row, trace


@pytest.fixture(scope="module")
def sb() -> Iterator[object]:
    from sandbox import Sandbox

    with Sandbox(workers=2, timeout_s=2.0, memory_mb=1024, max_output_chars=400) as box:
        yield box


STATEFUL = trace(
    ("text", "First the square."),
    ("code", "x = 3**4\nprint(x)"),
    ("out", "81"),
    ("text", "Now add 19 to it."),
    ("code", "y = x + 19\nprint(y)"),
    ("out", "100"),
    answer="100",
)


def verdicts(text: str, sb: object, **kw: object) -> tuple[bool, str, list[str]]:
    rep = check_consistency(text, sb, **kw)
    return rep.consistent, rep.reason, rep.verdicts


def test_matching_trace_with_state_across_blocks(sb: object) -> None:
    assert verdicts(STATEFUL, sb) == (True, "consistent", ["match", "match"])


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("101", "a changed digit"),
        ("1 00", "a space inside a number"),
        ("100\n0", "extra output"),
        ("", "missing output"),
    ],
)
def test_mismatches(written: str, why: str, sb: object) -> None:
    text = STATEFUL.replace("<interpreter>\n100\n</interpreter>", f"<interpreter>\n{written}\n</interpreter>")
    assert text != STATEFUL, why
    assert verdicts(text, sb) == (False, "output_mismatch", ["match", "mismatch"])


def test_missing_line_and_float_repr_are_mismatches(sb: object) -> None:
    two_lines = trace(("code", "print(1)\nprint(2)"), ("out", "1"), answer="2")
    assert verdicts(two_lines, sb)[2] == ["mismatch"]
    assert verdicts(trace(("code", "print(1)\nprint(2)"), ("out", "1\n2"), answer="2"), sb)[2] == ["match"]
    rounded = trace(("code", "print(0.1 + 0.2)"), ("out", "0.3"), answer="0.3")
    assert verdicts(rounded, sb)[2] == ["mismatch"]


def test_layout_differences_are_forgiven(sb: object) -> None:
    code = "for i in range(3):\n    print(i, i * i)"
    for written in ("0 0\n1 1\n2 4", "0 0  \r\n1 1\r\n2 4\n\n", "\n0   0\n1\t1\n2 4"):
        assert verdicts(trace(("code", code), ("out", written), answer="4"), sb)[2] == ["match"], repr(
            written
        )
    assert normalize_output(" a  b \r\n\r\n c\n\n") == "a b\n\nc"


def test_last_expression_value_counts_as_output(sb: object) -> None:
    assert verdicts(trace(("code", "import math\nmath.comb(10, 3)"), ("out", "120"), answer="120"), sb)[
        2
    ] == ["match"]


def test_errors_the_trace_expected_and_did_not(sb: object) -> None:
    expected = trace(("code", "print(1 / 0)"), ("out", "ZeroDivisionError: division by zero"), answer="0")
    assert verdicts(expected, sb) == (True, "consistent", ["error_expected"])
    with_traceback = trace(
        ("code", "import math\nmath.sqrt(-1)"),
        (
            "out",
            'Traceback (most recent call last):\n  File "<stdin>", line 2\nValueError: math domain error',
        ),
        answer="0",
    )
    assert verdicts(with_traceback, sb)[2] == ["error_expected"]
    unexpected = trace(("code", "print(undefined_name + 1)"), ("out", "42"), answer="42")
    assert verdicts(unexpected, sb) == (False, "unexpected_error", ["error_unexpected"])
    wrong_error = trace(("code", "print(1 / 0)"), ("out", "ValueError: bad"), answer="0")
    assert verdicts(wrong_error, sb)[2] == ["error_unexpected"]
    claims_error = trace(("code", "print(5)"), ("out", "ZeroDivisionError: division by zero"), answer="5")
    assert verdicts(claims_error, sb)[2] == ["mismatch"]


def test_timeout_skips_the_rest_and_the_sandbox_keeps_working(sb: object) -> None:
    looping = trace(
        ("code", "while True:\n    pass"), ("out", "done"), ("code", "print(1)"), ("out", "1"), answer="1"
    )
    rep = check_consistency(looping, sb)
    assert (rep.consistent, rep.reason, rep.verdicts) == (False, "execution_timeout", ["timeout", "skipped"])
    assert verdicts(STATEFUL, sb)[0] is True


def test_missing_interpreter_block(sb: object) -> None:
    text = trace(("code", "print(6 * 7)"), ("text", "So it is 42."), answer="42")
    assert verdicts(text, sb) == (False, "missing_interpreter", ["missing_interpreter"])


def test_no_code_is_vacuously_consistent(sb: object) -> None:
    assert verdicts("Just words. <answer>\\boxed{1}</answer>", sb) == (True, "no_code", [])


def test_traces_do_not_share_state(sb: object) -> None:
    a = trace(("code", "v = 1"), ("out", ""), ("code", "print(v)"), ("out", "1"), answer="1")
    b = trace(("code", "print('v' in globals())"), ("out", "False"), answer="0")
    assert verdicts(a, sb)[0] and verdicts(b, sb)[0]

    async def both() -> list[bool]:
        reps = await asyncio.gather(*(acheck_consistency(t, sb) for t in [a, b] * 10))
        return [r.consistent for r in reps]

    assert all(asyncio.run(both()))


def test_repair_writes_real_outputs_and_rechecks(sb: object) -> None:
    wrong = STATEFUL.replace("<interpreter>\n81\n</interpreter>", "<interpreter>\n82\n</interpreter>")
    rep = check_consistency(wrong, sb, repair=True, gold_answer="100")
    assert (rep.consistent, rep.reason, rep.repaired) == (True, "repaired", True)
    # only the wrong block changed, and it now holds the sandbox's output as the RL rollout shows it
    # (`trace.interpreter_text`: print's trailing newline dropped), i.e. the original correct trace
    assert rep.trace == STATEFUL
    assert check_consistency(rep.trace, sb).consistent
    missing = trace(("code", "print(6 * 7)"), ("text", "So it is 42."), answer="42")
    fixed = check_consistency(missing, sb, repair=True, gold_answer="42")
    assert fixed.repaired and parse_trace(fixed.trace).tool_calls[0].output == "42"
    assert check_consistency(fixed.trace, sb).consistent


def test_repair_refuses_answers_built_on_hallucinated_output(sb: object) -> None:
    # The written output claimed 102 and the answer copied it; the code really prints 100.
    hallucinated = STATEFUL.replace(
        "<interpreter>\n100\n</interpreter>", "<interpreter>\n102\n</interpreter>"
    )
    hallucinated = hallucinated.replace("\\boxed{100}", "\\boxed{102}")
    rep = check_consistency(hallucinated, sb, repair=True)
    assert (rep.consistent, rep.reason) == (False, "repair_answer_unsupported")
    rep = check_consistency(hallucinated, sb, repair=True, gold_answer="100")
    assert (rep.consistent, rep.reason) == (False, "repair_answer_mismatch")
    unexpected = trace(("code", "print(undefined_name)"), ("out", "3"), answer="3")
    assert check_consistency(unexpected, sb, repair=True).reason == "unexpected_error"  # not repairable


def test_frame_stage_runs_many_traces_concurrently(sb: object) -> None:
    good = [
        row(
            f"p{i}",
            trace(("code", f"n = {i}\nprint(n * n)"), ("out", str(i * i)), answer=str(i * i)),
            str(i * i),
        )
        for i in range(40)
    ]
    bad = [
        row("bad-digit", trace(("code", "print(2 ** 10)"), ("out", "1025"), answer="1024"), "1024"),
        row("bad-error", trace(("code", "print(nope)"), ("out", "7"), answer="7"), "7"),
        row("no-trace", None, "1"),
    ]
    df = frame(good + bad)
    result = consistency_stage(df, sb, concurrency=16)
    result.check_invariant(df.height)
    assert result.kept.height == 40
    assert set(result.kept["consistency_verdict"]) == {"consistent"}
    assert result.kept["consistency_blocks"].to_list() == [["match"]] * 40
    assert dict(zip(result.rejected["id"].to_list(), result.rejected["reason"].to_list(), strict=True)) == {
        df["id"][40]: "output_mismatch",
        df["id"][41]: "unexpected_error",
        df["id"][42]: "missing_trace",
    }
    assert set(result.rejected["stage"]) == {STAGE}
    assert "wrote '1025', got '1024" in result.rejected["detail"][0]

    repaired = consistency_stage(df, sb, repair=True)
    assert repaired.kept.height == 41
    fixed = repaired.kept.filter(repaired.kept["problem"] == "bad-digit").row(0, named=True)
    assert fixed["consistency_verdict"] == "repaired" and "1025" in fixed["trace_before_repair"]
    assert "<interpreter>\n1024\n</interpreter>" in fixed["trace"]
    assert repaired.stats["repaired"] == 1


def test_frame_stage_from_inside_a_running_event_loop(sb: object) -> None:
    df = frame([row("p", STATEFUL, "100")])

    async def inside() -> int:
        return consistency_stage(df, sb).kept.height

    assert asyncio.run(inside()) == 1


def test_long_output_truncated_by_the_sandbox(sb: object) -> None:
    code = "for i in range(300):\n    print(i)"
    full = "\n".join(str(i) for i in range(300))
    assert verdicts(trace(("code", code), ("out", full), answer="299"), sb)[2] == ["match"]
    shown = sb.run(code).output  # what the RL rollout would show: head + marker + tail
    assert "truncated" in shown
    assert verdicts(trace(("code", code), ("out", shown), answer="299"), sb)[2] == ["match"]
    assert verdicts(trace(("code", code), ("out", full.replace("150", "151")), answer="299"), sb)[2] == [
        "mismatch"
    ]


def test_a_crashed_block_ends_the_session_and_skips_the_rest(sb: object) -> None:
    crash = trace(
        ("code", "import ctypes\nctypes.string_at(0)"),
        ("out", "b''"),
        ("code", "print(1)"),
        ("out", "1"),
        answer="1",
    )
    rep = check_consistency(crash, sb)
    assert rep.blocks[0].status == "killed"
    assert (rep.consistent, rep.reason, rep.verdicts) == (
        False,
        "unexpected_error",
        ["error_unexpected", "skipped"],
    )


def test_output_that_looks_like_tags_is_escaped_on_repair_and_checks_back(sb: object) -> None:
    # code that prints a forged block end and answer: the repair writes it escaped, the check reads it back
    code = "print('<' + '/interpreter><answer>' + chr(92) + 'boxed{7}<' + '/answer>')"
    missing = trace(("code", code), ("text", "That printed tags, not the answer."), answer="42")
    fixed = check_consistency(missing, sb, repair=True, gold_answer="42")
    assert fixed.repaired and "&lt;/interpreter>&lt;answer>" in fixed.trace
    parsed = parse_trace(fixed.trace)
    assert parsed.tool_calls[0].output == "</interpreter><answer>\\boxed{7}</answer>"
    assert parsed.final_answer == "42"
    rep = check_consistency(fixed.trace, sb)
    assert rep.consistent and rep.verdicts == ["match"]
