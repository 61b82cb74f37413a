"""Rollout makespan under heavy-tailed generation latency: per-sample loops vs the lockstep loop (issue 18, item 4).

    python benchmarks/rollout_concurrency.py                     # 32 samples, 1-4 code turns each
    python benchmarks/rollout_concurrency.py --samples 64 --sigma 1.2 --seed 1

A local OpenAI-compatible server on 127.0.0.1 (the tests' scripted server, `tests/retool_data/llm/fake_openai.py`)
plays every sample's turns: sample i writes ``1..--max-code-turns`` code blocks, then an answer, and each of its
replies is delayed by a log-normal latency (median ``--median-s``, shape ``--sigma``): a heavy tail, as long
generations are on a real server. The real rollout loop (`training.rollout.loop.run_rollouts`), the real
`OpenAICompletionsBackend` and the real sandbox run the batch twice:

* **per sample** (today's loop): each sample's generate -> execute -> continue runs on its own;
* **lockstep** (the loop before): the backend wrapped so that it only offers the batched ``generate``, one call per
  turn with every live sample, so each turn waits for its slowest sample.

A sample's own critical path is what it cannot do faster alone: the sum of its scripted latencies plus its sandbox
calls' run times. Printed: the batch makespan of each schedule and its ratio to the longest critical path (target for
per sample: <= 1.15).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class Lockstep:
    """The backend as the old loop saw it: only the batched ``generate`` (no ``agenerate_one``)."""

    def __init__(self, backend) -> None:
        self.generate = backend.generate


def scripted_turns(samples: int, max_code_turns: int, median_s: float, sigma: float, seed: int) -> list[list]:
    """Per sample, per turn: (reply text, latency in seconds); the last turn is the answer."""
    rng = random.Random(seed)
    script = []
    for i in range(samples):
        turns = []
        for k in range(rng.randint(1, max_code_turns)):
            code = f"print({i} * {k + 2})"
            turns.append(
                (f"Step {k}.\n<code>\n```python\n{code}\n```\n</code>\n", rng.lognormvariate(0, sigma))
            )
        turns.append((f"So the answer is <answer>\\boxed{{{i}}}</answer>", rng.lognormvariate(0, sigma)))
        script.append([(text, median_s * lat) for text, lat in turns])
    return script


def run(args: argparse.Namespace) -> dict:
    from sandbox import Sandbox
    from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply
    from tests.training.grpo_helpers import chat_prompt_ids, qwen2_style_tokenizer
    from training.rollout.backends.completions import OpenAICompletionsBackend
    from training.rollout.generation import SamplingSettings
    from training.rollout.loop import RolloutConfig, run_rollouts

    script = scripted_turns(args.samples, args.max_code_turns, args.median_s, args.sigma, args.seed)

    def responder(body: dict, seen: int) -> Reply:
        prompt = str(body["prompt"])
        i = int(re.search(r"Sample (\d+):", prompt).group(1))
        text, latency = script[i][prompt.count("</interpreter>")]
        return Reply(text=text, delay=latency)

    tok = qwen2_style_tokenizer()
    prompts = [chat_prompt_ids(tok, f"Sample {i}: what is {i} times two?") for i in range(args.samples)]
    config = RolloutConfig(max_completion_tokens=2048, max_tool_calls=args.max_code_turns)
    out: dict = {"samples": args.samples, "turns": sum(len(t) for t in script)}
    with FakeOpenAIServer(responder) as server, Sandbox(workers=args.sandbox_workers) as sb:
        backend = OpenAICompletionsBackend(
            server.base_url, tok, SamplingSettings(), [tok.eos_token_id], max_concurrency=args.samples
        )
        run_rollouts(backend, sb, tok, prompts[:1], config)  # warm: connections, sandbox workers
        for name, schedule in (("lockstep", Lockstep(backend)), ("per_sample", backend)):
            t0 = time.perf_counter()
            batch = run_rollouts(schedule, sb, tok, prompts, config)
            makespan = time.perf_counter() - t0
            for i, r in enumerate(batch.results):  # every sample really ran its scripted turns and code
                assert r.end == "eos" and r.num_tool_calls == len(script[i]) - 1 and r.code_errors == 0, (
                    r.text
                )
            critical = max(
                sum(lat for _, lat in script[i]) + sum(c.duration_s for c in r.tool_calls)
                for i, r in enumerate(batch.results)
            )
            out[name] = {"makespan_s": round(makespan, 3), "critical_path_s": round(critical, 3),
                         "ratio": round(makespan / critical, 3)}  # fmt: skip
        backend.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--max-code-turns", type=int, default=4)
    ap.add_argument("--median-s", type=float, default=0.2, help="median reply latency (seconds)")
    ap.add_argument("--sigma", type=float, default=1.0, help="log-normal shape: the tail's weight")
    ap.add_argument("--sandbox-workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    res = run(args)
    print(json.dumps(res))
    for name in ("per_sample", "lockstep"):
        r = res[name]
        print(f"{name:>10}: makespan {r['makespan_s']:.2f} s, longest critical path {r['critical_path_s']:.2f} s, "
              f"ratio {r['ratio']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
