"""math-verify in worker processes, with a deadline per comparison that holds from any thread.

Why processes: math-verify's own timeouts use ``signal.alarm``, which only works in the main thread, so
`retool_data.answers` disables them. A deadline must then come from somewhere else, and an in-thread one
cannot stop the worst cases: ``2^{2^{2^{2^{2^{2}}}}}`` is 21 characters and hangs inside CPython's
big-integer C code, where neither a size guard nor an injected exception (``PyThreadState_SetAsyncExc``)
reaches it. A child process can always be killed. So each comparison runs in a worker process; the caller
waits on the worker's pipe with ``select`` and, past the deadline, kills the worker, counts the pair as not
equivalent and starts a fresh worker for the rest. Workers are plain ``subprocess`` children (not
``multiprocessing``), so they also work under daemonic parents (multiprocessing pools, some executors), and
they exit when their stdin closes, so they never outlive the caller.

Protocol (one line each way): request ``[id, gold, pred]`` as JSON; reply ``"<id> <0|1>"``. The worker
sends ``ready`` once imported, or ``error <reason>``.

When run as a script this file is the worker; it imports only the standard library and math-verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

_CHUNK_BYTES = 32_768  # below the 64 KiB pipe buffer, so writing a chunk never blocks on a stuck worker
_MIN_SHARD = 64  # pairs per worker below which splitting a batch across workers is not worth it


class WorkerError(RuntimeError):
    """A math-verify worker could not be started (math-verify missing, no subprocesses allowed, ...)."""


class _WorkerGone(Exception):
    pass


class _Worker:
    """One worker process and the caller's end of its pipes."""

    def __init__(self, memory_mb: int | None, startup_timeout_s: float) -> None:
        env = dict(os.environ, RETOOL_MV_MEMORY_MB=str(memory_mb or 0))
        try:
            # -P: keep retool_data/ (which holds trace.py, shadowing the stdlib module) off sys.path
            self.proc = subprocess.Popen(
                [sys.executable, "-P", os.path.abspath(__file__)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            raise WorkerError(f"cannot start a math-verify worker: {exc}") from exc
        self._buf = b""
        try:
            line = self.read_line(time.monotonic() + startup_timeout_s)
        except _WorkerGone:
            line = b"exited while starting"
        if line != b"ready":
            self.kill()
            reason = line.decode(errors="replace") if line else f"no answer within {startup_timeout_s:.0f}s"
            raise WorkerError(f"math-verify worker failed to start: {reason}")

    def read_line(self, deadline: float) -> bytes | None:
        """The next reply line, None past the deadline; raises _WorkerGone if the worker died."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data = os.read(fd, 65_536)
                if not data:
                    raise _WorkerGone
                self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        return line.strip()

    def send(self, lines: list[bytes]) -> None:
        try:
            self.proc.stdin.write(b"".join(lines))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as exc:
            raise _WorkerGone from exc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def close(self, grace_s: float = 2.0) -> None:
        try:
            self.proc.stdin.close()  # the worker exits on EOF
            self.proc.wait(timeout=grace_s)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class MathVerifyPool:
    """Up to ``max_workers`` worker processes, started on demand and reused; safe to share between threads.

    `verify_many([(gold, pred), ...])` returns one bool per pair (math-verify ``verify(parse(gold),
    parse(pred))``, gold first). A pair that takes longer than ``deadline_s`` (or crashes its worker, or
    exhausts ``memory_mb``) is False and counted in `stats`.
    """

    def __init__(
        self,
        max_workers: int = 1,
        deadline_s: float = 5.0,
        memory_mb: int | None = 2048,
        startup_timeout_s: float = 120.0,
    ) -> None:
        if max_workers < 1 or deadline_s <= 0:
            raise ValueError("max_workers must be >= 1 and deadline_s > 0")
        self.max_workers = max_workers
        self.deadline_s = deadline_s
        self.memory_mb = memory_mb
        self.startup_timeout_s = startup_timeout_s
        self.pid = os.getpid()  # a forked child must not talk to its parent's workers
        self.stats = {"compared": 0, "timeouts": 0, "crashes": 0, "workers_started": 0}
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()  # idle and busy, to let go of their pipes after a fork
        self._live = 0
        self._cond = threading.Condition()
        self._closed = False

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerError("the math-verify pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.max_workers:
                    self._live += 1
                    break
                self._cond.wait()
        try:
            return self._start()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_mb, self.startup_timeout_s)
        with self._cond:
            self.stats["workers_started"] += 1
            self._all.add(worker)
        return worker

    def _release(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is not None and worker.alive() and not self._closed:
                self._idle.append(worker)
            else:
                self._live -= 1
                if worker is not None:
                    worker.kill()
                    self._all.discard(worker)
            self._cond.notify()

    def verify_many(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        if not pairs:
            return []
        shards = max(1, min(self.max_workers, len(pairs) // _MIN_SHARD))
        if shards == 1:
            return self._run_shard(list(pairs))
        size = -(-len(pairs) // shards)
        parts = [list(pairs[i : i + size]) for i in range(0, len(pairs), size)]
        with ThreadPoolExecutor(len(parts)) as executor:  # threads only wait on pipes, so the GIL is free
            return [ok for part in executor.map(self._run_shard, parts) for ok in part]

    def _run_shard(self, pairs: list[tuple[str, str]]) -> list[bool]:
        results = [False] * len(pairs)
        worker: _Worker | None = self._acquire()
        try:
            start = 0
            while start < len(pairs):
                if worker is None:
                    worker = self._start()
                end, size = start, 0
                while end < len(pairs) and (end == start or size < _CHUNK_BYTES):
                    size += len(pairs[end][0]) + len(pairs[end][1]) + 32
                    end += 1
                worker, start = self._run_chunk(worker, pairs, start, end, results)
        except BaseException:
            if worker is not None:  # interrupted mid-chunk (KeyboardInterrupt, ...): its replies are stale
                self._discard(worker)
            raise
        finally:
            self._release(worker)
        with self._cond:
            self.stats["compared"] += len(pairs)
        return results

    def _run_chunk(
        self, worker: _Worker, pairs: list[tuple[str, str]], start: int, end: int, results: list[bool]
    ) -> tuple[_Worker | None, int]:
        """Run pairs[start:end]; return the (possibly replaced) worker and where to continue."""
        lines = [json.dumps([i, pairs[i][0], pairs[i][1]]).encode() + b"\n" for i in range(start, end)]
        i = start
        try:
            try:
                worker.send(lines)
            except _WorkerGone:  # it died while idle (killed from outside): not this pair's fault, retry once
                self._discard(worker)
                worker = self._start()
                worker.send(lines)
            for i in range(start, end):
                line = worker.read_line(time.monotonic() + self.deadline_s)
                if line is None:
                    self._count("timeouts")
                    self._discard(worker)
                    return None, i + 1  # pair i stays False
                idx, _, verdict = line.partition(b" ")
                if idx != str(i).encode():
                    raise _WorkerGone
                results[i] = verdict == b"1"
            return worker, end
        except _WorkerGone:
            # pair i killed its worker (memory limit, native crash): it stays False
            self._count("crashes")
            self._discard(worker)
            return None, i + 1

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._all.discard(worker)

    def _count(self, key: str) -> None:
        with self._cond:
            self.stats[key] += 1

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        if os.getpid() == self.pid:
            for worker in idle:
                worker.close()

    def abandon(self) -> None:
        """In a forked child: close the inherited pipes so the parent's workers still see EOF when it closes
        them; never signal them (they are the parent's)."""
        for worker in list(self._all):
            for stream in (worker.proc.stdin, worker.proc.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
        self._all.clear()
        self._idle.clear()


# ----------------------------------------------------------------------------------------------- worker side


def _serve() -> None:  # pragma: no cover - runs in the child; exercised through MathVerifyPool
    proto = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to stderr, never into the protocol
    try:
        import logging
        import resource
        from functools import lru_cache

        memory_mb = int(os.environ.get("RETOOL_MV_MEMORY_MB", "0"))
        if memory_mb > 0:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

        logging.disable(logging.CRITICAL)  # "timeout disabled" / "timeout during parsing" warnings
    except BaseException as exc:  # noqa: BLE001 - whatever stops start-up is reported, not raised
        proto.write(f"error {type(exc).__name__}: {exc}\n".encode())
        proto.flush()
        return
    # Both sides are bare final answers that `retool_data.answers` wrapped in $...$ (math-verify only
    # extracts LaTeX inside a math environment); Latex first, plain expressions ("1/2") as the fallback.
    config = (LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig())

    @lru_cache(maxsize=16_384)
    def parsed(text: str) -> list:
        return parse(text, extraction_config=config, parsing_timeout=None)

    def equivalent(gold: str, pred: str) -> bool:
        try:
            gold_parsed, pred_parsed = parsed(gold), parsed(pred)
            return bool(
                gold_parsed and pred_parsed and verify(gold_parsed, pred_parsed, timeout_seconds=None)
            )
        except (Exception, RecursionError, MemoryError):  # noqa: BLE001 - junk input is just not equivalent
            return False

    # The first comparison builds math-verify's LaTeX grammar and sympy's caches (~0.4 s, 20x a warm one): pay it
    # here, under the start-up timeout, so no real pair's deadline is spent on it (a fresh worker after a timeout
    # would otherwise fail its first pair on a loaded machine).
    for gold, pred in (("$(x+1)^2$", "$x^2+2x+1$"), ("$\\frac{1}{2}$", "$0.5$"), ("$\\{1,2\\}$", "$(1,2]$")):
        equivalent(gold, pred)
    parsed.cache_clear()
    proto.write(b"ready\n")
    proto.flush()
    try:
        for raw in sys.stdin.buffer:
            idx, gold, pred = json.loads(raw)
            proto.write(b"%d %d\n" % (idx, equivalent(gold, pred)))
            proto.flush()
    except (KeyboardInterrupt, BrokenPipeError):
        pass


if __name__ == "__main__":
    _serve()
