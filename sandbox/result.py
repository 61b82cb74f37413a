"""`ExecResult` and the rules that turn a run into the text that goes into `<interpreter>`.

`output` is, in this order of precedence:
- status "ok": stdout; if stdout is empty, the repr of the last statement when it is an expression whose
  value is not None (Jupyter-like); otherwise "".
- any other status: stdout followed by one error line (on its own line): the error's last traceback line
  (`ZeroDivisionError: division by zero`), or `TimeoutError: ...`, `Killed by signal ...` (see docs).
It is then cut to `max_output_chars` keeping the head and the tail around `TRUNCATION_MARKER`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "memory", "killed"]
STATUSES: tuple[str, ...] = ("ok", "error", "timeout", "memory", "killed")

# The marker that replaces the middle of a too-long text; {n} is how many characters were removed.
TRUNCATION_MARKER = "\n...[truncated {n} chars]...\n"


def clip(head: str, tail: str = "", omitted: int = 0, limit: int | None = None) -> tuple[str, bool]:
    """Cut the text `head + <omitted characters> + tail` to `limit` characters plus the marker.

    Keeps the first ceil(limit/2) and the last floor(limit/2) characters; `omitted` counts characters
    already dropped upstream (the supervisor's capture limit), so the marker reports the true size.
    Returns the text and whether anything was removed.
    """
    if not omitted:
        text = head + tail
        if limit is None or len(text) <= limit:
            return text, False
        keep_head, keep_tail = (limit + 1) // 2, limit // 2
        removed = len(text) - keep_head - keep_tail
        return text[:keep_head] + TRUNCATION_MARKER.format(n=removed) + text[len(text) - keep_tail :], True
    if limit is None:
        return head + TRUNCATION_MARKER.format(n=omitted) + tail, True
    keep_head, keep_tail = min((limit + 1) // 2, len(head)), min(limit // 2, len(tail))
    removed = len(head) + omitted + len(tail) - keep_head - keep_tail
    return head[:keep_head] + TRUNCATION_MARKER.format(n=removed) + tail[len(tail) - keep_tail :], True


def compose_output(status: str, stdout: str, error: str | None, expr: str | None) -> str:
    """The untruncated `<interpreter>` text of a run (see the module docstring)."""
    if status == "ok":
        return stdout if stdout else (expr or "")
    return stdout + _error_suffix(stdout, error)


def _error_suffix(stdout: str, error: str | None) -> str:
    if not error:
        return ""
    return ("\n" if stdout and not stdout.endswith("\n") else "") + error


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of one snippet.

    status: "ok" | "error" (raised, or exited non-zero) | "timeout" (wall clock or CPU limit) | "memory"
    (MemoryError under the address-space limit) | "killed" (died from a signal, or its worker crashed).
    output: exactly what goes into `<interpreter>` (see the module docstring), truncated.
    stdout / stderr: what the run printed (stderr holds the full traceback on an error), each capped at the
    sandbox's capture limit with the same head+tail marker.
    truncated: True when `output` lost characters (it then contains the marker).
    error: the error line alone (None when status is "ok").
    return_code: the process exit status as subprocess reports it (0, 1, -signal), None after a timeout.
    extra: `files` (fetch_files, base64) and `reason` (`bad_report` when the run sent a malformed report).
    Every text is valid UTF-8: lone surrogates and undecodable bytes arrive escaped (`\\ud800`, `\\xff`).
    """

    status: Status
    output: str
    stdout: str = ""
    stderr: str = ""
    truncated: bool = False
    duration_s: float = 0.0
    error: str | None = None
    return_code: int | None = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def from_record(cls, rec: dict[str, Any], max_output_chars: int | None) -> ExecResult:
        """Build the result from the supervisor's raw record (see `supervisor.Run.record`).

        Captured streams arrive as head, tail and the size of the dropped middle; `output` is cut from
        those pieces so its head and tail are the run's true first and last characters.
        """
        status = rec["status"]
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        out_head, out_tail, out_omitted = rec.get("stdout_head", ""), rec.get("stdout_tail", ""), rec.get("stdout_omitted", 0)
        error = rec.get("error") if status != "ok" else None
        if status == "ok" and not (out_head or out_tail):
            output, truncated = clip(rec.get("expr") or "", limit=max_output_chars)
        else:
            suffix = "" if status == "ok" else _error_suffix(out_head + out_tail, error)
            output, truncated = clip(out_head, out_tail + suffix, out_omitted, max_output_chars)
        stdout, _ = clip(out_head, out_tail, out_omitted)
        stderr, _ = clip(rec.get("stderr_head", ""), rec.get("stderr_tail", ""), rec.get("stderr_omitted", 0))
        return cls(
            status=status,
            output=output,
            stdout=stdout,
            stderr=stderr,
            truncated=truncated,
            duration_s=float(rec.get("duration_s", 0.0)),
            error=error,
            return_code=rec.get("return_code"),
            extra={k: rec[k] for k in ("files", "reason") if k in rec},
        )

    @classmethod
    def crashed(cls, message: str) -> ExecResult:
        line = f"Killed: {message}"
        return cls(status="killed", output=line, error=line, return_code=None)
