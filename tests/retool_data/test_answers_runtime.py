"""is_equivalent where it really runs: threads, asyncio, forked workers, hung or dying math-verify workers."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from retool_data.answers import AnswerChecker, WorkerError, is_equivalent

# pairs only math-verify can decide (the quick paths do not), with the verdict it must reach
NEEDS_MATH_VERIFY = [
    (r"\sqrt{8}", r"2\sqrt{2}", True),
    (r"(x+1)^2", r"x^2+2x+1", True),
    (r"\{\sqrt{4}, 1\}", r"\{1,2\}", True),
    (r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt{2}}{2}", True),
    (r"\pi/2", r"\frac{\pi}{2}", True),
    (r"\sqrt{6}", r"2\sqrt{2}", False),
    (r"(0, \pi]", r"[0, \pi]", False),
    (r"\pi", "3.14", False),
]
# 21 characters that hang sympy inside CPython's big-integer code (2^(2^65536)): only a kill stops it
HANGS = r"2^{2^{2^{2^{2^{2}}}}}"


def _check_all(checker: AnswerChecker) -> list[bool]:
    return [checker.is_equivalent(pred, gold) for pred, gold, _ in NEEDS_MATH_VERIFY]


EXPECTED = [expected for _, _, expected in NEEDS_MATH_VERIFY]


def test_from_many_threads_at_once():
    with AnswerChecker(workers=2) as checker:
        with ThreadPoolExecutor(8) as executor:
            runs = list(executor.map(lambda _: _check_all(checker), range(8)))
        assert runs == [EXPECTED] * 8
        assert checker.stats["math_verify"] >= len(NEEDS_MATH_VERIFY)  # really reached math-verify
        assert checker.stats["workers_started"] <= 2


def test_from_a_non_main_thread_math_verify_does_not_need_signals():
    results: list[list[bool]] = []
    with AnswerChecker() as checker:
        thread = threading.Thread(target=lambda: results.append(_check_all(checker)))
        thread.start()
        thread.join()
        assert results == [EXPECTED] and checker.stats["math_verify"] == len(NEEDS_MATH_VERIFY)


def test_inside_asyncio_directly_and_through_to_thread():
    async def main(checker: AnswerChecker) -> tuple[list[bool], list[bool]]:
        direct = _check_all(checker)
        offloaded = await asyncio.gather(
            *(asyncio.to_thread(checker.is_equivalent, pred, gold) for pred, gold, _ in NEEDS_MATH_VERIFY)
        )
        return direct, list(offloaded)

    with AnswerChecker() as checker:
        assert asyncio.run(main(checker)) == (EXPECTED, EXPECTED)


def test_a_hung_comparison_is_cut_at_the_deadline_and_the_batch_goes_on():
    with AnswerChecker(deadline_s=1.0) as checker:
        checker.is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")  # worker up before timing
        started = time.monotonic()
        verdicts = checker.are_equivalent([r"\sqrt{8}", HANGS, "(x+1)^2"], [r"2\sqrt{2}", "5", "x^2+2x+1"])
        elapsed = time.monotonic() - started
        assert verdicts == [True, False, True]
        assert checker.stats["timeouts"] == 1 and checker.stats["workers_started"] == 2
        assert elapsed < 1.0 + 30  # the deadline plus a fresh worker's start-up on a loaded machine
        assert checker.is_equivalent(HANGS, HANGS)  # identical spellings never reach math-verify


def test_a_worker_killed_from_outside_is_replaced():
    with AnswerChecker() as checker:
        assert checker.is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")
        (worker,) = checker._pool._idle
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait()
        assert _check_all(checker) == EXPECTED
        assert checker.stats["crashes"] == 0 and checker.stats["workers_started"] == 2


def test_a_worker_that_cannot_start_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with AnswerChecker() as checker:
        with pytest.raises(WorkerError, match="failed to start"):
            checker.is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")
        assert checker.is_equivalent("0.5", r"\frac{1}{2}")  # the quick paths need no worker


def _child(queue) -> None:
    queue.put((os.getpid(), [is_equivalent(pred, gold) for pred, gold, _ in NEEDS_MATH_VERIFY]))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_child_gets_its_own_workers_and_the_parent_keeps_its_own():
    assert is_equivalent(r"\sqrt{8}", r"2\sqrt{2}")  # the parent's default checker has a live worker
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue,))
    child.start()
    child_pid, verdicts = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0 and child_pid != os.getpid()
    assert verdicts == EXPECTED
    assert [is_equivalent(pred, gold) for pred, gold, _ in NEEDS_MATH_VERIFY] == EXPECTED


def test_cached_verdicts_skip_math_verify():
    with AnswerChecker(cache_size=4) as checker:
        _check_all(checker)
        first = checker.stats["math_verify"]
        assert checker.is_equivalent(*NEEDS_MATH_VERIFY[-1][:2]) is NEEDS_MATH_VERIFY[-1][2]
        assert checker.stats["math_verify"] == first and checker.stats["cached"] == 1
        assert checker.is_equivalent(*NEEDS_MATH_VERIFY[0][:2])  # evicted (LRU of 4): recomputed
        assert checker.stats["math_verify"] == first + 1
