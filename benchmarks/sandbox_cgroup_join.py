"""What it costs a run to join its memory cgroup, by the file it writes (root, with a memory cgroup only).

    python benchmarks/sandbox_cgroup_join.py            # 400 forks per variant
    python benchmarks/sandbox_cgroup_join.py --runs 1000

A warm interpreter forks a child that writes `0` into a fresh run cgroup's `cgroup.procs` (moves the process; on
cgroup v1 under the system-wide threadgroup rwsem) or `tasks` (v1: moves the calling thread, no global lock),
or writes nothing; the child reports its own CPU time (`time.thread_time_ns`) and wall time for the write.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import memcg

UID = 4242  # any run-<n> name: the cgroup lives under this process's fresh sandbox directory


def measure(cg: memcg.MemoryCgroup, join_file: str | None, runs: int) -> tuple[list[int], list[int]]:
    r, w = os.pipe()
    cpu, wall = [], []
    for _ in range(runs):
        pid = os.fork()
        if pid == 0:
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            if join_file is not None:
                fd = os.open(f"run-{UID}/{join_file}", os.O_WRONLY, dir_fd=cg.fd)
                os.write(fd, b"0")
                os.close(fd)
            c1, t1 = time.thread_time_ns(), time.perf_counter_ns()
            os.write(w, f"{c1 - c0} {t1 - t0}\n".encode())
            os._exit(0)
        os.waitpid(pid, 0)
        c, t = map(int, os.read(r, 100).split())
        cpu.append(c)
        wall.append(t)
    os.close(r)
    os.close(w)
    return cpu, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=400)
    args = ap.parse_args()
    cg = memcg.MemoryCgroup.create()
    try:
        cg.prepare(UID, 1 << 30)
        variants = {"nothing": None, "cgroup.procs": "cgroup.procs"}
        if cg.version == 1:
            variants["tasks"] = "tasks"
        print(f"cgroup v{cg.version}, {args.runs} forks each; us: CPU p50 / p90, wall p50 / p99 / max")
        for _ in range(2):  # twice, alternating, to see the spread
            for name, join_file in variants.items():
                cpu, wall = (sorted(v) for v in measure(cg, join_file, args.runs))
                n = len(cpu)
                print(
                    f"  {name:13s} CPU {cpu[n // 2] / 1e3:6.0f} / {cpu[n * 9 // 10] / 1e3:6.0f}   "
                    f"wall {wall[n // 2] / 1e3:6.0f} / {wall[n * 99 // 100] / 1e3:6.0f} / {wall[-1] / 1e3:7.0f}"
                )
    finally:
        memcg.remove_tree(cg.path)


if __name__ == "__main__":
    main()
