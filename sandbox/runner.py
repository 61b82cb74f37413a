"""The inside of one run: a process forked from the warm interpreter.

Until its code arrives the process is a privileged "spare": it takes a private /tmp, its file descriptors,
its memory cgroup (and a fresh keyring when no seccomp profile denies keyrings) (under the seccomp profile inherited from the fork server). On the first
code frame it applies the run's limits, becomes its own unprivileged uid (for good), executes, reports on fd 3
and exits; a session's process instead waits for the next block.
"""

from __future__ import annotations

import _signal
import ast
import base64
import math
import os
import resource
import signal
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

from sandbox import isolation
from sandbox.protocol import MAX_CONTROL_FRAME, encode, recv_frame

CTL_FD = 3
FILENAME = "<string>"
TRACEBACK_FRAMES = 50
FETCH_LIMIT = 8 << 20
_MEMORY_FALLBACK = encode({"status": "memory", "error": "MemoryError"})
_RUNNER_FILE = __file__
_RESET_SIGNALS = tuple(int(s) for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1))


def child_main(uid: int, fds: list[int], cfg: dict[str, Any], layers: frozenset[str], scratch: str | None) -> NoReturn:
    """Entry point right after fork; never returns (a run must never fall back into the fork server's loop)."""
    ctl = None
    try:
        _prepare(uid, fds, cfg, layers, scratch)
        ctl = socket.socket(fileno=CTL_FD)
        msg = recv_frame(ctl, MAX_CONTROL_FRAME)
        if msg is None:
            os._exit(0)
        _enter(uid, msg, cfg, layers)
    except BaseException as e:  # noqa: BLE001 - the code has not run: say why, never run it
        try:
            if ctl is not None:
                ctl.sendall(encode({"setup_error": f"{type(e).__name__}: {e}"}))
            else:  # before the control socket: the supervisor only sees exit status 70 and this on stderr
                os.write(2, f"sandbox setup failed: {type(e).__name__}: {e}\n".encode(errors="backslashreplace"))
        finally:
            os._exit(70)
    try:
        _serve(ctl, msg, cfg)
    finally:
        os._exit(0)


def _serve(ctl: socket.socket, msg: dict[str, Any], cfg: dict[str, Any]) -> None:
    """Execute the first block and, for a session, every later one in the same namespace."""
    module = types.ModuleType("__main__")
    sys.modules["__main__"] = module
    while True:
        try:
            for name, data in (msg.get("files") or {}).items():
                _write_input_file(name, data)
        except Exception as e:  # noqa: BLE001 - a bad input file is the request's error
            report = {"status": "error", "error": _error_line(e), "expr": None}
        else:
            report = execute(msg["code"], module.__dict__, cfg["max_capture_bytes"], stateless=not msg.get("session"))
        if msg.get("fetch_files"):
            report["files"] = _read_output_files(msg["fetch_files"])
        _report(ctl, report)
        if not msg.get("session"):
            return
        msg = recv_frame(ctl, MAX_CONTROL_FRAME)
        if msg is None:
            return
        _renew_cpu_limit(msg["timeout_s"], cfg["session_cpu_s"])


def _prepare(uid: int, fds: list[int], cfg: dict[str, Any], layers: frozenset[str], scratch: str | None) -> None:
    """Still privileged: reset what the fork server set up, take fds 0-3, mount the private /tmp."""
    signal.set_wakeup_fd(-1)
    # `_signal`, not the `signal` wrapper: same calls, but converting each previous handler to an enum
    # touched ~55 more of the warm interpreter's pages (copy-on-write faults) on every run.
    for sig in _RESET_SIGNALS:
        _signal.signal(sig, _signal.SIG_DFL)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    os.setsid()
    high = [os.dup(fd) for fd in fds]  # avoid clobbering when a received fd number is 0-3
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    for target, fd in zip((CTL_FD, 1, 2), high, strict=True):
        os.dup2(fd, target)
    if cfg["per_run_keyring"]:  # without the seccomp profile (which denies every keyring call), ~0.3 ms CPU
        isolation.join_fresh_keyring()
    cgroup = cfg["memcg"]
    if cgroup is not None:
        cgroup.join(uid)  # its limit was set by the fork server (`MemoryCgroup.prepare`)
    # Every other run's pipes and the fork server's socket; the cgroup directory stays open until `_enter`.
    _close_fds_from(CTL_FD + 1, keep=[cgroup.fd] if cgroup is not None else [])
    if "mount_namespace" in layers:
        isolation.mount_scratch(uid, cfg["scratch_mb"], cfg["under_tmp"])
        os.chdir("/tmp")
    else:
        os.chdir(scratch or "/")


def _close_fds_from(low: int, keep: list[int]) -> None:
    high = max(1 << 16, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, high)


def _enter(uid: int, msg: dict[str, Any], cfg: dict[str, Any], layers: frozenset[str]) -> None:
    """Apply limits, become `uid`, and reset the interpreter state a run may observe."""
    if msg.get("stdin"):
        # An unnamed file on the run's own /tmp (not a memfd: that is denied where no cgroup accounts for it).
        fd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)
        os.write(fd, msg["stdin"].encode("utf-8", "backslashreplace"))
        os.lseek(fd, 0, os.SEEK_SET)
        os.dup2(fd, 0)
        os.close(fd)
    cgroup = cfg["memcg"]
    if cgroup is not None:
        if int(msg["memory_mb"]) != cfg["memory_mb"]:
            cgroup.set_run_limit(uid, cfg["memcg_headroom"] + (int(msg["memory_mb"]) << 20))
        os.close(cgroup.fd)  # open, it would let the code raise its own limit
    session = bool(msg.get("session"))
    cpu = math.ceil(msg["timeout_s"]) + 1
    hard_cpu = max(cpu + 1, math.ceil(cfg["session_cpu_s"])) if session else cpu + 1
    isolation.set_rlimits({
        "RLIMIT_AS": isolation.vm_size_bytes() + int(msg["memory_mb"]) * (1 << 20),
        "RLIMIT_NPROC": cfg["nproc"],
        "RLIMIT_FSIZE": cfg["max_file_mb"] << 20,
        "RLIMIT_NOFILE": cfg["max_open_files"],
        "RLIMIT_CORE": 0,
    })
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard_cpu))
    if "uid_drop" in layers:
        isolation.drop_privileges(uid)
    if "mount_namespace" not in layers:  # otherwise /tmp, and the whole environment, is the same for every run
        home = os.getcwd()
        os.environ.update(HOME=home, TMPDIR=home, MPLCONFIGDIR=home)
    _reseed_numpy()


def _reseed_numpy() -> None:
    """Python's own `random` reseeds itself after fork; numpy's legacy global generator does not.

    A whole MT19937 state straight from the OS rather than `seed()`: SeedSequence's hashing touched ~150 of
    the warm interpreter's pages, each a copy-on-write fault, ~0.5 ms of every run.
    """
    np_random = sys.modules.get("numpy.random")
    if np_random is None:
        return
    numpy = sys.modules["numpy"]
    try:
        np_random.set_state(("MT19937", numpy.frombuffer(os.urandom(624 * 4), dtype=numpy.uint32), 624))
    except Exception:  # noqa: BLE001 - a warm-up replaced the global generator: its own reseeding then
        np_random.seed()


def run_environment() -> dict[str, str]:
    """The environment every run sees (set once in the fork server): nothing inherited from the caller."""
    return {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp", "USER": "sandbox", "LOGNAME": "sandbox",
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8:backslashreplace",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    }


def prepare_interpreter() -> None:
    """Once, in the fork server: the state every run starts from."""
    os.environ.clear()
    os.environ.update(run_environment())
    sys.argv = [""]
    # Line-buffered, so what a run printed before being killed at its deadline is not lost in a buffer;
    # lone surrogates printed come out escaped (`\ud800`), as everywhere a result leaves the sandbox.
    sys.stdout.reconfigure(line_buffering=True, errors="backslashreplace")
    sys.stderr.reconfigure(line_buffering=True, errors="backslashreplace")


def _write_input_file(name: str, data_b64: str) -> None:
    norm = os.path.normpath(name)
    if os.path.isabs(norm) or norm.startswith(".."):
        raise ValueError(f"input file outside the working directory: {name!r}")
    if os.path.dirname(norm):
        os.makedirs(os.path.dirname(norm), exist_ok=True)
    with open(norm, "wb") as f:
        f.write(base64.b64decode(data_b64))


def _read_output_files(names: list[str]) -> dict[str, str]:
    """`fetch_files`, base64, at most FETCH_LIMIT bytes in all (the report frame is capped)."""
    out, budget = {}, FETCH_LIMIT
    for name in names:
        try:
            with open(name, "rb") as f:
                data = f.read(budget + 1)
        except (OSError, TypeError, ValueError):
            continue
        if len(data) > budget:
            break
        budget -= len(data)
        out[name] = base64.b64encode(data).decode()
    return out


def _renew_cpu_limit(timeout_s: float, session_cpu_s: float) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(spent + timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))


def execute(code: str, g: dict[str, Any], max_repr: int, stateless: bool) -> dict[str, Any]:
    """Run `code` in the globals `g`, notebook-style: the last expression's repr is kept (not printed)."""
    g.setdefault("__builtins__", __builtins__)
    report: dict[str, Any] = {"status": "ok", "error": None, "expr": None}
    try:
        tree = ast.parse(code, FILENAME, "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, FILENAME, "exec", dont_inherit=True), g)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), FILENAME, "eval", dont_inherit=True), g)
            if value is not None:
                text = repr(value)
                report["expr"] = text if len(text) <= max_repr else text[:max_repr]
    except SystemExit as e:
        if e.code not in (None, 0):
            report.update(status="error", error=f"SystemExit: {e.code}")
    except BaseException as e:  # noqa: BLE001 - everything a snippet raises is its result
        if stateless:
            g.clear()  # free a memory bomb's objects before formatting
        report.update(status="memory" if isinstance(e, MemoryError) else "error", error=_error_line(e))
        _print_traceback(e)
    _flush()
    return report


def _error_line(e: BaseException) -> str:
    """The last line of the traceback, i.e. `Type: message` (SyntaxError's location lines dropped)."""
    try:
        te = traceback.TracebackException(type(e), e, None, compact=True)
        te.__notes__ = None
        lines = list(te.format_exception_only())
        return lines[-1].rstrip("\n") if lines else type(e).__name__
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not hide the error type
        return type(e).__name__


def _print_traceback(e: BaseException) -> None:
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _RUNNER_FILE:
        tb = tb.tb_next
    try:
        # The innermost frames only: formatting a million-frame recursion would outlast the deadline.
        traceback.print_exception(type(e), e, tb, limit=-TRACEBACK_FRAMES, file=sys.stderr)
    except BaseException:  # noqa: BLE001
        pass


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the snippet may have closed or replaced the stream
            pass


def _report(ctl: socket.socket, report: dict[str, Any]) -> None:
    try:
        frame = encode(report)
    except MemoryError:
        frame = _MEMORY_FALLBACK
    except (TypeError, ValueError):
        frame = encode({"status": "error", "error": "ValueError: unreportable result"})
    ctl.sendall(frame)
