"""`Sandbox`: the caller's side. Starts the supervisor process, sends runs, routes results back.

Thread-safe and asyncio-friendly: every request carries an id, one reader thread resolves the matching
`concurrent.futures.Future`, `run` waits on it and `arun` awaits it through `asyncio.wrap_future`. If the
supervisor dies (crash, OOM killer, someone killed it), the runs in flight end as status "killed" and the
next call starts a fresh supervisor.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Self

from sandbox import memcg
from sandbox.config import DEFAULT_PRELOAD, DEFAULT_WARMUP, SandboxConfig, check_memory, check_timeout
from sandbox.isolation import IsolationError
from sandbox.protocol import encode, recv_frame
from sandbox.result import ExecResult

log = logging.getLogger(__name__)

# More supervisor deaths (or failed starts) than this within the window: refuse calls until the oldest one
# leaves the window. Only real deaths count, never the refused calls, so the pool recovers once they stop.
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0

_PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from sandbox.supervisor import main; main(int(sys.argv[2]))"
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
}


class SandboxError(RuntimeError):
    """The sandbox could not start or was used after `close()`."""


class _Supervisor:
    """One supervisor process and its socket; dies as a whole."""

    def __init__(self, cfg: SandboxConfig, start_timeout_s: float) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        self.proc = subprocess.Popen(
            [sys.executable, "-s", "-P", "-c", _BOOT, _PACKAGE_PARENT, str(theirs.fileno())],
            pass_fds=[theirs.fileno()], env=dict(_ENV), cwd="/", stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, start_new_session=True,
        )
        theirs.close()
        self.pending: dict[int, Future] = {}
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.alive = True
        ours.sendall(encode({"config": cfg.to_dict()}))
        ours.settimeout(start_timeout_s)
        try:
            ready = recv_frame(ours)
        except (TimeoutError, OSError, ValueError) as e:
            self.kill()
            raise SandboxError(f"the sandbox supervisor did not start within {start_timeout_s} s: {e}") from None
        ours.settimeout(None)
        if ready is None or ready.get("event") != "ready":
            self.kill()
            detail = ready.get("error") if ready else f"it exited with status {self.proc.wait()}"
            raise IsolationError(f"sandbox refused to start: {detail}")
        self.info = ready
        for w in ready.get("warnings", []):
            log.warning("sandbox: %s", w)
        self.reader = threading.Thread(target=self._read_loop, name="sandbox-reader", daemon=True)
        self.reader.start()

    def submit(self, req: dict[str, Any]) -> Future:
        fut: Future = Future()
        with self.lock:  # registered before it is sent: the result may come back at once
            if not self.alive:
                fut.set_result(ExecResult.crashed("sandbox supervisor is not running"))
                return fut
            self.pending[req["id"]] = fut
        if not self.send(req):
            with self.lock:
                self.pending.pop(req["id"], None)
            if not fut.done():
                fut.set_result(ExecResult.crashed("sandbox supervisor is not running"))
        return fut

    def cancel(self, req_id: int) -> None:
        with self.lock:
            self.pending.pop(req_id, None)
        self.send({"op": "cancel", "id": req_id})

    def send(self, req: dict[str, Any]) -> bool:
        data = encode(req)
        with self.send_lock:  # a separate lock, so a slow send never holds up the delivery of results
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                return False

    def _read_loop(self) -> None:
        try:
            while True:
                msg = recv_frame(self.sock)
                if msg is None:
                    break
                with self.lock:
                    fut = self.pending.pop(msg.get("id"), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.alive = False
                pending, self.pending = self.pending, {}
            for fut in pending.values():
                if not fut.done():
                    fut.set_result({"result": {"status": "killed", "error": "Killed: sandbox supervisor exited",
                                               "return_code": None}})

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self.sock.close()
        path = getattr(self, "info", {}).get("memory_cgroup")
        if path and os.path.isdir(path):  # the supervisor removes it on a clean exit; not after SIGKILL
            memcg.remove_tree(path)

    def close(self, timeout_s: float = 5.0) -> None:
        self.send({"op": "shutdown"})
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pass
        self.kill()


class Sandbox:
    """A pool of isolated, warm Python interpreters (see docs/sandbox.md).

    workers: runs executing at once (default: the usable CPUs); more are queued.
    timeout_s / memory_mb: per-run defaults (wall clock; address space on top of the warm interpreter).
    max_output_chars: length of `ExecResult.output` before head+tail truncation (None: no limit).
    max_sessions / session_ttl_s: sessions kept at most, and idle time before one is dropped.
    preload / warmup: modules imported and code run once in the interpreter every run is forked from.
    nproc, max_file_mb, max_open_files, scratch_mb: per-run process count, file size, descriptors, /tmp size.
    max_capture_bytes: stdout/stderr kept per run (head+tail), extra_ro_paths: more read-only paths to show.
    allow_degraded: run even when the kernel refuses a layer (each missing one is logged; see the docs).
    memory_cgroup / seccomp: a memory cgroup per run (when the kernel gives one) and the seccomp profile.
    """

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0, memory_mb: int = 1024,
                 max_output_chars: int | None = 400, *, max_sessions: int = 64, session_ttl_s: float = 600.0,
                 preload: tuple[str, ...] = DEFAULT_PRELOAD, warmup: str = DEFAULT_WARMUP, nproc: int = 64,
                 max_file_mb: int = 64, max_open_files: int = 256, scratch_mb: int = 64,
                 max_capture_bytes: int = 1 << 20, extra_ro_paths: tuple[str, ...] = (),
                 allow_degraded: bool = False, hugepages: bool = True, memory_cgroup: bool = True,
                 seccomp: bool = True, start_timeout_s: float = 120.0) -> None:
        cfg = SandboxConfig(timeout_s=timeout_s, memory_mb=memory_mb, max_output_chars=max_output_chars,
                            max_sessions=max_sessions, session_ttl_s=session_ttl_s, preload=tuple(preload),
                            warmup=warmup, nproc=nproc, max_file_mb=max_file_mb, max_open_files=max_open_files,
                            scratch_mb=scratch_mb, max_capture_bytes=max_capture_bytes,
                            extra_ro_paths=tuple(os.path.abspath(p) for p in extra_ro_paths),
                            allow_degraded=allow_degraded, hugepages=hugepages, memory_cgroup=memory_cgroup,
                            seccomp=seccomp)
        if workers is not None:
            cfg.workers = workers
        cfg.validate()
        self.config = cfg
        self._start_timeout_s = start_timeout_s
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._closed = False
        self._owner_pid = os.getpid()
        self._restart_times: list[float] = []
        self.restarts = 0
        self._sup: _Supervisor | None = _Supervisor(cfg, start_timeout_s)

    # ------------------------------------------------------------------------------------- public API

    def run(self, code: str, *, session: str | None = None, timeout_s: float | None = None,
            memory_mb: int | None = None, stdin: str | None = None, files: dict[str, str] | None = None,
            fetch_files: list[str] | None = None, keep_background: bool = False) -> ExecResult:
        """Execute `code` and wait for its result (thread-safe).

        session: run in that session's namespace (created on first use); None runs in a fresh interpreter.
        timeout_s / memory_mb: override the sandbox's defaults for this run.
        stdin: the text the run reads on standard input (otherwise /dev/null).
        files / fetch_files: base64 file contents written into the run's directory before it starts, and
        relative paths read back after it ends (into `result.extra["files"]`, base64), as SandboxFusion does.
        keep_background: in a session, let processes this block started outlive it (by default they are
        killed when the block returns; a run without a session always takes its processes with it).
        """
        fut = self._submit(code, session, timeout_s, memory_mb, stdin, files, fetch_files, keep_background)
        return self._result(fut.result())

    async def arun(self, code: str, *, session: str | None = None, timeout_s: float | None = None,
                   memory_mb: int | None = None, stdin: str | None = None, files: dict[str, str] | None = None,
                   fetch_files: list[str] | None = None, keep_background: bool = False) -> ExecResult:
        """`run` for asyncio; cancelling the awaiting task kills the run."""
        fut = self._submit(code, session, timeout_s, memory_mb, stdin, files, fetch_files, keep_background)
        req_id, sup = fut.sandbox_request  # type: ignore[attr-defined]
        try:
            msg = await asyncio.shield(asyncio.wrap_future(fut))
        except asyncio.CancelledError:
            sup.cancel(req_id)
            raise
        return self._result(msg)

    def close_session(self, session: str) -> bool:
        """Drop a session's state now (otherwise it expires after `session_ttl_s` idle). True if it existed."""
        return self._closed_reply(self._close_request(session).result())

    async def aclose_session(self, session: str) -> bool:
        # Awaited on the loop like `arun`, not in an executor thread: a thread hop per session was a visible
        # share of the caller's CPU when thousands of short sessions are checked.
        return self._closed_reply(await asyncio.wrap_future(self._close_request(session)))

    def stats(self) -> dict[str, int]:
        sup = self._supervisor()
        msg = sup.submit({"op": "stats", "id": next(self._ids)}).result()
        return msg.get("stats", {}) if isinstance(msg, dict) else {}

    @property
    def layers(self) -> tuple[str, ...]:
        """The isolation layers in force (see docs/sandbox.md)."""
        return tuple(self._supervisor().info["layers"])

    @property
    def info(self) -> dict[str, Any]:
        """Diagnostics from the running supervisor: pids, uid range, warnings, layers."""
        return dict(self._supervisor().info)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sup, self._sup = self._sup, None
        if sup is not None:
            sup.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __del__(self) -> None:
        sup = getattr(self, "_sup", None)
        if sup is not None:
            sup.kill()

    # -------------------------------------------------------------------------------------- internals

    def _supervisor(self) -> _Supervisor:
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if os.getpid() != self._owner_pid:
                raise SandboxError("a Sandbox cannot be used from a forked child process; create one per process")
            if self._sup is None or not self._sup.alive:
                now = time.monotonic()
                if self._sup is not None:  # a real death, counted once: the dead supervisor is dropped here
                    log.warning("sandbox supervisor exited (status %s); starting a new one", self._sup.proc.poll())
                    self._sup.kill()
                    self._sup = None
                    self.restarts += 1
                    self._restart_times.append(now)
                self._restart_times = [t for t in self._restart_times if now - t < RESTART_WINDOW_S]
                if len(self._restart_times) > MAX_RESTARTS:
                    wait = RESTART_WINDOW_S - (now - self._restart_times[0])
                    raise SandboxError(f"the sandbox supervisor died {len(self._restart_times)} times within "
                                       f"{RESTART_WINDOW_S:.0f} s; not restarting for {wait:.0f} s (see its stderr)")
                try:
                    self._sup = _Supervisor(self.config, self._start_timeout_s)
                except Exception:
                    self._restart_times.append(time.monotonic())  # a failed restart is a death too
                    raise
            return self._sup

    def _submit(self, code: str, session: str | None, timeout_s: float | None, memory_mb: int | None,
                stdin: str | None, files: dict[str, str] | None, fetch_files: list[str] | None,
                keep_background: bool = False) -> Future:
        if not isinstance(code, str):
            raise TypeError(f"code must be str, not {type(code).__name__}")
        timeout = self.config.timeout_s if timeout_s is None else check_timeout(timeout_s)
        memory = self.config.memory_mb if memory_mb is None else check_memory(memory_mb)
        sup = self._supervisor()
        req_id = next(self._ids)
        fut = sup.submit({"op": "run", "id": req_id, "code": code, "session": session, "timeout_s": timeout,
                          "memory_mb": memory, "stdin": stdin, "files": files,
                          "fetch_files": fetch_files, "keep_background": bool(keep_background)})
        fut.sandbox_request = (req_id, sup)  # type: ignore[attr-defined]
        return fut

    def _close_request(self, session: str) -> Future:
        return self._supervisor().submit({"op": "close_session", "id": next(self._ids), "session": session})

    @staticmethod
    def _closed_reply(msg: dict[str, Any] | ExecResult) -> bool:
        return isinstance(msg, dict) and bool(msg.get("closed"))

    def _result(self, msg: dict[str, Any] | ExecResult) -> ExecResult:
        if isinstance(msg, ExecResult):
            return msg
        return ExecResult.from_record(msg["result"], self.config.max_output_chars)
