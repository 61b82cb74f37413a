"""The sandbox as a shared service: `RemoteSandbox` runs code on one or more `retool-data sandbox serve`
endpoints (SandboxFusion's ``POST /run_code``) with the interface the stages use of a local `sandbox.Sandbox`
(``run``/``arun`` with ``session=``, ``close_session``/``aclose_session``, ``config.max_sessions``).

Sessions over a stateless API: ``/run_code`` runs each request in a fresh interpreter, while the consistency
check runs a trace's code blocks in one notebook-like session. The client keeps each session's earlier blocks and
sends them ahead of the new one, on one line that re-executes them silently (stdout and stderr discarded, an
error ignored as the session would have kept the state up to it), so the new block sees the same variables and
its own output is the only output. Deterministic code therefore gets the verdicts of the local pool; code that
draws unseeded random numbers differs between any two runs anyway. A block that timed out, ran out of memory or
was killed ends the session's state, as in the local pool. Replays cost O(blocks²) execution: traces have few.

Requests go round-robin over the endpoints; one that refuses the connection or answers 5xx is skipped for that
request (the next one is tried), so a worker keeps going while an endpoint restarts. The exact `<interpreter>`
text comes from the server's ``retool`` extension of the response; a plain SandboxFusion server's answer is
mapped from ``run_result`` (stdout, or the last line of stderr after an error).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.result import ExecResult

SESSION_LOST = ("timeout", "memory", "killed")
_REPLAY = (
    "import contextlib as _rt_c, io as _rt_io\n"
    "for _rt_src in {blocks}:\n"
    "    with _rt_c.redirect_stdout(_rt_io.StringIO()), _rt_c.redirect_stderr(_rt_io.StringIO()):\n"
    "        try:\n"
    "            exec(compile(_rt_src, '<cell>', 'exec'), globals())\n"
    "        except BaseException:\n"
    "            pass\n"
    "del _rt_c, _rt_io, _rt_src\n"
)


class SandboxUnavailable(RuntimeError):
    """No endpoint answered a request."""


@dataclass(frozen=True)
class RemoteConfig:
    """What the stages read of a sandbox's config, and the client's own limits."""

    timeout_s: float = 5.0  # per code block, sent as run_timeout
    memory_mb: int = 1024
    max_sessions: int = 64  # traces checked at once (each holds a session)
    request_timeout_s: float = 120.0  # HTTP, per request: the block's time plus queueing on the server


def replay_program(earlier: Sequence[str], code: str) -> str:
    """``code`` preceded by one line that silently re-runs the session's ``earlier`` blocks."""
    if not earlier:
        return code
    prelude = _REPLAY.format(blocks=json.dumps(list(earlier)))
    return f"exec({prelude!r})\n{code}"


def result_from_response(body: dict[str, Any]) -> ExecResult:
    """An `ExecResult` from a ``/run_code`` answer (the ``retool`` extension when present)."""
    run = body.get("run_result") or {}
    stdout, stderr = run.get("stdout") or "", run.get("stderr") or ""
    extra = body.get("retool")
    if body.get("status") == "SandboxError" and not run:
        raise SandboxUnavailable(f"the sandbox refused the request: {body.get('message')}")
    if isinstance(extra, dict):
        status, output, truncated = extra["status"], extra["output"], bool(extra.get("truncated"))
    else:  # a plain SandboxFusion server
        failed = body.get("status") != "Success"
        status = "timeout" if run.get("status") == "TimeLimitExceeded" else ("error" if failed else "ok")
        error = stderr.strip().splitlines()[-1] if failed and stderr.strip() else None
        output = stdout + (("\n" if stdout and not stdout.endswith("\n") else "") + error if error else "")
        truncated = False
    error_line = None if status == "ok" else (body.get("message") or None)
    return ExecResult(
        status=status,
        output=output,
        stdout=stdout,
        stderr=stderr,
        truncated=truncated,
        duration_s=float(run.get("execution_time") or 0.0),
        error=error_line,
        return_code=run.get("return_code"),
    )


class RemoteSandbox:
    """`sandbox.Sandbox`'s stage-facing API over ``retool-data sandbox serve`` endpoints."""

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        token: str | None = None,
        config: RemoteConfig | None = None,
    ) -> None:
        if not endpoints:
            raise ValueError("RemoteSandbox needs at least one endpoint (http://host:port)")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.token = token
        self.config = config or RemoteConfig()
        self._sessions: dict[str, list[str]] = {}
        self._next = itertools.cycle(range(len(self.endpoints)))
        self.layers = ("remote",)

    # --------------------------------------------------------------------------------------- requests
    def _body(self, code: str, timeout_s: float | None, memory_mb: int | None) -> dict[str, Any]:
        return {
            "code": code,
            "language": "python",
            "run_timeout": timeout_s or self.config.timeout_s,
            "memory_limit_MB": memory_mb or self.config.memory_mb,
        }

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _order(self) -> list[str]:
        first = next(self._next)
        return self.endpoints[first:] + self.endpoints[:first]

    async def _post(self, body: dict[str, Any]) -> ExecResult:
        import httpx

        errors = []
        async with httpx.AsyncClient(timeout=self.config.request_timeout_s, headers=self._headers()) as http:
            for endpoint in self._order():
                try:
                    resp = await http.post(f"{endpoint}/run_code", json=body)
                except httpx.TransportError as exc:
                    errors.append(f"{endpoint}: {type(exc).__name__}: {exc}")
                    continue
                if resp.status_code >= 500:
                    errors.append(f"{endpoint}: HTTP {resp.status_code}")
                    continue
                if resp.status_code != 200:
                    raise SandboxUnavailable(f"{endpoint}: HTTP {resp.status_code}: {resp.text[:300]}")
                return result_from_response(resp.json())
        raise SandboxUnavailable("no sandbox endpoint answered: " + "; ".join(errors))

    # --------------------------------------------------------------------------------------- the API
    async def arun(
        self,
        code: str,
        *,
        session: str | None = None,
        timeout_s: float | None = None,
        memory_mb: int | None = None,
    ) -> ExecResult:
        earlier = self._sessions.setdefault(session, []) if session is not None else []
        result = await self._post(self._body(replay_program(earlier, code), timeout_s, memory_mb))
        if session is not None:
            if result.status in SESSION_LOST:
                earlier.clear()  # the local pool loses the session's process and its state
            else:
                earlier.append(code)
        return result

    def run(self, code: str, **kwargs: Any) -> ExecResult:
        from retool_data.aio import run_sync

        return run_sync(self.arun(code, **kwargs))

    async def aclose_session(self, session: str) -> None:
        self._sessions.pop(session, None)

    def close_session(self, session: str) -> None:
        self._sessions.pop(session, None)

    def close(self) -> None:
        self._sessions.clear()

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _ping(endpoint: str) -> bool:  # pragma: no cover - a convenience for the CLI
    import httpx

    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{endpoint}/ping")).status_code == 200


def endpoints_ready(endpoints: Sequence[str]) -> bool:
    """True when every endpoint answers ``GET /ping``."""
    from retool_data.aio import run_sync

    async def all_up() -> bool:
        try:
            return all(await asyncio.gather(*(_ping(e.rstrip("/")) for e in endpoints)))
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    return run_sync(all_up())
