"""One entry point for every source: `load_source("sample" | "openthoughts" | "openthoughts3" | <path>)`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retool_data.schema import StageResult
from retool_data.sources.local import SAMPLE_DATASET, local_candidates, read_local, read_sample, sample_path
from retool_data.sources.open_thoughts import hub_candidates, read_openthoughts, read_openthoughts3
from retool_data.sources.records import DEFAULT_DOMAINS, Candidate

SOURCE_NAMES = ("sample", "openthoughts", "openthoughts3")
_NORMALIZER_OPTIONS = ("limit", "domains", "max_responses")
_HUB_OPTIONS = {"split", "streaming", "revision", "path", "name", "data_files", "cache_dir"}


def load_source(source: str = "sample", **options: Any) -> StageResult:
    """Read a named source or a local jsonl/parquet file or folder.

    Common options: ``limit`` (kept rows), ``domains`` (None keeps every domain). Hub sources also take
    ``split``, ``streaming``, ``revision``, ``path``, ``name``, ``data_files``, ``cache_dir``; a local path
    takes ``dataset``. An option the source does not use is an error, not silently ignored.
    """
    if source in ("openthoughts", "openthoughts3"):
        reader = read_openthoughts if source == "openthoughts" else read_openthoughts3
        return reader(**options)
    hub_only = sorted(set(options) & _HUB_OPTIONS)
    if hub_only:
        raise ValueError(f"{', '.join(hub_only)}: only for the Hub sources (openthoughts, openthoughts3)")
    if source == "sample":
        return read_sample(**options)
    require_known_source(source)
    return read_local(source, **options)


@dataclass
class OpenedSource:
    """A source's candidates, not yet normalized and read only as they are consumed (bounded memory), with the
    reader's lineage stats and the normalizer's options (what `stream_to_shards` takes)."""

    candidates: Iterable[Candidate]
    stats: dict[str, Any]
    limit: int | None = None
    domains: Iterable[str] | None = DEFAULT_DOMAINS
    max_responses: int | None = None


def open_source(source: str = "sample", **options: Any) -> OpenedSource:
    """`load_source`'s sources and options, as candidates read lazily: the same rows once normalized (the
    streaming ingestion, `retool_data.sources.stream.stream_to_shards`, normalizes them batch by batch)."""
    normalizer = {k: options.pop(k) for k in _NORMALIZER_OPTIONS if k in options}
    if source in ("openthoughts", "openthoughts3"):
        candidates, stats = hub_candidates(source, **options)
        return OpenedSource(candidates, stats, **normalizer)
    unknown = sorted(set(options) - {"dataset"})
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: only for the Hub sources (openthoughts, openthoughts3)")
    if source == "sample":
        if options:
            raise ValueError("dataset: not an option of the bundled sample")
        candidates, stats = local_candidates(sample_path(), SAMPLE_DATASET)
        stats["reader"] = "sample"
        return OpenedSource(candidates, stats, **normalizer)
    require_known_source(source)
    candidates, stats = local_candidates(source, options.get("dataset"))
    return OpenedSource(candidates, stats, **normalizer)


def require_known_source(source: str) -> None:
    """A ValueError unless `source` is a named source or an existing path."""
    if source not in SOURCE_NAMES and not Path(source).exists():
        raise ValueError(
            f"unknown source {source!r}: expected one of {', '.join(SOURCE_NAMES)} or an existing path"
        )
