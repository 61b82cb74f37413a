"""Rows that ingestion must quarantine, each with the reason it must give, plus one second teacher response that
ingestion keeps (written for this project). They sit at fixed positions (`MALFORMED_AT`), after their originals."""

from __future__ import annotations

from . import arithmetic, counting
from ._row import row

_TRAIN_ROW = arithmetic.ROWS[1]["record"]
_TRAIN = _TRAIN_ROW["problem"]  # "A train travels 180 km in 2.5 hours. ..."
_CO_CAPTAINS_ROW = next(r["record"] for r in counting.ROWS if "co-captains" in r["record"]["problem"])
_CO_CAPTAINS, _CO_CAPTAINS_GOLD = _CO_CAPTAINS_ROW["problem"], _CO_CAPTAINS_ROW["ground_truth_solution"]

ROWS = [
    row(
        "",
        r"""Okay, the problem statement seems to be empty. There is nothing to solve here, so I can't compute anything meaningful.""",
        "The problem statement is missing.",
        r"""$\boxed{0}$""",
        source="olympiads",
        kind="malformed",
        expect_reject="empty_problem",
        why="the problem is an empty string",
    ),
    row(
        "   \n\t  ",
        r"""Hmm, the problem is just whitespace. I'll assume nothing is being asked.""",
        "No problem was given.",
        r"""$\boxed{1}$""",
        source="aops_forum",
        kind="malformed",
        expect_reject="empty_problem",
        why="the problem is only whitespace",
    ),
    row(
        "What is the largest prime factor of 1001?",
        None,
        r"""\(1001 = 7 \times 11 \times 13\), so the largest prime factor is \(\boxed{13}\).""",
        r"""Since $1001=7\cdot 11\cdot 13$, the answer is $\boxed{13}$.""",
        source="math",
        kind="malformed",
        expect_reject="missing_reasoning",
        why="deepseek_reasoning is null (the teacher call failed)",
    ),
    row(
        "How many diagonals does a convex decagon have?",
        "",
        r"""A convex \(n\)-gon has \(\frac{n(n-3)}{2}\) diagonals, so a decagon has \(\frac{10 \cdot 7}{2} = \boxed{35}\).""",
        r"""The number of diagonals is $\frac{10\cdot 7}{2}=\boxed{35}$.""",
        source="math",
        kind="malformed",
        expect_reject="missing_reasoning",
        why="deepseek_reasoning is an empty string",
    ),
    row(
        "Write a Python function `fib(n)` that returns the n-th Fibonacci number, with fib(0) = 0 and fib(1) = 1.",
        r"""Okay, I need an iterative Fibonacci. Keep two variables a and b, starting at 0 and 1, and step n times.""",
        "```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```",
        None,
        source="taco",
        domain="code",
        kind="malformed",
        expect_reject="non_math_domain",
        why="a code row (domain 'code', with test_cases and starter_code), outside the math domain",
        test_cases='{"fn_name": "fib", "inputs": [[0], [1], [10]], "outputs": [[0], [1], [55]]}',
        starter_code="def fib(n):",
    ),
    row(
        "Which organelle is the main site of aerobic respiration in eukaryotic cells?",
        r"""Aerobic respiration: glycolysis happens in the cytoplasm, but the Krebs cycle and the electron transport chain are in the mitochondria. So the answer is the mitochondrion.""",
        r"""The mitochondrion is the main site of aerobic respiration.""",
        r"""The mitochondrion.""",
        source="camelai",
        domain="biology",
        kind="malformed",
        expect_reject="non_math_domain",
        why="a science row (domain 'biology'), outside the math domain",
    ),
    row(
        _CO_CAPTAINS,
        r"""Hmm, choosing 2 co-captains: the order does not matter, both get the same title.

Ordered choices: 10 \times 9 = 90. Each pair of players is counted twice there, so 90 / 2 = 45.

Check with the binomial coefficient: \binom{10}{2} = 45. Yes.

**Final Answer**
\boxed{45}""",
        r"""Each unordered pair is counted twice among the \(10 \times 9 = 90\) ordered choices, so there are \(\boxed{45}\) ways.""",
        _CO_CAPTAINS_GOLD,
        source="math",
        kind="second_response",
        why="a second teacher response to line 0's problem, right where the first (90) is wrong: verified, it keeps "
        "the problem",
    ),
    row(
        _TRAIN.replace("180", "$180$").replace("2.5", "$2.5$").replace(". At", ".  At"),
        _TRAIN_ROW["deepseek_reasoning"],
        _TRAIN_ROW["deepseek_solution"],
        _TRAIN_ROW["ground_truth_solution"],
        source="math",
        kind="malformed",
        expect_reject="duplicate_response",
        why="an earlier row again, with $...$ around the numbers and doubled spaces: the same problem_id and the "
        "same response",
    ),
    row(
        12345,
        r"""Okay, the problem seems to be just a number.""",
        "Nothing to solve.",
        None,
        source="olympiads",
        kind="malformed",
        expect_reject="invalid_row",
        why="problem is a number, not a string",
    ),
    row(
        "Find the sum of the interior angles of a hexagon.",
        ["The sum is (n - 2) * 180.", "With n = 6 this is 720."],
        r"""\((6 - 2) \times 180 = \boxed{720}\) degrees.""",
        r"""The sum is $(6-2)\cdot 180^\circ=\boxed{720^\circ}$.""",
        source="math",
        kind="malformed",
        expect_reject="invalid_row",
        why="deepseek_reasoning is a list of strings, not a string",
    ),
    row(
        None,
        None,
        None,
        None,
        kind="malformed",
        expect_reject="invalid_row",
        why="the line is a JSON array, not an object",
        raw=["not", "a", "row"],
    ),
]
