"""run_sync: from plain sync code, and from inside a running event loop (a notebook, an async Dagster op)."""

import asyncio
import threading

from retool_data.aio import run_sync


async def _which_thread(value: int) -> tuple[int, int]:
    await asyncio.sleep(0)
    return value * 2, threading.get_ident()


def test_from_sync_code_it_runs_on_this_thread() -> None:
    assert run_sync(_which_thread(21)) == (42, threading.get_ident())


def test_inside_a_running_loop_it_runs_on_a_helper_thread() -> None:
    async def notebook_cell() -> tuple[int, int]:
        return run_sync(_which_thread(21))  # asyncio.run here would raise "cannot be called from a running loop"

    value, thread = asyncio.run(notebook_cell())
    assert value == 42 and thread != threading.get_ident()
