"""Local files (jsonl / parquet, a file or a folder of them) and the bundled sample.

A local row may be in any of three shapes, recognised per row:

- OpenThoughts-114k `metadata` (has ``deepseek_reasoning``) or OpenThoughts3 (has ``conversations``): mapped as
  the Hub readers map them, so a downloaded shard can be read without `datasets`;
- PROBLEM_SCHEMA itself (what `retool-data ingest --output` writes), where ``question`` is accepted for
  ``problem`` and ``answer`` for ``gold_answer``; missing columns are null and ``id`` is always recomputed
  from the problem (a stale id in a file cannot leak into the pipeline).

jsonl lines are split at LF and decoded and parsed one at a time, parquet files read row group by row group, so a
broken line (not UTF-8, not JSON), a wrong-typed field or a corrupt file quarantines that row or file only.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from retool_data.schema import PROBLEM_SCHEMA, StageResult
from retool_data.sources.open_thoughts import openthoughts3_fields, openthoughts_fields
from retool_data.sources.records import (
    DEFAULT_DOMAINS,
    Candidate,
    InvalidRow,
    UnrecognisedRow,
    map_rows,
    normalize_candidates,
    safe_text,
)

SAMPLE_DATASET = "bundled-sample"
SAMPLE_RESOURCE = "data/sample_problems.jsonl"
LOCAL_SUFFIXES = (".jsonl", ".parquet")
_ALIASES = {"question": "problem", "answer": "gold_answer"}
# strict=False: control characters (a raw CR or TAB) inside strings are text, not a broken row. One decoder for
# every line (json.loads with an option builds a new one per call).
_DECODER = json.JSONDecoder(strict=False)


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
    for derived in ("id", "problem_id", "response_index"):  # recomputed from the problem, never trusted
        fields.pop(derived, None)
    if not fields and not any(_ALIASES.get(k, k) in PROBLEM_SCHEMA for k in row):
        keys = ", ".join(repr(safe_text(str(k)))[:40] for k in list(row)[:8]) or "none"
        raise UnrecognisedRow(f"no known column (has: {keys}); expected problem/question, reasoning, ...")
    return fields


def display_path(path: Path) -> str:
    """A path as text that polars/arrow accept: undecodable filename bytes written as ``\\xNN`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _unreadable(detail: str) -> Candidate:
    return Candidate(invalid=detail, reason="unreadable_file")


def _parse_line(raw: bytes, number: int) -> Any:
    """One jsonl line as a Python value, or a `Candidate` saying why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Candidate(
            invalid=f"line {number}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        )
    try:
        return _DECODER.decode(text)
    except RecursionError:
        return Candidate(invalid=f"line {number}: JSON nested too deep ({len(raw)} bytes)")
    except ValueError as exc:  # JSONDecodeError, or an integer over Python's 4,300-digit conversion limit
        message = getattr(exc, "msg", None) or str(exc).split(":")[0]
        return Candidate(invalid=f"line {number}: invalid JSON ({message}): {safe_text(text.strip()[:200])}")


def _jsonl_rows(path: Path) -> Iterator[Any]:
    """One value per non-blank line. Lines end at LF only (a CR inside a line is data, CRLF endings work), a
    UTF-8 BOM before the first line is skipped, and each line is decoded on its own, so one bad line is one
    quarantined row. A file that cannot be opened or read further yields one `unreadable_file` candidate."""
    name = display_path(path)
    try:
        with path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if raw.strip():
                    yield _parse_line(raw, number)
    except OSError as exc:
        yield _unreadable(f"{name}: cannot read ({type(exc).__name__}: {exc.strerror or exc})")


def _parquet_rows(path: Path) -> Iterator[Any]:
    """Rows of a parquet file, row group by row group: an unreadable file or row group is one
    `unreadable_file` candidate, and the readable ones beside it are still read."""
    import pyarrow.parquet as pq

    name = display_path(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - arrow raises several types for a corrupt footer
        yield _unreadable(f"{name}: not a readable parquet file ({type(exc).__name__}: {exc})")
        return
    for group in range(pf.num_row_groups):
        size = pf.metadata.row_group(group).num_rows
        done = 0
        try:
            for batch in pf.iter_batches(batch_size=1024, row_groups=[group]):
                yield from _batch_rows(batch)
                done += batch.num_rows
        except Exception as exc:  # noqa: BLE001 - a corrupt page: the rest of this row group is lost
            yield _unreadable(
                f"{name}: row group {group} unreadable after {done} of {size} rows ({type(exc).__name__}: {exc})"
            )


def _batch_rows(batch: Any) -> Iterator[Any]:
    try:
        rows = batch.to_pylist()
    except Exception:  # noqa: BLE001 - e.g. invalid UTF-8 in a string column: find the row, keep the others
        rows = []
        for i in range(batch.num_rows):
            try:
                rows.extend(batch.slice(i, 1).to_pylist())
            except Exception as exc:  # noqa: BLE001
                rows.append(
                    Candidate(invalid=f"row {i} of its batch cannot be decoded ({type(exc).__name__}: {exc})")
                )
    yield from rows


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


def iter_local_candidates(files: list[Path], dataset: str | None = None) -> Iterator[Candidate]:
    """Candidates of each file in turn, read in batches (bounded memory per file); ``dataset`` overrides the
    name recorded for rows that carry none (default: the file's path)."""
    for file in files:
        rows = _jsonl_rows(file) if file.suffix == ".jsonl" else _parquet_rows(file)
        yield from map_rows(rows, local_fields, dataset=dataset or display_path(file))


def local_candidates(
    path: str | Path, dataset: str | None = None
) -> tuple[Iterator[Candidate], dict[str, Any]]:
    """The unnormalized candidates of a local file or folder, read lazily, and the reader's lineage stats."""
    path = Path(path)
    files = _files(path)
    stats = {
        "reader": "local",
        "dataset": dataset or display_path(path),
        "files": [display_path(f) for f in files],
    }
    return iter_local_candidates(files, dataset), stats


def read_local(
    path: str | Path,
    *,
    limit: int | None = None,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    dataset: str | None = None,
    max_responses: int | None = None,
) -> StageResult:
    """Rows of a local jsonl/parquet file, or of every such file under a folder (sorted), as PROBLEM_SCHEMA.

    Rows that carry ``dataset``/``source_id`` keep them; otherwise ``dataset`` is `dataset` (default: the
    file's path) and ``source_id`` the row's position in its file (0-based, blank jsonl lines skipped).
    A file or row that cannot be read is quarantined (``unreadable_file``, ``invalid_row``); the rest is read.
    """
    candidates, stats = local_candidates(path, dataset)
    return normalize_candidates(
        candidates, domains=domains, limit=limit, max_responses=max_responses, stats=stats
    )


def read_sample(
    *,
    limit: int | None = None,
    domains: Iterable[str] | None = DEFAULT_DOMAINS,
    max_responses: int | None = None,
) -> StageResult:
    """The bundled sample: hand-written OpenThoughts-114k-style math rows, some deliberately wrong or malformed.

    See docs/sources.md for its manifest. ``dataset`` is ``"bundled-sample"``, ``source_id`` the line number.
    """
    result = read_local(
        sample_path(), limit=limit, domains=domains, dataset=SAMPLE_DATASET, max_responses=max_responses
    )
    result.stats["reader"] = "sample"
    return result
