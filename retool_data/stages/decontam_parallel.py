"""Run a batch's decontamination on several cores: forked children share the parent's index and model.

The lexical layers are pure Python and the embedding model is cheaper per statement on one thread per process
than on two threads of one process (measured on the shared 2-core machine: 7 vs 16 ms of CPU per statement in
bfloat16, the second thread mostly spinning), so a large batch is cut in ``workers`` contiguous slices: the
parent computes the last one and forked children the others. ``fork`` (not spawn) because a child then starts in
milliseconds with the index, the TF-IDF matrix, the loaded model and the benchmark embeddings already in memory
(copy-on-write); spawn would re-import torch and reload the model in every child. Results come back pickled
through a pipe; an exception in a child is raised in the parent.

Only where fork is safe and cheap (Linux); elsewhere, and for small batches, everything runs in this process.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

MIN_ROWS_PER_WORKER = 2_000  # below this a fork costs more than it saves


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def worker_count(rows: int, workers: int) -> int:
    """How many processes a batch of ``rows`` is worth (1: stay in this process)."""
    if workers <= 1 or not can_fork():
        return 1
    return max(1, min(workers, rows // MIN_ROWS_PER_WORKER))


def slices(n: int, parts: int) -> list[tuple[int, int]]:
    step, extra = divmod(n, parts)
    bounds, start = [], 0
    for k in range(parts):
        end = start + step + (k < extra)
        bounds.append((start, end))
        start = end
    return bounds


def _one_thread() -> int | None:
    """Torch to one thread in this process (the processes are the parallelism); the previous count."""
    torch = sys.modules.get("torch")  # not imported: nothing to set (the lexical layers do not need it)
    if torch is None:
        return None
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    return before


def _child(fn: Callable[..., T], args: tuple, fd: int) -> None:
    code = 0
    try:
        _one_thread()
        try:
            result: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # noqa: BLE001 - carried to the parent, which raises it
            result = (False, exc)
        try:
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that does not pickle
            data = pickle.dumps((False, RuntimeError(f"decontamination worker: {result[1]!r} ({exc})")))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        answers = sys.modules.get("retool_data.answers")
        if answers is not None:  # math-verify workers this child started (answer-aware step)
            for checker in list(answers._CHECKERS):
                checker.close()
    except BaseException:  # noqa: BLE001 - whatever happens, never return into the parent's code
        code = 1
    finally:
        os._exit(code)


def fork_map(fn: Callable[..., T], calls: Sequence[tuple]) -> list[T]:
    """``[fn(*args) for args in calls]``, the last call in this process and the others in forked children."""
    if len(calls) <= 1 or not can_fork():
        return [fn(*args) for args in calls]
    children: list[tuple[int, int]] = []
    try:
        for args in calls[:-1]:
            read_fd, write_fd = os.pipe()
            with warnings.catch_warnings():  # 3.12+ warns on fork with threads; the child only computes
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(fn, args, write_fd)
            os.close(write_fd)
            children.append((pid, read_fd))
        before = _one_thread()
        try:
            last = fn(*calls[-1])
        finally:
            if before is not None:
                sys.modules["torch"].set_num_threads(before)
    finally:  # reap every child, even when this process's share raised
        outcomes = []
        for pid, read_fd in children:
            with os.fdopen(read_fd, "rb") as fh:
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            outcomes.append((data, status))
    results: list[T] = []
    for data, status in outcomes:
        if not data:
            raise RuntimeError(f"decontamination worker died (wait status {status})")
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        results.append(value)
    return [*results, last]
