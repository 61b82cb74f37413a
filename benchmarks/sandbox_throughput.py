"""Sandbox throughput and latency against a fresh `python -c` per call, same machine, same run.

    python benchmarks/sandbox_throughput.py                  # defaults: workers = usable CPUs
    python benchmarks/sandbox_throughput.py --json out.json  # also write the figures as JSON

For each snippet, (a) `print(1)` and (b) `import sympy as sp; print(sp.factorint(2**64-1))`:
- latency: sequential calls, p50/p99 (what one caller waits);
- throughput: a closed loop of concurrent callers (runs/s), with its p50/p99 latency;
- CPU per run: supervisor + fork server + runs + caller, from /proc; `cores / cpu_per_run` is the rate the
  machine would reach with idle cores, which is the figure to compare on a shared (loaded) machine.
The baseline pays a cold interpreter (and the sympy import) for every call. The limit is a bare fork loop from
a warm interpreter (same preload and warm-up, no isolation, no supervisor): what a run costs at the very least.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import Sandbox
from sandbox.config import default_workers

SNIPPETS = {
    "print(1)": ("print(1)", "1\n"),
    "sympy factorint": ("import sympy as sp; print(sp.factorint(2**64-1))",
                        "{3: 1, 5: 1, 17: 1, 257: 1, 641: 1, 65537: 1, 6700417: 1}\n"),
}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def summary(latencies: list[float], elapsed: float | None = None) -> dict[str, float]:
    out = {"n": len(latencies), "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * pct(latencies, 0.99)}
    if elapsed is not None:
        out["runs_per_s"] = len(latencies) / elapsed
    return out


def timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def baseline(code: str, expected: str, n_seq: int, n_par: int, workers: int) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENBLAS_NUM_THREADS": "1"}

    def call(_: int = 0) -> None:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        assert out.stdout == expected, out

    seq = [timed(call) for _ in range(n_seq)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        par = list(ex.map(lambda i: timed(call, i), range(n_par)))
    return {"sequential": summary(seq), "concurrent": summary(par, time.perf_counter() - t0)}


def fork_limit(code: str, expected: str, n_seq: int, n_par: int, workers: int) -> dict:
    """A bare fork loop from a warm interpreter: fork, exec the snippet with stdout on a pipe, read, reap.

    No namespaces, uid, rlimits, seccomp, supervisor or result protocol: the floor under any forking sandbox.
    """
    from sandbox.config import DEFAULT_PRELOAD, DEFAULT_WARMUP

    for name in DEFAULT_PRELOAD:
        __import__(name)
    exec(DEFAULT_WARMUP, {})
    compiled = compile(code, "<string>", "exec")

    def start() -> tuple[int, int]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.dup2(w, 1)
            try:
                exec(compiled, {"__name__": "__main__"})
                sys.stdout.flush()
            finally:
                os._exit(0)
        os.close(w)
        return pid, r

    def finish(pid: int, r: int) -> None:
        chunks = []
        while chunk := os.read(r, 1 << 16):
            chunks.append(chunk)
        os.close(r)
        os.waitpid(pid, 0)
        assert b"".join(chunks).decode() == expected

    def one() -> float:
        t0 = time.perf_counter()
        finish(*start())
        return time.perf_counter() - t0

    for _ in range(10):
        one()
    seq = [one() for _ in range(n_seq)]
    cpu0 = sum(os.times()[:4])
    t0 = time.perf_counter()
    lat: list[float] = []
    inflight: list[tuple[float, int, int]] = []
    started = 0
    while started < n_par or inflight:
        while started < n_par and len(inflight) < workers:
            inflight.append((time.perf_counter(), *start()))
            started += 1
        t_start, pid, r = inflight.pop(0)
        finish(pid, r)
        lat.append(time.perf_counter() - t_start)
    elapsed = time.perf_counter() - t0
    cpu = sum(os.times()[:4]) - cpu0
    return {"sequential": summary(seq), "concurrent": summary(lat, elapsed), "cpu_ms_per_run": 1000 * cpu / n_par}


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its reaped children (the fork server reaps every run)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def sandbox_figures(sb: Sandbox, code: str, expected: str, n_seq: int, n_par: int, concurrency: int) -> dict:
    def call(_: int = 0) -> None:
        r = sb.run(code)
        assert (r.status, r.output) == ("ok", expected), r

    for _ in range(10):
        call()
    seq = [timed(call) for _ in range(n_seq)]
    pids = (sb.info["supervisor_pid"], sb.info["forkserver_pid"])
    cpu0, self0 = sum(map(cpu_seconds, pids)), sum(os.times()[:2])
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as ex:
        par = list(ex.map(lambda i: timed(call, i), range(n_par)))
    elapsed = time.perf_counter() - t0
    time.sleep(0.2)  # let the last runs be reaped so their CPU is counted
    cpu = sum(map(cpu_seconds, pids)) - cpu0 + sum(os.times()[:2]) - self0
    return {"sequential": summary(seq), "concurrent": summary(par, elapsed), "cpu_ms_per_run": 1000 * cpu / n_par}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--latency-runs", type=int, default=200)
    ap.add_argument("--throughput-runs", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent callers in the throughput loop")
    ap.add_argument("--baseline-runs", type=int, default=10, help="python -c calls per baseline measurement (0: skip)")
    ap.add_argument("--no-fork-limit", action="store_true", help="skip the bare fork loop")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    report: dict = {"cpus": default_workers(), "workers": args.workers, "loadavg_before": os.getloadavg()}
    t0 = time.perf_counter()
    with Sandbox(workers=args.workers) as sb:
        report["sandbox_start_s"] = time.perf_counter() - t0
        report["layers"] = list(sb.layers)
        for name, (code, expected) in SNIPPETS.items():
            report[name] = {"sandbox": sandbox_figures(sb, code, expected, args.latency_runs,
                                                       args.throughput_runs, args.concurrency)}
    for name, (code, expected) in SNIPPETS.items():
        if args.baseline_runs:
            report[name]["baseline"] = baseline(code, expected, args.baseline_runs, args.baseline_runs, args.workers)
        if not args.no_fork_limit:  # last: it imports the math stack into this process
            report[name]["fork limit"] = fork_limit(code, expected, args.latency_runs, args.throughput_runs,
                                                    args.workers)
    report["loadavg_after"] = os.getloadavg()

    print(f"cpus={report['cpus']} workers={args.workers} sandbox start {report['sandbox_start_s']:.2f} s; "
          f"load average before {report['loadavg_before'][0]:.2f}, after {report['loadavg_after'][0]:.2f}")
    print("| snippet | mode | seq p50 ms | seq p99 ms | runs/s | conc. p50 ms | conc. p99 ms | CPU ms/run |"
          " runs/s on idle cores |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in SNIPPETS:
        for mode in ("baseline", "fork limit", "sandbox"):
            fig = report[name].get(mode)
            if fig is None:
                continue
            s, c = fig["sequential"], fig["concurrent"]
            cpu = fig.get("cpu_ms_per_run")
            idle = f"{1000 * report['cpus'] / cpu:.0f}" if cpu else "-"
            print(f"| {name} | {mode} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {c['runs_per_s']:.1f} | "
                  f"{c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {f'{cpu:.2f}' if cpu else '-'} | {idle} |")
    for name in SNIPPETS:
        sbx, base = report[name]["sandbox"], report[name].get("baseline")
        if base is None:
            continue
        print(f"{name}: throughput x{sbx['concurrent']['runs_per_s'] / base['concurrent']['runs_per_s']:.0f} "
              f"vs python -c; sequential p50 {sbx['sequential']['p50_ms']:.2f} ms "
              f"vs {base['sequential']['p50_ms']:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
