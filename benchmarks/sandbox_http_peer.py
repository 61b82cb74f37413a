"""`retool-data sandbox serve` against SandboxFusion's own server: same machine, same requests, same clients.

    python benchmarks/sandbox_http_peer.py                                   # ours only (started here)
    python benchmarks/sandbox_http_peer.py --peer http://127.0.0.1:8081      # ours and a running SandboxFusion
    python benchmarks/sandbox_http_peer.py --ours-workers 2 64 --rounds 3 --json out.json

SandboxFusion is not a dependency: start it yourself from a checkout in a scratch virtualenv (docs/benchmarks.md,
"Sandbox HTTP server against SandboxFusion", has the exact steps) and pass its URL. Our server is started here as
`python -m retool_data sandbox serve` (a subprocess, once per `--ours-workers` value) on a free port.

Scenarios, each a closed loop of `--concurrency` clients (64) posting verl's request shape to `/run_code` over
kept-alive connections: `print(1)`, a sympy snippet, and a timeout (`time.sleep(30)` with run_timeout 1 s;
`--scenarios spin` is `while True: pass` instead, which mostly measures a small machine's CPU). Per scenario and
server: requests/s, p50/p99 latency, errors (transport errors, HTTP status other than 200, or a wrong result:
stdout must match exactly, the timeout must come back as TimeLimitExceeded), and CPU ms per request of the
server's whole process tree (its children's time included, from /proc), which is the fairer figure on a shared
machine. Servers are measured one at a time, alternating, `--rounds` times; the medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]

SCENARIOS = {
    "print(1)": ({"code": "print(1)", "run_timeout": 5}, "1\n"),
    "sympy": (
        {"code": "import sympy as sp\nprint(sp.factorint(2**64 - 1))", "run_timeout": 10},
        "{3: 1, 5: 1, 17: 1, 257: 1, 641: 1, 65537: 1, 6700417: 1}\n",
    ),
    "timeout": ({"code": "import time\ntime.sleep(30)", "run_timeout": 1}, None),
    # Not in the defaults: 64 busy loops saturate a small shared machine, which then measures the machine.
    "spin": ({"code": "while True: pass", "run_timeout": 1}, None),
}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def tree_cpu_seconds(root: int) -> float:
    """CPU of `root` and every live descendant, each with its reaped children (runs are reaped inside the tree)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(name)] = fields
            children.setdefault(int(fields[1]), []).append(int(name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += sum(int(x) for x in stats[pid][11:15])
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def pid_listening(port: int) -> int | None:
    """The process holding the listening TCP socket on `port` (to account the peer's CPU)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{cols[9]}]")
        except OSError:
            pass
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{name}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{name}/fd")):
                return int(name)
        except OSError:
            continue
    return None


async def scenario(url: str, body: dict, expected: str | None, n: int, concurrency: int) -> dict:
    request = {
        "compile_timeout": 10,
        "stdin": "",
        "language": "python",
        "files": {},
        "fetch_files": [],
        **body,
    }
    latencies: list[float] = []
    errors: dict[str, int] = {}
    todo = iter(range(n))

    async def client(http: httpx.AsyncClient) -> None:
        for _ in todo:
            t0 = time.perf_counter()
            try:
                resp = await http.post(url + "/run_code", json=request)
                reply = resp.json() if resp.status_code == 200 else None
            except (httpx.HTTPError, ValueError) as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            run = (reply or {}).get("run_result") or {}
            ok = (
                run.get("status") == "TimeLimitExceeded"
                if expected is None
                else run.get("stdout") == expected and reply["status"] == "Success"
            )
            if not ok:
                key = f"HTTP {resp.status_code}" if reply is None else f"wrong result ({reply.get('status')})"
                errors[key] = errors.get(key, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "n": n,
        "req_per_s": n / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * pct(latencies, 0.99),
        "errors": errors,
    }


def measure(url: str, pid: int | None, name: str, args: argparse.Namespace) -> dict:
    body, expected = SCENARIOS[name]
    n = args.timeout_requests if name in ("timeout", "spin") else args.requests
    asyncio.run(scenario(url, body, expected, min(n, args.concurrency), args.concurrency))  # warm-up
    cpu0 = tree_cpu_seconds(pid) if pid else None
    fig = asyncio.run(scenario(url, body, expected, n, args.concurrency))
    time.sleep(0.3)  # let the last runs be reaped so their CPU is counted
    if pid:
        fig["cpu_ms_per_req"] = 1000 * (tree_cpu_seconds(pid) - cpu0) / n
    return fig


def start_ours(workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "retool_data",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--max-timeout-s",
            "30",
        ],
        cwd=REPO,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url + "/v1/ping", timeout=2).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("our server did not start") from None
            time.sleep(0.2)


def _raw(url: str, data: bytes, wait_s: float = 10.0) -> str:
    """Send raw bytes on a fresh connection; describe the first thing that comes back."""
    host, port = url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=wait_s) as s:
        s.sendall(data)
        t0 = time.perf_counter()
        reply = b""
        try:
            reply = s.recv(65536)
            while reply and b"\r\n\r\n" not in reply or reply.endswith(b"\r\n\r\n"):
                more = s.recv(65536)  # the rest of the head, or a body sent apart from it
                if not more:
                    break
                reply += more
        except TimeoutError:
            if not reply:
                return f"no reply, still open after {wait_s:.0f} s"
        except ConnectionResetError:
            return "connection reset, no reply"
    if not reply:
        return f"closed without a reply after {time.perf_counter() - t0:.1f} s"
    head, _, body = reply.partition(b"\r\n\r\n")
    kind = "JSON" if b"application/json" in head.lower() else "text"
    return f"{head.split(b' ', 2)[1].decode()} ({kind}) {body[:70].decode('utf-8', 'replace')!r}"


def _post(body: bytes, *headers: str, length: bool = True) -> bytes:
    lines = ["POST /run_code HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *headers]
    lines += [f"Content-Length: {len(body)}"] if length else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


PROBES = {
    "Content-Length: -1": lambda: _post(b'{"code": "print(1)"}', "Content-Length: -1", length=False),
    "Content-Length: abc": lambda: _post(b'{"code": "print(1)"}', "Content-Length: abc", length=False),
    "1 GiB announced, body not sent": lambda: _post(b"", "Content-Length: 1073741824", length=False),
    "no Content-Length": lambda: _post(b"", length=False),
    "nested JSON (100k '[')": lambda: _post(b"[" * 100_000),
    "lone surrogate in code": lambda: _post(
        json.dumps({"code": "print(1)\ud800", "language": "python"}).encode()
    ),
    "headers never finished": lambda: b"POST /run_code HTTP/1.1\r\nHost: x\r\n",
}


def probes(targets: list[tuple[str, str]]) -> None:
    print("| probe | " + " | ".join(label for label, _ in targets) + " |")
    print("|---|" + "---|" * len(targets))
    for name, make in PROBES.items():
        wait = 30.0 if name == "headers never finished" else 10.0
        print(f"| {name} | " + " | ".join(_raw(url, make(), wait) for _, url in targets) + " |")


def median_of(rounds: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in rounds) for k in ("req_per_s", "p50_ms", "p99_ms")}
    if all("cpu_ms_per_req" in r for r in rounds):
        out["cpu_ms_per_req"] = statistics.median(r["cpu_ms_per_req"] for r in rounds)
    errors: dict[str, int] = {}
    for r in rounds:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    out["errors"] = errors
    out["requests"] = sum(r["n"] for r in rounds)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", help="base URL of a running SandboxFusion server (http://127.0.0.1:8081)")
    ap.add_argument(
        "--ours-workers",
        type=int,
        nargs="+",
        default=[len(os.sched_getaffinity(0))],
        help="sandbox workers of our server; one server per value (default: the CPUs)",
    )
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=256, help="per round, print(1) and sympy")
    ap.add_argument("--timeout-requests", type=int, default=64, help="per round, the timeout scenario")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--scenarios", nargs="+", default=["print(1)", "sympy", "timeout"], choices=list(SCENARIOS)
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument("--probes", action="store_true", help="hostile requests instead of the load scenarios")
    args = ap.parse_args()
    if args.probes:
        proc, url = start_ours(args.ours_workers[0])
        try:
            probes([("ours", url)] + ([("SandboxFusion", args.peer.rstrip("/"))] if args.peer else []))
        finally:
            proc.terminate()
            proc.wait(30)
        return

    report: dict = {
        "cpus": len(os.sched_getaffinity(0)),
        "loadavg_before": os.getloadavg(),
        "concurrency": args.concurrency,
    }
    rounds: dict[tuple[str, str], list[dict]] = {}
    peer_pid = pid_listening(int(args.peer.rsplit(":", 1)[1].strip("/"))) if args.peer else None
    ours = {w: start_ours(w) for w in args.ours_workers}
    try:
        for _ in range(args.rounds):
            for name in args.scenarios:
                targets = [(f"ours ({w} workers)", url, proc.pid) for w, (proc, url) in ours.items()]
                if args.peer:
                    targets.append(("SandboxFusion", args.peer.rstrip("/"), peer_pid))
                for label, url, pid in targets:
                    fig = measure(url, pid, name, args)
                    rounds.setdefault((name, label), []).append(fig)
                    print(
                        f"{name:9} {label:22} {fig['req_per_s']:7.1f} req/s  p50 {fig['p50_ms']:8.1f} ms  "
                        f"p99 {fig['p99_ms']:8.1f} ms  errors {fig['errors']}",
                        file=sys.stderr,
                    )
    finally:
        for proc, _ in ours.values():
            proc.terminate()
            proc.wait(30)
    report["loadavg_after"] = os.getloadavg()
    report["results"] = {f"{n} | {label}": median_of(r) for (n, label), r in rounds.items()}

    print(
        f"{args.concurrency} concurrent clients, {args.rounds} rounds, medians; load average before "
        f"{report['loadavg_before'][0]:.2f}, after {report['loadavg_after'][0]:.2f}; cpus={report['cpus']}"
    )
    print("| scenario | server | req/s | p50 ms | p99 ms | CPU ms/req | requests | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for key, fig in report["results"].items():
        cpu = f"{fig['cpu_ms_per_req']:.1f}" if "cpu_ms_per_req" in fig else "-"
        errors = ", ".join(f"{k}: {v}" for k, v in fig["errors"].items()) or "0"
        print(
            f"| {key} | {fig['req_per_s']:.1f} | {fig['p50_ms']:.1f} | {fig['p99_ms']:.1f} | {cpu} | "
            f"{fig['requests']} | {errors} |"
        )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
