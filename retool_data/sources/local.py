"""Local files (jsonl / parquet, a file or a folder of them) and the bundled sample.

A local row may be in any of three shapes, recognised per row:

- OpenThoughts-114k `metadata` (has ``deepseek_reasoning``) or OpenThoughts3 (has ``conversations``): mapped as
  the Hub readers map them, so a downloaded shard can be read without `datasets`;
- PROBLEM_SCHEMA itself (what `retool-data ingest --output` writes), where ``question`` is accepted for
  ``problem`` and ``answer`` for ``gold_answer``; missing columns are null and ``id`` is always recomputed
  from the problem (a stale id in a file cannot leak into the pipeline).

jsonl lines are parsed one at a time, so a broken line or a wrong-typed field quarantines that row only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from retool_data.schema import PROBLEM_SCHEMA, StageResult
from retool_data.sources.open_thoughts import openthoughts3_fields, openthoughts_fields
from retool_data.sources.records import DEFAULT_DOMAINS, Candidate, InvalidRow, map_rows, normalize_candidates

SAMPLE_DATASET = "bundled-sample"
SAMPLE_RESOURCE = "data/sample_problems.jsonl"
LOCAL_SUFFIXES = (".jsonl", ".parquet")
_ALIASES = {"question": "problem", "answer": "gold_answer"}


def sample_path() -> Path:
    """Where the bundled sample lives (inside the installed package)."""
    return Path(str(resources.files("retool_data").joinpath(SAMPLE_RESOURCE)))


def local_fields(row: Any) -> dict[str, Any]:
    """Schema fields of a local row in any accepted shape (see the module docstring)."""
    if not isinstance(row, dict):
        raise InvalidRow(f"row is a {type(row).__name__}, not an object")
    if "conversations" in row:
        return openthoughts3_fields(row)
    if "deepseek_reasoning" in row:
        return openthoughts_fields(row)
    fields = {_ALIASES.get(k, k): v for k, v in row.items() if _ALIASES.get(k, k) in PROBLEM_SCHEMA}
    fields.pop("id", None)
    return fields


class _BadLine:
    def __init__(self, detail: str):
        self.detail = detail


def _jsonl_rows(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                yield _BadLine(f"line {number}: invalid JSON ({exc.msg}): {line.strip()[:200]}")


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        yield from batch.to_pylist()


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix in LOCAL_SUFFIXES and p.is_file())
        if not found:
            raise FileNotFoundError(f"no {' or '.join(LOCAL_SUFFIXES)} files under {path}")
        return found
    if not path.exists():
        raise FileNotFoundError(path)
    if path.suffix not in LOCAL_SUFFIXES:
        raise ValueError(f"{path}: unsupported file type (expected {', '.join(LOCAL_SUFFIXES)})")
    return [path]


def _mapper(row: Any) -> dict[str, Any]:
    if isinstance(row, _BadLine):
        raise InvalidRow(row.detail)
    return local_fields(row)


def _candidates(files: list[Path], dataset_names: list[str]) -> Iterator[Candidate]:
    for file, name in zip(files, dataset_names, strict=True):
        rows: Iterable[Any] = _jsonl_rows(file) if file.suffix == ".jsonl" else _parquet_rows(file)
        yield from map_rows(rows, _mapper, dataset=name)


def read_local(
    path: str | Path,
    *,
    limit: int | None = None,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    dataset: str | None = None,
) -> StageResult:
    """Rows of a local jsonl/parquet file, or of every such file under a folder (sorted), as PROBLEM_SCHEMA.

    Rows that carry ``dataset``/``source_id`` keep them; otherwise ``dataset`` is `dataset` (default: the
    file's path) and ``source_id`` the row's position in its file (0-based, blank jsonl lines skipped).
    """
    path = Path(path)
    files = _files(path)
    names = [dataset or str(f) for f in files]
    stats = {"reader": "local", "dataset": dataset or str(path), "files": [str(f) for f in files]}
    return normalize_candidates(_candidates(files, names), domains=domains, limit=limit, stats=stats)


def read_sample(*, limit: int | None = None, domains: Iterable[str] | None = DEFAULT_DOMAINS) -> StageResult:
    """The bundled sample: hand-written OpenThoughts-114k-style math rows, some deliberately wrong or malformed.

    See docs/sources.md for its manifest. ``dataset`` is ``"bundled-sample"``, ``source_id`` the line number.
    """
    result = read_local(sample_path(), limit=limit, domains=domains, dataset=SAMPLE_DATASET)
    result.stats["reader"] = "sample"
    return result
