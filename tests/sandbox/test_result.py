"""How a run's pieces become `ExecResult.output` (pure functions, no processes)."""

from __future__ import annotations

import pytest

from sandbox.result import TRUNCATION_MARKER, ExecResult, clip, compose_output


def marker(n: int) -> str:
    return TRUNCATION_MARKER.format(n=n)


def test_clip_keeps_short_text_untouched() -> None:
    assert clip("hello", limit=5) == ("hello", False)
    assert clip("hello", limit=None) == ("hello", False)


def test_clip_keeps_head_and_tail_around_the_marker() -> None:
    text = "a" * 300 + "b" * 300
    out, cut = clip(text, limit=400)
    assert cut
    assert out == "a" * 200 + marker(200) + "b" * 200


def test_clip_odd_limit_gives_the_extra_character_to_the_head() -> None:
    out, _ = clip("0123456789", limit=5)
    assert out == "012" + marker(5) + "89"


def test_clip_counts_characters_dropped_upstream() -> None:
    out, cut = clip("h" * 1000, "t" * 1000, omitted=5000, limit=400)
    assert cut and out == "h" * 200 + marker(1600 + 5000) + "t" * 200
    out, cut = clip("head", "tail", omitted=7, limit=None)
    assert (out, cut) == ("head" + marker(7) + "tail", True)


@pytest.mark.parametrize(
    ("status", "stdout", "error", "expr", "expected"),
    [
        ("ok", "5\n", None, None, "5\n"),
        ("ok", "", None, "42", "42"),
        ("ok", "printed\n", None, "42", "printed\n"),  # the repr only when nothing was printed
        ("ok", "", None, None, ""),
        ("error", "", "ZeroDivisionError: division by zero", None, "ZeroDivisionError: division by zero"),
        ("error", "a\n", "NameError: x", None, "a\nNameError: x"),
        ("error", "no newline", "NameError: x", None, "no newline\nNameError: x"),
        ("timeout", "step 1\n", "TimeoutError: t", None, "step 1\nTimeoutError: t"),
    ],
)
def test_compose_output(status: str, stdout: str, error: str | None, expr: str | None, expected: str) -> None:
    assert compose_output(status, stdout, error, expr) == expected


def test_from_record_truncates_output_but_reports_streams() -> None:
    rec = {"status": "error", "stdout_head": "x" * 1000, "error": "ValueError: boom", "return_code": 1,
           "stderr_head": "Traceback ...\nValueError: boom\n", "duration_s": 0.01}
    r = ExecResult.from_record(rec, max_output_chars=100)
    assert r.status == "error" and r.truncated
    assert r.output.startswith("x" * 50 + "\n...[truncated ")
    assert r.output.endswith("ValueError: boom")
    assert r.stdout == "x" * 1000 and r.error == "ValueError: boom" and r.return_code == 1


def test_from_record_rebuilds_a_capped_stream_with_the_marker() -> None:
    rec = {"status": "ok", "stdout_head": "H" * 10, "stdout_tail": "T" * 10, "stdout_omitted": 80}
    r = ExecResult.from_record(rec, max_output_chars=None)
    assert r.stdout == "H" * 10 + marker(80) + "T" * 10
    assert r.output == r.stdout and r.truncated


def test_from_record_expression_repr_and_unknown_status() -> None:
    assert ExecResult.from_record({"status": "ok", "expr": "3"}, 400).output == "3"
    with pytest.raises(ValueError):
        ExecResult.from_record({"status": "exploded"}, 400)


def test_outcome_of_a_run_that_died_without_reporting() -> None:
    import signal

    from sandbox.procs import outcome_of_exit

    segv = signal.SIGSEGV  # wait status of a process killed by a signal is the signal number
    assert outcome_of_exit(segv, None, 5) == ("killed", "Killed by signal SIGSEGV (Segmentation fault)", -segv)
    assert outcome_of_exit(signal.SIGXCPU, None, 5)[0] == "timeout"
    assert outcome_of_exit(3 << 8, None, 5) == ("error", "SystemExit: 3", 3)
    assert outcome_of_exit(0, None, 5) == ("ok", None, 0)
    assert outcome_of_exit(signal.SIGKILL, "timeout", 2.5) == (
        "timeout", "TimeoutError: execution timed out after 2.5 s", None)
    assert outcome_of_exit(None, "cancel", 5)[0] == "killed"
