"""MCTS harness overhead: the search with a free generation backend, so what is timed is everything but the model
(tree bookkeeping, the rollout loop, the sandbox: each step's code block and the replayed prefix blocks).

The fake backend writes a code step that adds a number to a session variable and prints it, ``--depth`` steps,
then an answer; siblings differ by the number added, so every path needs its prefix state (replay) and some paths
are right. Prints the search figures and the sandbox's share of the wall time.

    python benchmarks/itool_mcts.py [--problems 8] [--iterations 8] [--children 3] [--depth 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, when run as a script

from sandbox import Sandbox
from training.itool.mcts.search import MCTSConfig, SearchProblem, run_mcts
from training.models.tiny import tiny_chatml_tokenizer
from training.rollout.generation import Continuation, GenerationRequest, finish_continuation

HEADER = "<|im_start|>assistant\n"


class StepWriter:
    """Step k adds (k + sample index) mod 3 to ``x``; after ``depth`` code steps the answer is ``x``'s sum."""

    def __init__(self, tokenizer, depth: int) -> None:
        self.tok, self.depth, self.eos = tokenizer, depth, tokenizer.eos_token_id

    def generate(self, requests: list[GenerationRequest]) -> list[Continuation]:
        out, seen = [], {}
        for req in requests:
            text = self.tok.decode(req.context_ids, skip_special_tokens=False).rsplit(HEADER, 1)[-1]
            j = seen[text] = seen.get(text, -1) + 1
            steps = text.count("</interpreter>")
            if steps >= self.depth:
                total = sum(int(line) for line in text.split("<interpreter>\n")[-1:][0].split("\n")[:1])
                body = f"So x is {total}.\n<answer>\\boxed{{{total}}}</answer>"
            else:
                salt = int(hashlib.sha1(text.encode()).hexdigest()[:4], 16)
                add = (steps + j + salt) % 3
                body = f"Step {steps}.\n<code>\n```python\nx = globals().get('x', 0) + {add}\nprint(x)\n```\n</code>"
            ids = [*self.tok.encode(body, add_special_tokens=False), self.eos]
            out.append(finish_continuation(ids, self.tok, req, [self.eos], None))
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--iterations", type=int, default=8)
    ap.add_argument("--children", type=int, default=3)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tok = tiny_chatml_tokenizer()
    prompt = tok.apply_chat_template([{"role": "user", "content": "x?"}], add_generation_prompt=True,
                                     tokenize=True, return_dict=True)["input_ids"]  # fmt: skip
    problems = [SearchProblem(f"p{i}", "x?", str(i % 5 + 3), [], list(prompt)) for i in range(args.problems)]
    config = MCTSConfig(iterations=args.iterations, children=args.children, max_depth=args.depth + 1,
                        max_nodes=10_000, max_completion_tokens=4096, max_step_tokens=512,
                        max_tool_calls=args.depth + 1)  # fmt: skip
    with Sandbox(workers=args.workers, timeout_s=5.0, max_sessions=4096) as sb:
        sb.run("print(0)")  # warm
        t0 = time.perf_counter()
        result = run_mcts(StepWriter(tok, args.depth), sb, tok, problems, config)
        wall = time.perf_counter() - t0
    nodes = sum(len(t.nodes) - 1 for t in result.trees)
    calls = sum(len(n.code) for t in result.trees for n in t.nodes)
    sim_calls = sum((n.simulation_text or "").count("</interpreter>") for t in result.trees for n in t.nodes)
    mismatches = sum(n.replay_mismatch for t in result.trees for n in t.nodes)
    runs = calls + sim_calls + result.replay_calls
    sims = sum(t.stats["simulations"] for t in result.trees)
    print(f"trees {len(result.trees)}, iterations {result.iterations}, new nodes {nodes}, simulations {sims}")
    print(f"wall {wall:.2f} s -> {nodes / wall:.1f} nodes/s (generation is free here)")
    print(f"sandbox runs {runs}: node steps {calls}, simulations {sim_calls}, prefix replays {result.replay_calls} "
          f"({result.replay_calls / runs:.0%}); replay mismatches {mismatches}")  # fmt: skip
    print(f"sandbox wait {result.sandbox_s:.2f} s ({result.sandbox_s / wall:.0%} of wall, "
          f"{runs / result.sandbox_s:.0f} runs/s); generation+bookkeeping {wall - result.sandbox_s:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
