"""SandboxFusion's `POST /run_code` wire format: the request checked field by field, the response mapped from an
`ExecResult`, and JSON encoding that cannot fail on text a run printed.

Request: `{code, language, run_timeout, memory_limit_MB, stdin, files, fetch_files, compile_timeout}`; unknown keys
are ignored (as SandboxFusion's pydantic model does). Response: `{status, message, compile_result, run_result:
{status, execution_time, return_code, stdout, stderr}, executor_pod_name, files}` plus `retool: {status, output,
truncated}`, where `output` is exactly what goes into `<interpreter>`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

from sandbox.result import ExecResult

LANGUAGES = ("python", "python3")


class RequestError(ValueError):
    """A field has the wrong type or value (answered 422, like SandboxFusion's FastAPI validation)."""


@dataclass(frozen=True)
class RunCodeArgs:
    code: str
    language: str
    run_timeout: float | None  # None: the server's default
    memory_mb: int | None
    stdin: str | None
    files: dict[str, str] | None
    fetch_files: list[str] | None


def parse_run_code(req: dict[str, Any]) -> RunCodeArgs:
    """Check every field of a decoded `/run_code` body; raise `RequestError` naming the first bad one."""
    if "code" not in req:
        raise RequestError("`code` is required")
    language = req.get("language", "python")
    if not isinstance(language, str):
        raise RequestError("`language` must be a string")
    _seconds(req, "compile_timeout")  # not used (python is not compiled) but still a number when given
    files = req.get("files")
    if files is not None:
        if not isinstance(files, dict):
            raise RequestError("`files` must be an object of {path: base64 string or null}")
        files = {name: _base64(name, data) for name, data in files.items() if data is not None}
    fetch = req.get("fetch_files")
    if fetch is not None and not (isinstance(fetch, list) and all(isinstance(p, str) for p in fetch)):
        raise RequestError("`fetch_files` must be a list of strings")
    return RunCodeArgs(
        code=_text(req, "code"),
        language=language,
        run_timeout=_seconds(req, "run_timeout"),
        memory_mb=_megabytes(req, "memory_limit_MB"),
        stdin=_text(req, "stdin") or None,
        files=files or None,
        fetch_files=[_checked(f"fetch_files[{i}]", p) for i, p in enumerate(fetch)] if fetch else None,
    )


def _text(req: dict[str, Any], key: str) -> str | None:
    value = req.get(key)
    if value is None and key != "code":
        return None
    if not isinstance(value, str):
        raise RequestError(f"`{key}` must be a string")
    return _checked(key, value)


def _checked(name: str, value: str) -> str:
    # A lone surrogate (a JSON "\ud800" escape) is not text: it cannot reach a run or come back in a reply.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RequestError(
            f"`{name}` holds a lone surrogate at index {e.start} (not valid Unicode)"
        ) from None
    return value


def _seconds(req: dict[str, Any], key: str) -> float | None:
    value = req.get(key)
    if value is None or value == -1:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise RequestError(f"`{key}` must be a finite number of seconds > 0 (or -1 / null for the default)")
    return float(value)


def _megabytes(req: dict[str, Any], key: str) -> int | None:
    value = req.get(key)
    if value is None or value == -1:
        return None
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not integral or value < 16:
        raise RequestError(f"`{key}` must be an integer >= 16 (or -1 / null for the default)")
    return int(value)


def _base64(name: Any, data: Any) -> str:
    if not isinstance(name, str) or not name:
        raise RequestError("`files` keys must be non-empty paths")
    if not isinstance(data, str):
        raise RequestError(f"`files[{name!r}]` must be a base64 string or null")
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(f"`files[{name!r}]` is not valid base64") from None
    return data


def run_code_response(r: ExecResult) -> dict[str, Any]:
    """Map an `ExecResult` onto SandboxFusion's RunCodeResponse."""
    run_status = "TimeLimitExceeded" if r.status == "timeout" else "Finished"
    return {
        "status": "Success" if r.status == "ok" else "Failed",
        "message": "" if r.status == "ok" else (r.error or ""),
        "compile_result": None,
        "run_result": {
            "status": run_status,
            "execution_time": r.duration_s,
            "return_code": r.return_code,
            "stdout": r.stdout,
            "stderr": r.stderr,
        },
        "executor_pod_name": None,
        "files": r.extra.get("files", {}),
        "retool": {"status": r.status, "output": r.output, "truncated": r.truncated},
    }


def sandbox_error(message: str) -> dict[str, Any]:
    """SandboxFusion's answer when the sandbox itself could not run the request (HTTP 200, as it does)."""
    return {
        "status": "SandboxError",
        "message": message,
        "compile_result": None,
        "run_result": None,
        "executor_pod_name": None,
        "files": {},
    }


def encode_json(obj: Any) -> bytes:
    """UTF-8 JSON; a lone surrogate in any string (text a run printed) comes out as the six characters `\\udXXX`
    (`backslashreplace`), the escaping the sandbox uses everywhere, instead of failing the reply."""
    try:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(_scrub(obj), ensure_ascii=False).encode("utf-8")


def _scrub(obj: Any) -> Any:
    if isinstance(obj, str):
        return obj.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_scrub(v) for v in obj]
    return obj
