"""Easy-to-hard curriculum for the SFT warm-up (iTool's first stage).

**Difficulty per row**, from the first source that has it:

1. ``difficulty``: the source's own rating (OpenThoughts3: 1-10), when the row has a number there;
2. ``pass_rate``: ``1 - pass rate`` of the current policy over k samples, from a file of ``problem_id`` /
   ``pass_rate`` rows (`training.itool.deficiency.MiningResult.save`), matched on the row's ``id``;
3. ``length``: the trace's size: (code blocks, tokens) - more tool calls first, then longer traces, are harder.

Values of different sources are not comparable, so each row's score is its percentile rank *within its source*
(ties share the mean rank): 0 = the easiest of its kind, 1 = the hardest.

**Orderings** (`curriculum_order`): ``easy_to_hard`` sorts every row by score (ties in a seeded random order), one
pass per epoch; ``staged`` cuts the scores into ``stages`` equal buckets and trains stage s on buckets 0..s, each
stage shuffled (the easy rows are revisited while harder ones come in; ``(stages + 1) / 2`` passes over the data
per epoch). SFT trains the rows in this order with a sequential sampler (`SFTRunConfig.curriculum`).
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CURRICULA = ("none", "easy_to_hard", "staged")
DIFFICULTY_SOURCES = ("difficulty", "pass_rate", "length")


@dataclass(frozen=True)
class Difficulty:
    source: str  # one of DIFFICULTY_SOURCES
    raw: tuple[float, ...]  # the value inside its source (higher = harder)
    score: float = 0.0  # percentile rank within the source, in [0, 1]


def load_pass_rates(path: str | Path) -> dict[str, float]:
    """``problem_id`` (or ``id``) -> ``pass_rate`` from a jsonl file (the mining stats of an iTool round)."""
    rates = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rates[str(row.get("problem_id", row.get("id")))] = float(row["pass_rate"])
    return rates


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _trace(row: Mapping[str, Any]) -> str:
    if row.get("trace"):
        return str(row["trace"])
    messages = row.get("messages") or []
    return str(messages[-1]["content"]) if messages else ""


def raw_difficulty(
    row: Mapping[str, Any],
    pass_rates: Mapping[str, float] | None = None,
    difficulty_column: str = "difficulty",
) -> Difficulty:
    """The row's difficulty before ranking (see the module docstring for the order of sources)."""
    rated = _number(row.get(difficulty_column))
    if rated is not None:
        return Difficulty("difficulty", (rated,))
    row_id = row.get("id")
    if pass_rates and row_id is not None and str(row_id) in pass_rates:
        return Difficulty("pass_rate", (1.0 - pass_rates[str(row_id)],))
    trace = _trace(row)
    blocks = _number(row.get("num_code_blocks"))
    if blocks is None:
        blocks = float(trace.count("</code>"))
    tokens = _number(row.get("trace_tokens"))
    return Difficulty("length", (blocks, tokens if tokens is not None else len(trace) / 4))


def difficulty_scores(
    rows: Sequence[Mapping[str, Any]],
    pass_rates: Mapping[str, float] | None = None,
    difficulty_column: str = "difficulty",
) -> list[Difficulty]:
    """Every row's difficulty with its within-source percentile rank as ``score``."""
    raw = [raw_difficulty(r, pass_rates, difficulty_column) for r in rows]
    scores = [0.0] * len(raw)
    for source in DIFFICULTY_SOURCES:
        idx = sorted((i for i, d in enumerate(raw) if d.source == source), key=lambda i: raw[i].raw)
        pos = 0
        while pos < len(idx):  # ties share the mean of their ranks
            end = pos
            while end + 1 < len(idx) and raw[idx[end + 1]].raw == raw[idx[pos]].raw:
                end += 1
            rank = (pos + end) / 2 / max(1, len(idx) - 1)
            for i in idx[pos : end + 1]:
                scores[i] = rank
            pos = end + 1
    return [Difficulty(d.source, d.raw, s) for d, s in zip(raw, scores, strict=True)]


def curriculum_order(scores: Sequence[Difficulty], mode: str, stages: int = 3, seed: int = 0) -> list[int]:
    """Row indices in training order (may repeat rows for ``staged``); ``none`` keeps the given order."""
    if mode not in CURRICULA:
        raise ValueError(f"curriculum must be one of {CURRICULA}, not {mode!r}")
    n = len(scores)
    if mode == "none":
        return list(range(n))
    rng = random.Random(seed)
    tiebreak = [rng.random() for _ in range(n)]
    ranked = sorted(range(n), key=lambda i: (scores[i].score, tiebreak[i]))
    if mode == "easy_to_hard":
        return ranked
    if stages < 1:
        raise ValueError("curriculum_stages must be >= 1")
    order: list[int] = []
    for stage in range(stages):
        upto = math.ceil(n * (stage + 1) / stages)  # equal buckets along the ranking
        chunk = ranked[:upto]
        rng.shuffle(chunk)
        order.extend(chunk)
    return order


def summarize(scores: Sequence[Difficulty], order: Sequence[int], mode: str) -> dict[str, Any]:
    """What the run records about its curriculum (sources used, rows seen per epoch)."""
    return {
        "curriculum": mode,
        "sources": dict(Counter(s.source for s in scores)),
        "rows": len(scores),
        "rows_per_epoch": len(order),
    }
