"""Pinned benchmark snapshots: benchmark files in a folder, each listed in a ``manifest.json`` beside them.

The package ships one such folder (``retool_data/data/benchmarks``: AIME24, AIME25, AMC23, MATH-500), the default
for decontamination and evaluation, so an offline machine checks against the same problems as every other one.
The manifest records each file's origin, row count and sha256; reading a file that a manifest lists checks both,
so a snapshot that changed on disk is an error, never a silently different benchmark. `write_snapshot` writes a
file and its manifest entry (``retool-data benchmarks refresh`` uses it to pin a fresh copy from the Hub).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
PACKAGE_SNAPSHOTS = "data/benchmarks"


class SnapshotMismatch(ValueError):
    """A benchmark file does not match what its manifest recorded (edited, truncated, replaced)."""


@dataclass(frozen=True)
class SnapshotEntry:
    """One pinned file; ``file`` is relative to the snapshot folder."""

    name: str
    file: str
    rows: int
    sha256: str
    origin: str


def package_snapshot_dir() -> Path:
    """The snapshot folder shipped inside the installed package."""
    return Path(str(resources.files("retool_data").joinpath(PACKAGE_SNAPSHOTS)))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def jsonl_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def read_manifest(folder: Path) -> dict[str, SnapshotEntry]:
    """The manifest of ``folder`` ({} when it has none)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {e["name"]: SnapshotEntry(**e) for e in data["benchmarks"]}


def verify(folder: Path, entry: SnapshotEntry) -> Path:
    """The entry's file, after checking that its sha256 and row count are the recorded ones."""
    path = Path(folder) / entry.file
    if not path.is_file():
        raise SnapshotMismatch(f"benchmark {entry.name!r}: {entry.file} listed in {MANIFEST} is missing")
    digest = file_sha256(path)
    if digest != entry.sha256:
        raise SnapshotMismatch(
            f"benchmark {entry.name!r}: {entry.file} has sha256 {digest[:12]}, its manifest pins "
            f"{entry.sha256[:12]}; restore the file or re-pin it (`retool-data benchmarks refresh`)"
        )
    rows = jsonl_rows(path) if path.suffix == ".jsonl" else entry.rows
    if rows != entry.rows:
        raise SnapshotMismatch(
            f"benchmark {entry.name!r}: {entry.file} has {rows} rows, manifest says {entry.rows}"
        )
    return path


def write_snapshot(
    folder: Path,
    name: str,
    records: list[dict[str, Any]],
    origin: str,
) -> SnapshotEntry:
    """Write ``folder/<name>/test.jsonl`` and its manifest entry (replacing an older entry of that name)."""
    folder = Path(folder)
    path = folder / name / "test.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records)
    path.write_text("".join(lines), encoding="utf-8")
    entry = SnapshotEntry(name, f"{name}/test.jsonl", len(records), file_sha256(path), origin)
    entries = {**read_manifest(folder), name: entry}
    manifest = {"benchmarks": [asdict(entries[n]) for n in sorted(entries)]}
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return entry
