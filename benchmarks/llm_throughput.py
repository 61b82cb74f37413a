"""LLM client throughput against a server with a fixed latency: concurrency C, latency L -> ideal C/L req/s.

The scripted OpenAI-compatible server runs in its own process (its own GIL) and answers every request after
exactly L seconds; the client is the real `AsyncChatClient` (openai SDK, retries armed, response cache on or
off). Efficiency = measured req/s / (C/L); the target is >= 0.90.

    python benchmarks/llm_throughput.py                       # the table in docs/benchmarks.md
    python benchmarks/llm_throughput.py --concurrency 64 --latency 0.5 --rounds 8
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from retool_data.llm.cache import NullCache, ResponseCache  # noqa: E402
from retool_data.llm.client import AsyncChatClient, ClientConfig  # noqa: E402
from retool_data.llm.types import ChatRequest  # noqa: E402

DEFAULT_GRID = [(16, 0.5), (64, 1.0), (256, 4.0)]  # C/L up to 64 req/s; R1 replies take 10-60 s


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.retool_data.llm.fake_openai", "--latency", str(latency)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def measure(base_url: str, concurrency: int, latency: float, rounds: int, cache_dir: Path | None) -> dict:
    n = concurrency * rounds
    cache = ResponseCache(cache_dir) if cache_dir is not None else NullCache()
    cfg = ClientConfig(
        base_url=base_url, model="bench", api_key="x", concurrency=concurrency, timeout_s=30, progress=False
    )
    client = AsyncChatClient(cfg, cache)
    tag = time.time_ns()  # fresh prompts every time: nothing comes from the cache
    requests = [ChatRequest.user(f"bench {tag} {i}") for i in range(n)]
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = asyncio.run(client.complete_all(requests))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert all(r.ok for r in out), [r.error for r in out if not r.ok][:3]
    ideal = concurrency / latency
    return {
        "C": concurrency,
        "L": latency,
        "requests": n,
        "seconds": elapsed,
        "req_s": n / elapsed,
        "ideal": ideal,
        "efficiency": n / elapsed / ideal,
        "cpu_ms": cpu / n * 1000,
        "cache": cache_dir is not None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--latency", type=float)
    ap.add_argument("--rounds", type=int, default=10, help="requests per worker")
    ap.add_argument("--target", type=float, default=0.90)
    args = ap.parse_args()
    grid = [(args.concurrency, args.latency)] if args.concurrency and args.latency else DEFAULT_GRID
    print(f"{'C':>5} {'L (s)':>6} {'cache':>6} {'requests':>8} {'req/s':>8} {'C/L':>8} {'efficiency':>10} {'cpu ms/req':>10}")
    worst = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency, latency in grid:
            server, url = start_server(latency)
            try:
                measure(url, min(concurrency, 8), latency, 1, None)  # warm-up: imports, first connections
                for cache_dir in (None, Path(tmp) / f"c{concurrency}"):
                    r = measure(url, concurrency, latency, args.rounds, cache_dir)
                    worst = min(worst, r["efficiency"])
                    print(
                        f"{r['C']:>5} {r['L']:>6} {'on' if r['cache'] else 'off':>6} {r['requests']:>8} "
                        f"{r['req_s']:>8.1f} {r['ideal']:>8.1f} {r['efficiency']:>10.1%} {r['cpu_ms']:>10.2f}",
                        flush=True,
                    )
            finally:
                server.terminate()
                server.wait(10)
    print(f"worst efficiency {worst:.1%} (target {args.target:.0%})")
    return 0 if worst >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
