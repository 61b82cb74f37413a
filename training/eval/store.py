"""The append-only sample file of an evaluation run (``samples.jsonl``): what makes a killed run resumable.

Every finished sample is one JSON line, keyed by ``(benchmark, problem_id, sample_index)``, written and flushed
as soon as its rollout ends. Re-opening the file reads the keys already done, so only the missing samples are
generated. A line cut by a kill (no trailing newline) is removed before anything new is appended; a key found
twice (two runs appending at once) keeps its first line.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

# the files of a run directory: the run's config + problem ids, and its samples
CONFIG_FILE = "eval_config.json"
SAMPLES_FILE = "samples.jsonl"

SampleKey = tuple[str, str, int]


def sample_key(record: dict[str, Any]) -> SampleKey:
    return (str(record["benchmark"]), str(record["problem_id"]), int(record["sample_index"]))


def read_samples(path: str | Path) -> Iterator[dict[str, Any]]:
    """Every complete record of a sample file, in file order (a torn last line is skipped)."""
    p = Path(path)
    if not p.exists():
        return
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                log.warning("%s:%d: incomplete last line (a killed run); ignored", p, lineno)
                return
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{p}:{lineno}: not a JSON sample record ({e})") from None


class SampleStore:
    """``samples.jsonl`` of a run: `done` keys, `append` one record (flushed), `records` in key order."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._records: dict[SampleKey, dict[str, Any]] = {}
        self._drop_torn_tail()
        duplicates = 0
        for rec in read_samples(self.path):
            key = sample_key(rec)
            if key in self._records:
                duplicates += 1
                continue
            self._records[key] = rec
        if duplicates:
            log.warning("%s: %d duplicate sample keys ignored (first line kept)", self.path, duplicates)
        self._fh: IO[str] | None = None

    def _drop_torn_tail(self) -> None:
        """Truncate a last line without its newline, so the next append starts on a line of its own."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with self.path.open("rb+") as fh:
            data = fh.read()
            if data.endswith(b"\n"):
                return
            keep = data.rfind(b"\n") + 1
            log.warning("%s: dropping an incomplete last record (%d bytes)", self.path, len(data) - keep)
            fh.truncate(keep)

    @property
    def done(self) -> set[SampleKey]:
        return set(self._records)

    def __contains__(self, key: SampleKey) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> list[dict[str, Any]]:
        """Every saved record, sorted by key."""
        return [self._records[k] for k in sorted(self._records)]

    def append(self, record: dict[str, Any]) -> None:
        key = sample_key(record)
        if key in self._records:
            raise ValueError(f"sample {key} is already saved in {self.path}")
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8")
        self._fh.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        self._fh.flush()  # survives a killed process (the OS has the bytes); os.fsync only on close
        self._records[key] = record

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
