"""`retool-data sandbox ...`: serve the sandbox over HTTP (SandboxFusion-compatible), check it, run a snippet."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from retool_data.cli.bad_input import require_file

sandbox_app = typer.Typer(help="The isolated Python sandbox (see docs/sandbox.md).", no_args_is_help=True)

_WORKERS = typer.Option(None, help="Runs executing at once (default: the usable CPUs); more are queued.")
_DEGRADED = typer.Option(False, "--allow-degraded",
                         help="Start even if the kernel refuses a layer (each missing one is logged). Unsafe.")


@sandbox_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind; loopback by default."),
    port: int = typer.Option(8080, help="TCP port."),
    workers: int | None = _WORKERS,
    timeout_s: float = typer.Option(10.0, help="Default run timeout when a request has no run_timeout."),
    memory_mb: int = typer.Option(1024, help="Default memory when a request has no memory_limit_MB."),
    max_timeout_s: float = typer.Option(60.0, help="Upper bound on a request's run_timeout."),
    max_memory_mb: int = typer.Option(4096, help="Upper bound on a request's memory_limit_MB."),
    max_output_chars: int = typer.Option(400, help="Length of the `retool.output` field before truncation."),
    token: str | None = typer.Option(None, envvar="RETOOL_SANDBOX_TOKEN",
                                        help="Require `Authorization: Bearer TOKEN` on /run_code and /health."),
    max_pending: int = typer.Option(1024, help="Requests read, queued or running at once; more get a JSON 503."),
    read_timeout_s: float = typer.Option(10.0, help="Seconds for a request's headers, and again for its body "
                                                    "(slow or stalled clients get a JSON 408 and are closed)."),
    allow_degraded: bool = _DEGRADED,
) -> None:
    """Serve POST /run_code (SandboxFusion request/response shape) with uvicorn until interrupted."""
    import logging
    import signal

    from sandbox import Sandbox
    from sandbox.server import SandboxFusionServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if host not in ("127.0.0.1", "::1", "localhost") and not token:
        typer.echo(f"warning: serving on {host} without --token: anyone who can reach it can run code here",
                   err=True)
    with Sandbox(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb, max_output_chars=max_output_chars,
                 allow_degraded=allow_degraded) as sb:
        server = SandboxFusionServer(sb, host, port, token=token, max_timeout_s=max_timeout_s,
                                     max_memory_mb=max_memory_mb, max_pending=max_pending,
                                     read_timeout_s=read_timeout_s)
        typer.echo(f"sandbox serving on {server.url} (POST /run_code); layers: {', '.join(sb.layers)}", err=True)
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@sandbox_app.command("check")
def check(allow_degraded: bool = _DEGRADED) -> None:
    """Start a sandbox, print its isolation layers and warnings as JSON, and run a probe snippet."""
    from sandbox import Sandbox

    with Sandbox(workers=1, allow_degraded=allow_degraded) as sb:
        probe = sb.run("import sympy, os; print(sympy.factorint(2**64 - 1), os.getuid() != 0)")
        typer.echo(json.dumps({"layers": list(sb.layers), "warnings": sb.info["warnings"],
                               "probe": {"status": probe.status, "output": probe.output}}, indent=2))
    if probe.status != "ok":
        raise typer.Exit(1)


@sandbox_app.command("run")
def run(
    file: Path | None = typer.Argument(None, help="Python file to run; '-' or nothing reads stdin."),
    code: str | None = typer.Option(None, "-c", help="Code to run instead of a file."),
    timeout_s: float = typer.Option(5.0),
    memory_mb: int = typer.Option(1024),
    max_output_chars: int = typer.Option(400),
    allow_degraded: bool = _DEGRADED,
) -> None:
    """Run one snippet in the sandbox and print its ExecResult as JSON (exit status 1 unless it is ok)."""
    from dataclasses import asdict

    from sandbox import Sandbox

    if code is None:
        stdin = file is None or str(file) == "-"
        code = sys.stdin.read() if stdin else require_file(file, "FILE").read_text()
    with Sandbox(workers=1, timeout_s=timeout_s, memory_mb=memory_mb, max_output_chars=max_output_chars,
                 allow_degraded=allow_degraded) as sb:
        result = sb.run(code)
    typer.echo(json.dumps(asdict(result), indent=2, ensure_ascii=False))
    if result.status != "ok":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
