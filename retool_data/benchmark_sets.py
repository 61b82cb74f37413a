"""Evaluation benchmarks that curated data must not contain: where to load them and how to read their columns.

Each benchmark is a Hub dataset id (the default source) with a local-path override, because curation machines
often have no Hub access and evaluation teams pin their own copies. A local path may be a ``.jsonl``, ``.json``
or ``.parquet`` file, a directory holding such files (e.g. ``aime24/test.jsonl``), or a ``save_to_disk``
directory. Column names differ between uploads (``Problem`` in Maxwell-Jia/AIME_2024, ``question`` in
math-ai/amc23), so the problem/answer columns are found by name from a short candidate list.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBLEM_COLUMNS = ("problem", "Problem", "question", "Question")
ANSWER_COLUMNS = ("answer", "Answer", "final_answer", "expected_answer")
ID_COLUMNS = ("id", "ID", "unique_id", "idx", "problem_id")


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    hub_id: str
    split: str


BENCHMARKS: dict[str, BenchmarkSpec] = {
    spec.name: spec
    for spec in (
        BenchmarkSpec("aime24", "Maxwell-Jia/AIME_2024", "train"),  # columns ID, Problem, Solution, Answer
        BenchmarkSpec(
            "aime25", "yentinglin/aime_2025", "train"
        ),  # columns id, problem, solution, answer, ...
        BenchmarkSpec("amc23", "math-ai/amc23", "test"),  # columns id, question, answer, url
        BenchmarkSpec("math500", "HuggingFaceH4/MATH-500", "test"),  # problem, solution, answer, subject, ...
    )
}
DEFAULT_BENCHMARKS: tuple[str, ...] = ("aime24", "aime25", "amc23", "math500")


def _pick(row: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if row.get(name) not in (None, ""):
            return str(row[name])
    return None


def _records_from_path(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        if (path / "state.json").exists() or (path / "dataset_dict.json").exists():
            import datasets

            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                loaded = loaded["test"] if "test" in loaded else next(iter(loaded.values()))
            return loaded.to_list()
        files = sorted(p for ext in ("jsonl", "json", "parquet") for p in path.glob(f"*.{ext}"))
        test_files = [p for p in files if p.stem.startswith("test")]
        files = test_files or files
        if not files:
            raise FileNotFoundError(f"no .jsonl/.json/.parquet benchmark file in {path}")
        return [row for f in files for row in _records_from_path(f)]
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, list) else data.get("data", data.get("rows", []))
    if path.suffix == ".parquet":
        import polars as pl

        return pl.read_parquet(path).to_dicts()
    raise ValueError(f"unsupported benchmark file {path} (want .jsonl, .json, .parquet or a directory)")


def _load_records(name: str, path: str | Path | None) -> tuple[list[dict[str, Any]], str]:
    """(raw records, where they came from): the local path if given, else the registered Hub dataset."""
    if path is not None:
        return _records_from_path(Path(path)), str(path)
    if name not in BENCHMARKS:
        raise KeyError(f"unknown benchmark {name!r}: known {sorted(BENCHMARKS)}, or give a local path")
    import datasets

    spec = BENCHMARKS[name]
    return datasets.load_dataset(spec.hub_id, split=spec.split).to_list(), f"{spec.hub_id} ({spec.split})"


def load_benchmark(name: str, path: str | Path | None = None) -> list[dict[str, str | None]]:
    """Rows ``{"problem", "answer"}`` of a benchmark, in the benchmark's own order (item index = list index).

    ``path`` overrides the Hub; ``name`` must then not be registered (any label works for a local file).
    """
    records, where = _load_records(name, path)
    rows = [{"problem": _pick(r, PROBLEM_COLUMNS), "answer": _pick(r, ANSWER_COLUMNS)} for r in records]
    if not rows or any(r["problem"] is None for r in rows):
        raise ValueError(f"benchmark {name!r} from {where}: no problem column among {PROBLEM_COLUMNS}")
    return rows


@dataclass(frozen=True)
class BenchmarkItem:
    """One evaluation problem: ``id`` is the benchmark's own id (else the row index), stable across copies."""

    benchmark: str
    id: str
    problem: str
    answer: str | None


def _answer_text(value: Any) -> str | None:
    """Gold answers as text; math-ai/amc23 stores them as floats (``27.0``), shown as ``27``."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def load_benchmark_items(name: str, path: str | Path | None = None) -> list[BenchmarkItem]:
    """Problems with their ids and gold answers (for evaluation), in the benchmark's order; same sources and
    column names as `load_benchmark`, ids from ``ID_COLUMNS`` (duplicate ids are an error)."""
    records, where = _load_records(name, path)
    items = []
    for i, r in enumerate(records):
        problem = _pick(r, PROBLEM_COLUMNS)
        if problem is None:
            raise ValueError(f"benchmark {name!r} from {where}, row {i}: no problem column")
        answer = next((_answer_text(r[c]) for c in ANSWER_COLUMNS if r.get(c) not in (None, "")), None)
        items.append(BenchmarkItem(name, _pick(r, ID_COLUMNS) or str(i), problem, answer))
    if not items:
        raise ValueError(f"benchmark {name!r} from {where} is empty")
    dupes = sorted(i for i, n in Counter(it.id for it in items).items() if n > 1)
    if dupes:
        raise ValueError(f"benchmark {name!r} from {where}: duplicate ids {dupes[:5]}")
    return items


def resolve_benchmark_paths(
    names: list[str] | tuple[str, ...],
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, Path | None]:
    """Where each benchmark comes from: an explicit override, else ``local_dir/<name>``, else the Hub (None)."""
    overrides = overrides or {}
    out: dict[str, Path | None] = {}
    for name in names:
        if name in overrides:
            out[name] = Path(overrides[name])
        elif local_dir is not None:
            base = Path(local_dir)
            found = [
                p
                for p in (base / name, *(base / f"{name}.{e}" for e in ("jsonl", "json", "parquet")))
                if p.exists()
            ]
            if not found:
                raise FileNotFoundError(
                    f"benchmark {name!r} not found under {base} (looked for {name}/, {name}.jsonl, ...); "
                    "drop it from the list or give its path explicitly"
                )
            out[name] = found[0]
        else:
            out[name] = None
    for name in overrides:
        if name not in out:
            out[name] = Path(overrides[name])
    return out


def load_benchmarks(
    names: list[str] | tuple[str, ...] = DEFAULT_BENCHMARKS,
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, list[str]]:
    """Benchmark name -> its problems, ready for `stages.decontam.Decontaminator`."""
    paths = resolve_benchmark_paths(names, local_dir, overrides)
    return {name: [str(r["problem"]) for r in load_benchmark(name, path)] for name, path in paths.items()}
