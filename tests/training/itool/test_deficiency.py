"""Deficiency mining on a scripted policy (the fake is the generation backend only; the sandbox is real).

Three problems, two samples each (problem-major, as `mine_deficiencies` batches them):

    six_sevens   both samples run ``print(6 * 7)`` -> 42 and answer 42            pass 2/2, 1 call each, 0 errors
    fifteen_two  sample 0 runs ``print(3 * 5 + 2)`` -> 17 and answers 17;       pass 1/2, 0.5 calls, 0 errors
                 sample 1 answers 15 without code
    primes       sample 0 runs ``1 / 0`` (ZeroDivisionError) and answers 9;      pass 0/2, 1.5 calls, 2 errors
                 sample 1 counts primes in range(3, 30) -> 9, then raises ValueError, and answers 9

Every interpreter block in the script is the sandbox's real output: a block that printed anything else would
leave the script (`OffScript`), so the code really ran. Deficient = pass rate *strictly* below the threshold.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

import pytest

from retool_data.schema import problem_id
from retool_data.trace import format_interpreter_block
from sandbox import Sandbox
from tests.training.scripted_backend import ScriptedBackend
from training.itool.deficiency import (
    MiningResult,
    ProblemStats,
    SamplingConfig,
    load_problems,
    mine_deficiencies,
)
from training.rollout.generation import Continuation, GenerationRequest
from training.sft.curriculum import load_pass_rates

pytestmark = pytest.mark.timeout(120)


def code(body: str) -> str:
    return f"<code>\n```python\n{body}\n```\n</code>"


def ran(body: str, output: str) -> str:
    """A code block followed by the interpreter block the rollout appends for ``output``."""
    return code(body) + format_interpreter_block(output)


SIX_SEVENS = "What is 6 times 7?"
FIFTEEN_TWO = "What is 3 times 5 plus 2?"
PRIMES = "How many primes are there below 30?"

COUNT_ODD_PRIMES = "print(sum(all(p % d for d in range(2, p)) for p in range(3, 30)))"  # misses 2: prints 9

SCRIPTS = {
    SIX_SEVENS: {"": ["Multiply.\n" + ran("print(6 * 7)", "42\n") + "So <answer>\\boxed{42}</answer>"]},
    FIFTEEN_TWO: {
        "": [
            "Compute it.\n" + ran("print(3 * 5 + 2)", "17\n") + "So <answer>\\boxed{17}</answer>",
            "3 times 5 is 15.\n<answer>\\boxed{15}</answer>",
        ]
    },
    PRIMES: {
        "": [
            "Sieve.\n"
            + ran("n = 1 / 0", "ZeroDivisionError: division by zero")
            + "Guess <answer>\\boxed{9}</answer>",
            "Count them.\n"
            + ran(COUNT_ODD_PRIMES, "9\n")
            + "Check.\n"
            + ran('raise ValueError("unsure")', "ValueError: unsure")
            + "So <answer>\\boxed{9}</answer>",
        ]
    },
}

# (id column, problem, gold): the primes row has no id, so its id is `problem_id(text)`
ROWS = [("six_sevens", SIX_SEVENS, "42"), ("fifteen_two", FIFTEEN_TWO, "17"), (None, PRIMES, "10")]
IDS = ["six_sevens", "fifteen_two", problem_id(PRIMES)]


class PerProblemBackend:
    """One `ScriptedBackend` per problem: each request goes to the script of the problem its prompt asks, and a
    problem's requests of one turn go together, so its k samples see alternatives 0..k-1."""

    def __init__(self, tokenizer, scripts) -> None:
        self.tokenizer = tokenizer
        self.backends = {text: ScriptedBackend(tokenizer, script) for text, script in scripts.items()}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, req in enumerate(requests):
            context = self.tokenizer.decode(req.context_ids, skip_special_tokens=False)
            (text,) = [t for t in self.backends if t in context]
            groups[text].append(i)
        out: list[Continuation | None] = [None] * len(requests)
        for text, indices in groups.items():
            for i, cont in zip(
                indices, self.backends[text].generate([requests[i] for i in indices]), strict=True
            ):
                out[i] = cont
        return out  # type: ignore[return-value]


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=2, timeout_s=5.0) as box:
        yield box


@pytest.fixture(scope="module")
def problems(tiny_tokenizer, tmp_path_factory):
    path = tmp_path_factory.mktemp("mining") / "problems.jsonl"
    rows = [{"problem": p, "answer": a, **({"id": i} if i else {})} for i, p, a in ROWS]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    loaded = load_problems(str(path), tiny_tokenizer)
    assert [p.problem_id for p in loaded] == IDS
    return loaded


def mine(tok, sb, problems, threshold: float) -> MiningResult:
    return mine_deficiencies(
        PerProblemBackend(tok, SCRIPTS), sb, tok, problems, SamplingConfig(samples=2), threshold
    )


def test_per_problem_pass_rates_tool_calls_and_code_errors(tiny_tokenizer, sb, problems):
    result = mine(tiny_tokenizer, sb, problems, 0.5)
    stats = result.stats
    assert [s.problem_id for s in stats] == IDS
    assert [s.samples for s in stats] == [2, 2, 2]
    assert [s.correct for s in stats] == [2, 1, 0]
    assert [s.pass_rate for s in stats] == [1.0, 0.5, 0.0]
    assert [s.tool_calls for s in stats] == [1.0, 0.5, 1.5]  # mean per sample
    assert [s.code_errors for s in stats] == [0, 0, 2]  # total over the samples
    assert [s.truncated for s in stats] == [0, 0, 0]
    assert result.threshold == 0.5
    assert result.behaviour  # batch behaviour metrics are recorded alongside


@pytest.mark.parametrize(
    ("threshold", "deficient"),
    [
        # 0.5: the half-right problem sits exactly on the threshold and is NOT deficient (strict <)
        pytest.param(0.5, [False, False, True], id="rate_equal_to_0.5_is_not_deficient"),
        # 1.0: only a perfect pass rate escapes; the half-right problem is now below
        pytest.param(1.0, [False, True, True], id="rate_equal_to_1.0_is_not_deficient_0.5_is"),
    ],
)
def test_deficient_means_pass_rate_strictly_below_threshold(
    tiny_tokenizer, sb, problems, threshold, deficient
):
    result = mine(tiny_tokenizer, sb, problems, threshold)
    assert [s.deficient for s in result.stats] == deficient
    assert result.deficient_ids == [i for i, d in zip(IDS, deficient, strict=True) if d]


def test_saved_stats_are_the_pass_rates_the_curriculum_loads(tiny_tokenizer, sb, problems, tmp_path):
    result = mine(tiny_tokenizer, sb, problems, 1.0)
    path = result.save(tmp_path / "round-0" / "mining.jsonl")  # the parent is created
    assert load_pass_rates(path) == {IDS[0]: 1.0, IDS[1]: 0.5, IDS[2]: 0.0}
    assert load_pass_rates(path) == {s.problem_id: s.pass_rate for s in result.stats}
    # every field survives, as `itool_round.mine_phase` reloads it on resume
    rows = [ProblemStats(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == result.stats
