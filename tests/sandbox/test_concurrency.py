"""Many callers at once, from threads and from asyncio: every caller gets its own result."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from sandbox import Sandbox
from tests.sandbox.conftest import assert_serves_correctly

N = 200


def snippet(i: int) -> str:
    # Each run holds its value across a random pause and prints a value only it can produce.
    return f"import random, time\nvalue = {i}\ntime.sleep(random.random() * 0.005)\nprint(value * 7919, {i})"


def expected(i: int) -> str:
    return f"{i * 7919} {i}\n"


def test_200_concurrent_runs_from_threads(sb: Sandbox) -> None:
    with ThreadPoolExecutor(64) as ex:
        results = list(ex.map(lambda i: (i, sb.run(snippet(i))), range(N)))
    assert [(r.status, r.output) for _, r in results] == [("ok", expected(i)) for i, _ in results]


def test_200_concurrent_runs_from_asyncio(sb: Sandbox) -> None:
    async def main() -> list:
        return await asyncio.gather(*(sb.arun(snippet(i)) for i in range(N)))

    results = asyncio.run(main())
    assert [(r.status, r.output) for r in results] == [("ok", expected(i)) for i in range(N)]


def test_concurrent_sessions_keep_their_own_state(sb: Sandbox) -> None:
    async def trace(k: int) -> list[str]:
        outs = [(await sb.arun(f"total = {k}", session=f"conc-{k}")).output]
        for step in range(1, 5):
            outs.append((await sb.arun(f"total += {step}\ntotal", session=f"conc-{k}")).output)
        await sb.aclose_session(f"conc-{k}")
        return outs

    async def main() -> list:
        return await asyncio.gather(*(trace(k) for k in range(20)))

    for k, outs in enumerate(asyncio.run(main())):
        assert outs == ["", str(k + 1), str(k + 3), str(k + 6), str(k + 10)]


def test_blocks_of_one_session_sent_at_once_run_in_order(sb: Sandbox) -> None:
    sb.run("seen = []", session="ordered")
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda i: sb.run(f"seen.append({i})", session="ordered"), range(4)))
    out = sb.run("sorted(seen) == [0, 1, 2, 3] and len(seen) == 4", session="ordered").output
    assert out == "True"
    assert sb.close_session("ordered")


def test_cancelling_an_awaited_run_kills_it(sb: Sandbox) -> None:
    async def main() -> None:
        task = asyncio.create_task(sb.arun("import time\ntime.sleep(30)", timeout_s=60))
        await asyncio.sleep(0.3)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 5
    deadline = time.monotonic() + 5
    while sb.stats()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sb.stats()["running"] == 0
    assert_serves_correctly(sb)
