"""The evaluation side: evaluated problems close to a training row are found, whatever layout the data has."""

from __future__ import annotations

import json
from pathlib import Path

from retool_data.benchmark_sets import load_benchmark_items
from retool_data.contamination import training_overlap, training_rows
from retool_data.export import export_dataset
from tests.retool_data.frames import frame, row, simple_trace


def test_an_evaluated_problem_in_the_training_data_is_reported(tmp_path: Path) -> None:
    items = {"amc23": load_benchmark_items("amc23")[:5]}  # the pinned snapshot
    leaked = items["amc23"][2].problem.replace("$", "")
    variant = (
        items["amc23"][0]
        .problem.replace("$45$", "$60$")
        .replace("18 miles", "20 miles")
        .replace("12 miles", "10 miles")
    )
    clean = "A bag holds 4 red and 6 blue marbles. How many ways are there to pick two marbles of one colour?"
    export_dataset(
        frame([row(p, simple_trace("1+1", a), a, source_id=str(i))
               for i, (p, a) in enumerate([(clean, "21"), (leaked, "45"), (variant, "40")])]),
        tmp_path / "export",
    )  # fmt: skip
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text(json.dumps({"id": "x1", "messages": [{"role": "user", "content": leaked}]}) + "\n")
    assert [p for _, p, _ in training_rows(tmp_path / "export")] == [clean, leaked, variant]
    hits = training_overlap(items, [tmp_path / "export", jsonl])
    found = {(h["dataset"], h["problem_id"], h["reason"]) for h in hits}
    pid = items["amc23"]
    assert found == {
        ("export", pid[2].id, "benchmark_contamination"),
        ("export", pid[0].id, "template_variant"),
        ("train.jsonl", pid[2].id, "benchmark_contamination"),
    }
    assert all(h["score"] > 0.5 and h["layer"] in ("exact", "ngram", "fuzzy", "semantic") for h in hits)
