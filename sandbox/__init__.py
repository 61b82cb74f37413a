"""Isolated, warm Python execution for curation and RL rollouts (see docs/sandbox.md).

    from sandbox import Sandbox, ExecResult
    with Sandbox(workers=2, timeout_s=5.0, memory_mb=1024, max_output_chars=400) as sb:
        r = sb.run("print(2+3)")                       # r.status == "ok", r.output == "5\n"
        r = await sb.arun(code, session="trace-17")     # notebook-like state per session
"""

from sandbox.isolation import IsolationError
from sandbox.pool import Sandbox, SandboxError
from sandbox.result import STATUSES, TRUNCATION_MARKER, ExecResult, Status

__all__ = ["STATUSES", "TRUNCATION_MARKER", "ExecResult", "IsolationError", "Sandbox", "SandboxError", "Status"]
