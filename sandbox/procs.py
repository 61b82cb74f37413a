"""What the supervisor keeps per request (`Job`) and per forked run (`Proc`), and how a run that died
without reporting is classified (`outcome_of_exit`)."""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.protocol import Channel


class Capture:
    """Keeps the first and last `limit/2` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.half = limit // 2
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_len = 0
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail.append(data)
            self.tail_len += len(data)
            while self.tail and self.tail_len - len(self.tail[0]) >= self.half:
                self.tail_len -= len(self.tail.popleft())

    def fields(self, name: str) -> dict[str, Any]:
        """Head, tail and dropped size as text: bytes that are not UTF-8 come out as `\\xNN` (backslashreplace,
        the sandbox's one escaping), and a character cut by the head/tail split counts as dropped."""
        tail = b"".join(self.tail)[-self.half :] if self.tail else b""
        omitted = self.total - len(self.head) - len(tail)
        if omitted == 0:
            return {f"{name}_head": (bytes(self.head) + tail).decode("utf-8", "backslashreplace")}
        head = _cut_to_character(bytes(self.head))
        start = _first_character(tail)
        tail = tail[start:]
        omitted = self.total - len(head) - len(tail)
        return {
            f"{name}_head": head.decode("utf-8", "backslashreplace"),
            f"{name}_tail": tail.decode("utf-8", "backslashreplace"),
            f"{name}_omitted": omitted,
        }


def _cut_to_character(data: bytes) -> bytes:
    """`data` without a trailing, incomplete UTF-8 sequence."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # the start of the last sequence (or an ASCII byte)
            need = 1 if byte < 0x80 else 2 if byte >> 5 == 0b110 else 3 if byte >> 4 == 0b1110 else 4
            return data[:-back] if need > back else data
    return data


def _first_character(data: bytes) -> int:
    """Index of the first byte that starts a UTF-8 sequence (skips at most 3 continuation bytes)."""
    for i in range(min(3, len(data))):
        if data[i] & 0xC0 != 0x80:
            return i
    return min(3, len(data))


@dataclass(eq=False)
class Job:
    id: int
    code: str
    session: str | None
    timeout_s: float
    memory_mb: int
    stdin: str | None = None
    files: dict[str, str] | None = None
    fetch_files: list[str] | None = None
    keep_background: bool = False
    cancelled: bool = False


@dataclass(eq=False)
class Proc:
    """One forked run: a spare, a running snippet, or a session's process between blocks."""

    tag: int
    uid: int
    ctl: Channel
    out_fd: int
    err_fd: int
    out: Capture
    err: Capture
    forked: bool = False
    session: str | None = None
    job: Job | None = None
    started: float = 0.0
    deadline: float = float("inf")
    last_used: float = field(default_factory=time.monotonic)
    kill_reason: str | None = None
    exit_status: int | None = None
    retired: bool = False
    close_after: bool = False
    sweeping: bool = False  # a session between blocks whose background processes are being killed
    oom_kills: int = 0  # the memory cgroup's OOM-kill count of this uid before the run
    own_limit: bool = False  # a run set a memory limit other than the default on this uid's cgroup


def outcome_of_exit(wait_status: int | None, kill_reason: str | None, timeout_s: float) -> tuple[str, str | None, int | None]:
    """(status, error line, return code) of a run whose process ended without a report."""
    if kill_reason == "timeout":
        return "timeout", f"TimeoutError: execution timed out after {timeout_s:g} s", None
    if wait_status is None or kill_reason is not None:
        return "killed", f"Killed: run stopped ({kill_reason or 'lost'})", None
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        if sig == signal.SIGXCPU:
            return "timeout", "TimeoutError: CPU time limit exceeded (SIGXCPU)", -sig
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return "killed", f"Killed by signal {name} ({signal.strsignal(sig)})", -sig
    code = os.WEXITSTATUS(wait_status)
    return ("ok", None, 0) if code == 0 else ("error", f"SystemExit: {code}", code)
