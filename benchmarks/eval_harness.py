"""Evaluation harness overhead: samples/s through `run_eval` when the model costs nothing, and the report build.

    python benchmarks/eval_harness.py                       # 16 problems x 16 samples, 2 code turns each
    python benchmarks/eval_harness.py --problems 30 --samples 32 --code-turns 3

Part 1 runs the real harness (`training.eval.run_eval`: the rollout loop, `OpenAICompletionsBackend`, the real
sandbox, scoring, the append-only sample file, the report) against the scripted OpenAI-compatible server of the
tests (`tests/retool_data/llm/fake_openai.py`), which answers instantly: every sample writes ``--code-turns``
code blocks (a sympy snippet), then an answer. What it measures is everything around the model: the figure to
compare with a real server's generation time.

Part 2 rebuilds a report (`report_from_run`) over ``--problems x --samples`` saved samples whose answers are a
weak model's: diverse, partly symbolic, so majority voting has to group them with math-verify.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SNIPPET = "import sympy as sp\nx = sp.symbols('x')\nr = sp.solve(x**2 - {n}*x + 6, x)\nprint(sum(r))"


def harness(problems: int, samples: int, code_turns: int, batch_size: int, workers: int) -> dict:
    from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply
    from tests.training.grpo_helpers import qwen2_style_tokenizer
    from training.eval.run import EvalConfig, run_eval

    def responder(body: dict, seen: int) -> Reply:
        prompt = str(body["prompt"])
        done = prompt.count("\n<interpreter>\n")
        if done >= code_turns:
            return Reply(text="So the answer is <answer>\\boxed{5}</answer>")
        code = SNIPPET.format(n=done + 5)
        return Reply(text=f"Let me solve it.\n<code>\n```python\n{code}\n```\n</code>\n")

    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(responder) as server:
        root = Path(tmp)
        qwen2_style_tokenizer().save_pretrained(root / "tok")
        bench = root / "bench.jsonl"
        bench.write_text("".join(json.dumps({"id": i, "problem": f"Problem {i}: what is {i}+5?", "answer": "5"}) + "\n"
                                 for i in range(problems)))  # fmt: skip
        config = EvalConfig(output_dir=str(root / "run"), model="scripted", tokenizer=str(root / "tok"),
                            backend="openai", endpoint=server.base_url, benchmarks=[f"bench={bench}"],
                            num_samples=samples, max_completion_tokens=4096, batch_size=batch_size,
                            sandbox_workers=workers, max_concurrency=64)  # fmt: skip
        t0 = time.perf_counter()
        result = run_eval(config)
        wall = time.perf_counter() - t0
    n = result.samples
    return {
        "samples": n,
        "code_calls": n * code_turns,
        "wall_s": round(wall, 2),
        "samples_per_s": round(n / wall, 1),
        "generation_s": round(result.generation_s, 2),
        "sandbox_s": round(result.sandbox_s, 2),
        "requests": len(server.records()),
    }


def report_build(problems: int, samples: int) -> dict:
    from training.eval.report import report_from_run
    from training.eval.store import CONFIG_FILE, SAMPLES_FILE

    rng = random.Random(0)
    pool = ["204", "204.0", "\\frac{408}{2}", "113", "x+1", "\\sqrt{2}", "1/2", "0.5", "7", "\\pi", "3\\sqrt{3}"]
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp)
        ids = [str(p) for p in range(problems)]
        config = {"num_samples": samples, "pass_ks": None, "label": "bench"}
        fingerprint = {"prompt_template": "retool-rl@1"}
        (run / CONFIG_FILE).write_text(json.dumps({"config": config, "fingerprint": fingerprint,
                                                   "problems": {"aime24": ids}}))  # fmt: skip
        with (run / SAMPLES_FILE).open("w") as fh:
            for p in ids:
                for s in range(samples):
                    a = rng.choice([*pool, None])
                    if a and rng.random() < 0.3:
                        a = f"{a}+{rng.randint(1, 50)}"
                    row = {"benchmark": "aime24", "problem_id": p, "sample_index": s, "gold": "204", "answer": a,
                           "correct": a in ("204", "204.0"), "num_tool_calls": 1, "code_errors": 0,
                           "completion_tokens": 100, "model_tokens": 80, "first_call_position": 40,
                           "first_call_ratio": 0.4, "end": "eos"}  # fmt: skip
                    fh.write(json.dumps(row) + "\n")
        t0 = time.perf_counter()
        report_from_run(run)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        report_from_run(run)
        warm = time.perf_counter() - t0
    return {"samples": problems * samples, "report_s_cold": round(cold, 2), "report_s_warm": round(warm, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--code-turns", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--sandbox-workers", type=int, default=2)
    ap.add_argument("--report-problems", type=int, default=30)
    ap.add_argument("--report-samples", type=int, default=32)
    args = ap.parse_args()
    print(json.dumps({"harness": harness(args.problems, args.samples, args.code_turns, args.batch_size,
                                         args.sandbox_workers)}))  # fmt: skip
    print(json.dumps({"report": report_build(args.report_problems, args.report_samples)}))


if __name__ == "__main__":
    main()
