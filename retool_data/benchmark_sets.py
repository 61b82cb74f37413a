"""Evaluation benchmarks that curated data must not contain and that evaluation scores on: where each one is read
from, and how to read its columns. Decontamination (`pipelines`, `retool-data filter`) and evaluation
(`retool-data eval`) both go through `resolve_benchmark_sources`, so every entry point reads the same files.

Where a benchmark comes from, first match wins:

1. an explicit override for that name: a path, ``hub`` (its registered Hub id) or ``hub:<id>[:<split>]``;
2. ``local_dir``: ``<local_dir>/<name>/`` or ``<local_dir>/<name>.jsonl`` (missing there: an error naming it);
   ``local_dir="hub"`` reads every registered benchmark from the Hugging Face Hub by id instead;
3. the pinned snapshot shipped in the package (`benchmark_snapshots`: AIME24, AIME25, AMC23, MATH-500, each
   checked against the sha256 and row count its manifest records).

A local path may be a ``.jsonl``, ``.json`` or ``.parquet`` file, a directory holding such files (e.g.
``aime24/test.jsonl``), or a ``save_to_disk`` directory; a folder with a ``manifest.json`` (what ``retool-data
benchmarks refresh`` writes) is checked like the package's snapshot. Column names differ between uploads
(``Problem`` in Maxwell-Jia/AIME_2024, ``question`` in math-ai/amc23), so the problem/answer/id columns are found
by name from a short candidate list.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retool_data import benchmark_snapshots as snapshots

PROBLEM_COLUMNS = ("problem", "Problem", "question", "Question")
ANSWER_COLUMNS = ("answer", "Answer", "final_answer", "expected_answer")
ID_COLUMNS = ("id", "ID", "unique_id", "idx", "problem_id")
HUB = "hub"


class UnknownBenchmark(KeyError, ValueError):
    """A name with neither a pinned snapshot, a registered Hub id, nor a path given for it."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown benchmark"


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


@dataclass(frozen=True)
class BenchmarkSource:
    """Where one benchmark is read from. ``kind``: ``snapshot`` (a pinned file its manifest describes: the
    package's own, or a refreshed folder), ``local`` (a file or folder without a manifest entry) or ``hub``."""

    name: str
    kind: str
    path: Path | None = None
    hub_id: str | None = None
    split: str | None = None
    snapshot: snapshots.SnapshotEntry | None = None

    @property
    def location(self) -> str | Path:
        """What `load_benchmark` takes back: the path, or ``hub:<id>:<split>``."""
        return self.path if self.path is not None else f"{HUB}:{self.hub_id}:{self.split}"

    def describe(self) -> str:
        if self.snapshot is not None:
            return f"pinned snapshot, sha256 {self.snapshot.sha256[:12]}"
        return f"Hub {self.hub_id} ({self.split})" if self.kind == HUB else f"local {self.path}"


def _pick(row: dict[str, Any], candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        if row.get(name) not in (None, ""):
            return str(row[name])
    return None


def _is_saved(folder: Path) -> bool:
    """A `datasets` ``save_to_disk`` directory."""
    return (folder / "state.json").exists() or (folder / "dataset_dict.json").exists()


def _data_files(folder: Path) -> list[Path]:
    """The benchmark files of a folder that is not a ``save_to_disk`` directory: ``test*`` ones if any."""
    files = sorted(p for ext in ("jsonl", "json", "parquet") for p in folder.glob(f"*.{ext}"))
    files = [p for p in files if p.stem.startswith("test")] or files
    if not files:
        raise FileNotFoundError(f"no .jsonl/.json/.parquet benchmark file in {folder}")
    return files


def _records_from_path(path: Path) -> list[dict[str, Any]]:
    if path.is_dir():
        if _is_saved(path):
            import datasets

            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                loaded = loaded["test"] if "test" in loaded else next(iter(loaded.values()))
            return loaded.to_list()
        return [row for f in _data_files(path) for row in _records_from_path(f)]
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


def _hub_source(name: str, value: str) -> BenchmarkSource:
    """``hub`` (the registered id of ``name``) or ``hub:<id>[:<split>]``."""
    rest = value[len(HUB) :].lstrip(":")
    if rest:
        hub_id, _, split = rest.partition(":")
        return BenchmarkSource(name, HUB, hub_id=hub_id, split=split or "test")
    if name not in BENCHMARKS:
        raise UnknownBenchmark(
            f"benchmark {name!r} has no registered Hub id (known: {sorted(BENCHMARKS)}); use hub:<id>"
        )
    spec = BENCHMARKS[name]
    return BenchmarkSource(name, HUB, hub_id=spec.hub_id, split=spec.split)


def _is_hub(value: str | Path) -> bool:
    return isinstance(value, str) and (value == HUB or value.startswith(HUB + ":"))


def _path_source(name: str, path: Path) -> BenchmarkSource:
    """A local file or folder; pinned (and checked) when a ``manifest.json`` beside it lists it."""
    for folder in (path.parent, path.parent.parent):
        entry = snapshots.read_manifest(folder).get(name)
        if entry is not None and (folder / entry.file).resolve() in (
            path.resolve(),
            (path / "test.jsonl").resolve(),
        ):
            return BenchmarkSource(name, "snapshot", snapshots.verify(folder, entry), snapshot=entry)
    return BenchmarkSource(name, "local", path)


def _snapshot_source(name: str) -> BenchmarkSource:
    folder = snapshots.package_snapshot_dir()
    entry = snapshots.read_manifest(folder).get(name)
    if entry is None:
        raise UnknownBenchmark(
            f"unknown benchmark {name!r}: known {sorted(snapshots.read_manifest(folder))} (pinned in the "
            "package); for another, give a local path (NAME=PATH), a folder (benchmarks_dir), or hub:<id>"
        )
    return BenchmarkSource(name, "snapshot", snapshots.verify(folder, entry), snapshot=entry)


def benchmark_source(name: str, location: str | Path | BenchmarkSource | None = None) -> BenchmarkSource:
    """One benchmark's source: None means the pinned snapshot; a path, ``hub`` or ``hub:<id>[:<split>]``."""
    if isinstance(location, BenchmarkSource):
        return location
    if location is None:
        return _snapshot_source(name)
    if _is_hub(location):
        return _hub_source(name, str(location))
    return _path_source(name, Path(location))


def _local_dir_source(name: str, base: Path) -> BenchmarkSource:
    found = [
        p for p in (base / name, *(base / f"{name}.{e}" for e in ("jsonl", "json", "parquet"))) if p.exists()
    ]
    if not found:
        raise FileNotFoundError(
            f"benchmark {name!r} not found under {base} (looked for {name}/, {name}.jsonl, ...); "
            "drop it from the list or give its path explicitly"
        )
    return _path_source(name, found[0])


def resolve_benchmark_sources(
    names: list[str] | tuple[str, ...] = DEFAULT_BENCHMARKS,
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, BenchmarkSource]:
    """Where each benchmark comes from (the module docstring's order); names only in ``overrides`` are added."""
    overrides = overrides or {}
    out: dict[str, BenchmarkSource] = {}
    for name in [*names, *(n for n in overrides if n not in names)]:
        if name in overrides:
            out[name] = benchmark_source(name, overrides[name])
        elif local_dir is not None and _is_hub(local_dir):
            out[name] = _hub_source(name, HUB)
        elif local_dir is not None:
            out[name] = _local_dir_source(name, Path(local_dir))
        else:
            out[name] = _snapshot_source(name)
    return out


def resolve_benchmark_paths(
    names: list[str] | tuple[str, ...],
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, Path | str]:
    """Each benchmark's location as `load_benchmark_items` takes it: a path, or ``hub:<id>:<split>``."""
    return {n: s.location for n, s in resolve_benchmark_sources(names, local_dir, overrides).items()}


def _load_records(
    name: str, location: str | Path | BenchmarkSource | None
) -> tuple[list[dict[str, Any]], str]:
    """(raw records, where they came from)."""
    source = benchmark_source(name, location)
    if source.kind != HUB:
        return _records_from_path(Path(source.path)), str(source.path)
    import datasets

    return datasets.load_dataset(source.hub_id, split=source.split).to_list(), source.describe()


def load_benchmark(
    name: str, path: str | Path | BenchmarkSource | None = None
) -> list[dict[str, str | None]]:
    """Rows ``{"problem", "answer"}`` of a benchmark, in the benchmark's own order (item index = list index).

    ``path``: a local file or folder (any label works as ``name`` then), ``hub``/``hub:<id>``, or None for the
    pinned snapshot."""
    records, where = _load_records(name, path)
    rows = [{"problem": _pick(r, PROBLEM_COLUMNS), "answer": _pick(r, ANSWER_COLUMNS)} for r in records]
    if not rows or any(r["problem"] is None for r in rows):
        raise ValueError(f"benchmark {name!r} from {where}: no problem column among {PROBLEM_COLUMNS}")
    return rows


@dataclass(frozen=True)
class BenchmarkItem:
    """One evaluation problem: ``id`` is the benchmark's own id (else the row index), stable across copies;
    ``index`` its position in the benchmark file."""

    benchmark: str
    id: str
    problem: str
    answer: str | None
    index: int = field(default=-1, compare=False)


def _answer_text(value: Any) -> str | None:
    """Gold answers as text; math-ai/amc23 stores them as floats (``27.0``), shown as ``27``."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _items(name: str, records: list[dict[str, Any]], where: str) -> list[BenchmarkItem]:
    items = []
    for i, r in enumerate(records):
        problem = _pick(r, PROBLEM_COLUMNS)
        if problem is None:
            raise ValueError(
                f"benchmark {name!r} from {where}, row {i}: no problem column among {PROBLEM_COLUMNS}"
            )
        answer = next((_answer_text(r[c]) for c in ANSWER_COLUMNS if r.get(c) not in (None, "")), None)
        items.append(BenchmarkItem(name, _pick(r, ID_COLUMNS) or str(i), problem, answer, i))
    if not items:
        raise ValueError(f"benchmark {name!r} from {where} is empty")
    return items


def load_benchmark_items(name: str, path: str | Path | BenchmarkSource | None = None) -> list[BenchmarkItem]:
    """Problems with their ids and gold answers (for evaluation), in the benchmark's order; same sources and
    column names as `load_benchmark`, ids from ``ID_COLUMNS`` (duplicate ids are an error)."""
    records, where = _load_records(name, path)
    items = _items(name, records, where)
    dupes = sorted(i for i, n in Counter(it.id for it in items).items() if n > 1)
    if dupes:
        raise ValueError(f"benchmark {name!r} from {where}: duplicate ids {dupes[:5]}")
    return items


@dataclass(frozen=True)
class BenchmarkSet:
    """A loaded benchmark: its items (problem, answer, id, index) and where they came from."""

    source: BenchmarkSource
    items: list[BenchmarkItem]
    sha256: str

    @property
    def problems(self) -> list[str]:
        return [it.problem for it in self.items]

    def provenance(self) -> dict[str, Any]:
        """What a dataset card or run summary records: no local path, the content hash instead."""
        s = self.source
        origin = (
            s.snapshot.origin if s.snapshot else f"{s.hub_id} ({s.split})" if s.kind == HUB else "local copy"
        )
        return {
            "name": s.name,
            "source": s.kind,
            "origin": origin,
            "rows": len(self.items),
            "sha256": self.sha256,
        }


def _content_sha256(source: BenchmarkSource, records: list[dict[str, Any]]) -> str:
    """The file's sha256 when one file was read, else that of the records as sorted-key JSON lines."""
    if source.snapshot is not None:
        return source.snapshot.sha256
    path = Path(source.path) if source.path is not None else None
    files = [path] if path and path.is_file() else _data_files(path) if path and not _is_saved(path) else []
    if len(files) == 1:
        return snapshots.file_sha256(files[0])
    blob = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False, default=str) + "\n" for r in records)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_benchmark_sets(
    names: list[str] | tuple[str, ...] = DEFAULT_BENCHMARKS,
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, BenchmarkSet]:
    """Every benchmark with its items and provenance; any one that cannot be read is an error, never dropped."""
    out = {}
    for name, source in resolve_benchmark_sources(names, local_dir, overrides).items():
        records, where = _load_records(name, source)
        out[name] = BenchmarkSet(source, _items(name, records, where), _content_sha256(source, records))
    return out


def describe_benchmarks(provenance: list[dict[str, Any]]) -> str:
    """``aime24 (30), amc23 (40): pinned snapshots`` -- every benchmark covered, with where it came from."""
    names = ", ".join(f"{p['name']} ({p['rows']})" for p in provenance)
    kinds = sorted({p["source"] for p in provenance})
    label = {"snapshot": "pinned snapshots", "local": "local copies", "hub": "Hugging Face Hub"}
    return f"{names}: {' + '.join(label.get(k, k) for k in kinds)}"


def load_benchmarks(
    names: list[str] | tuple[str, ...] = DEFAULT_BENCHMARKS,
    local_dir: str | Path | None = None,
    overrides: dict[str, str] | None = None,
) -> dict[str, list[str]]:
    """Benchmark name -> its problems, ready for `stages.decontam.Decontaminator`."""
    return {name: s.problems for name, s in load_benchmark_sets(names, local_dir, overrides).items()}


def refresh_benchmarks(
    names: list[str] | tuple[str, ...], folder: str | Path
) -> list[snapshots.SnapshotEntry]:
    """Download registered benchmarks from the Hub by id into ``folder`` (``<name>/test.jsonl`` + manifest), to
    pin as a new snapshot: point ``benchmarks_dir`` at it, or copy it over ``retool_data/data/benchmarks``."""
    import datetime

    import datasets

    entries = []
    for name in names:
        source = _hub_source(name, HUB)
        records = datasets.load_dataset(source.hub_id, split=source.split).to_list()
        _items(name, records, source.describe())  # refuse a download whose columns we cannot read
        day = datetime.datetime.now(datetime.UTC).date().isoformat()
        origin = (
            f"Hugging Face Hub {source.hub_id} ({source.split}), revision {_hub_revision(source)}, read {day}"
        )
        entries.append(snapshots.write_snapshot(Path(folder), name, records, origin))
    return entries


def _hub_revision(source: BenchmarkSource) -> str:
    """The dataset repo's commit, so a refreshed snapshot says exactly what it copied ("unknown" if the Hub's
    API does not answer although the download worked, e.g. behind a datasets-only mirror)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return HfApi().dataset_info(str(source.hub_id)).sha or "unknown"
    except (OSError, HfHubHTTPError):
        return "unknown"
