"""The evaluation side of decontamination: is an evaluated problem close to a row the model was trained on?

`retool-data eval run --training_data PATH ...` calls `training_overlap` before sampling: the evaluated problems
are indexed as the "benchmarks" of a `Decontaminator` (same layers and thresholds as curation) and every training
row is matched against them, so the cost grows with the training set like curation's, and the embeddings cover
only the few rows the lexical gate nominates. Each hit is logged as a warning and recorded in the run's report.

Training data may be an export folder (its SFT shards), a ``.parquet`` / ``.jsonl`` file with a ``problem``
column (or verl's layout: the user turn of ``prompt``), or a `datasets` ``save_to_disk`` folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from retool_data.export import _question_from_prompt, exported_problems

ROW = tuple[str, str, str | None]  # (row id, problem, answer)


def _from_record(i: int, r: Mapping[str, Any]) -> ROW:
    problem = r.get("problem")
    if problem is None and r.get("prompt"):
        problem = _question_from_prompt(r["prompt"][-1]["content"])
    if problem is None and r.get("messages"):
        problem = next((m["content"] for m in r["messages"] if m.get("role") == "user"), None)
    if problem is None:
        raise ValueError("a training row has no problem (columns problem, prompt or messages)")
    answer = r.get("answer") or r.get("gold_answer") or (r.get("reward_model") or {}).get("ground_truth")
    return str(r.get("id") or i), str(problem), str(answer) if answer else None


def training_rows(path: str | Path) -> list[ROW]:
    """(id, problem, answer) of every row of a training dataset (see the module docstring for the layouts)."""
    p = Path(path)
    if p.is_dir() and (p / "data").is_dir() and (p / "verl").is_dir():
        return exported_problems(p)["sft"]
    if p.is_dir():
        import datasets

        return [_from_record(i, r) for i, r in enumerate(datasets.load_from_disk(str(p)))]
    if p.suffix == ".parquet":
        import polars as pl

        return [_from_record(i, r) for i, r in enumerate(pl.read_parquet(p).iter_rows(named=True))]
    if p.suffix == ".jsonl":
        with p.open(encoding="utf-8") as fh:
            return [_from_record(i, json.loads(line)) for i, line in enumerate(fh) if line.strip()]
    raise FileNotFoundError(
        f"training data {p}: not an export folder, save_to_disk folder, .parquet or .jsonl"
    )


def training_overlap(
    evaluated: Mapping[str, Sequence[Any]], training: Sequence[str | Path], config: Any = None
) -> list[dict[str, Any]]:
    """Evaluated problems (benchmark -> items with ``id``, ``problem``, ``answer``) close to a training row.

    One record per (evaluated problem, training row) hit: benchmark, problem_id, dataset, row id, reason
    (``benchmark_contamination`` / ``template_variant``), layer and score. ``config``: a `FilterConfig`."""
    from retool_data.filtering import FilterConfig

    config = config or FilterConfig()
    index = config.decontaminator(
        {b: [it.problem for it in items] for b, items in evaluated.items()},
        {b: [it.answer for it in items] for b, items in evaluated.items()},
    )
    hits = []
    for path in training:
        rows = training_rows(path)
        matches = index.nearest_many([p for _, p, _ in rows], [a for *_, a in rows])
        for (row_id, _, _), m in zip(rows, matches, strict=True):
            if m is None or m.reason is None:
                continue
            hits.append(
                {
                    "benchmark": m.benchmark,
                    "problem_id": str(evaluated[m.benchmark][m.index].id),
                    "dataset": Path(path).name,
                    "training_row": row_id,
                    "reason": m.reason,
                    "layer": m.layer,
                    "score": round(float(m.score), 3),
                }
            )
    return hits
