"""The scripted evaluation used by the harness tests: a two-problem benchmark, and a responder for the fake
OpenAI-compatible server that plays each sample's model turns.

Turn 0 depends on which sample asks (identified by its seed, `training.eval.run.sample_seed`); the answer turn boxes
whatever the real sandbox printed, read back from the ``<interpreter>`` block in the prompt (13 after an error),
so a sample is right only if the interpreter loop really ran its code and fed the output back.

| sample | problem A (gold 12) | problem B (gold 7) |
|---|---|---|
| 0 | code 3 + 4 -> answer 7 (wrong) | no code, answer 5 (wrong) |
| 1 | code 3 * 4 -> answer 12 | code 14 // 2 -> answer 7 |
| 2 | code 24 / 2 -> answer 12.0 (right, and the same answer as 12) | no code, answer 5 (wrong) |
| 3 | code 1 / 0 -> error -> answer 13 (wrong) | rambles until the budget (finish "length") |
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.retool_data.llm.fake_openai import Reply
from training.eval.run import sample_seed

PROBLEMS = {"A": ("What is three times four?", "12"), "B": ("What is half of fourteen?", "7")}
CODE = {("A", 0): "print(3 + 4)", ("A", 1): "print(3 * 4)", ("A", 2): "print(24 / 2)", ("A", 3): "print(1 / 0)",
        ("B", 1): "print(14 // 2)"}  # fmt: skip
DIRECT = {("B", 0): "5", ("B", 2): "5"}
RAMBLE = "Let me think about this a bit more carefully. " * 3
NUM_SAMPLES = 4
BENCH = "toy"


def code_turn(code: str) -> str:
    """What the model writes in its code turn (the server cuts it before ``</code>``)."""
    return f"I will compute it.\n<code>\n```python\n{code}\n```\n</code>\n"


def answer_turn(value: str) -> str:
    return f"So the answer is <answer>\\boxed{{{value}}}</answer>"


def write_benchmark(path: Path) -> Path:
    rows = [{"id": pid, "problem": q, "answer": a} for pid, (q, a) in PROBLEMS.items()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


class ScriptedModel:
    """``responder(body, seen)`` for `FakeOpenAIServer`; ``base_seed`` must be the run's ``seed``."""

    def __init__(self, base_seed: int = 0) -> None:
        self.by_seed = {
            sample_seed(base_seed, BENCH, pid, s): (pid, s) for pid in PROBLEMS for s in range(NUM_SAMPLES)
        }
        self.turn0_seeds: list[int] = []  # sample seeds in request order (first turns only)

    def problem_of(self, prompt: str) -> str:
        return next(pid for pid, (q, _) in PROBLEMS.items() if q in prompt)

    def __call__(self, body: dict[str, Any], seen: int) -> Reply:
        prompt = str(body["prompt"])
        outputs = re.findall(r"<interpreter>\n(.*?)\n</interpreter>", prompt, re.DOTALL)
        if outputs:  # the answer turn: box what the interpreter printed
            out = outputs[-1].strip()
            return Reply(text=answer_turn("13" if "Error" in out else out))
        pid, s = self.by_seed[int(body["seed"])]
        assert pid == self.problem_of(prompt), "a sample's seed must belong to its own problem"
        self.turn0_seeds.append(int(body["seed"]))
        if (pid, s) in CODE:
            return Reply(text=code_turn(CODE[(pid, s)]))
        if (pid, s) in DIRECT:
            return Reply(text=answer_turn(DIRECT[(pid, s)]))
        return Reply(text=RAMBLE, finish_reason="length")
