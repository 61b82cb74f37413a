"""One entry point for every source: `load_source("sample" | "openthoughts" | "openthoughts3" | <path>)`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from retool_data.schema import StageResult
from retool_data.sources.local import read_local, read_sample
from retool_data.sources.open_thoughts import read_openthoughts, read_openthoughts3

SOURCE_NAMES = ("sample", "openthoughts", "openthoughts3")
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


def require_known_source(source: str) -> None:
    """A ValueError unless `source` is a named source or an existing path."""
    if source not in SOURCE_NAMES and not Path(source).exists():
        raise ValueError(
            f"unknown source {source!r}: expected one of {', '.join(SOURCE_NAMES)} or an existing path"
        )
