"""Bad input on the command line ends in a one-line usage error and exit status 2, never a traceback.

Every command reads its files through these helpers (or wraps the call that validates the input in
`reported_as_bad_input`), so a missing file, a file that is not parquet or a frame without the columns a stage
needs reads the same everywhere: ``Invalid value for INPUT: no such file: in.parquet``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

ParamHint = str | Sequence[str] | None


def error_message(exc: BaseException) -> str:
    """The exception's own text; a KeyError's without the quotes `str(KeyError)` adds."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__


@contextmanager
def reported_as_bad_input(
    param_hint: ParamHint, errors: tuple[type[BaseException], ...] = (FileNotFoundError, ValueError, KeyError)
) -> Iterator[None]:
    """Turn `errors` raised inside the block into a usage error naming `param_hint` (the option at fault)."""
    try:
        yield
    except errors as exc:
        raise typer.BadParameter(error_message(exc), param_hint=param_hint) from exc


def require_file(path: Path, param_hint: ParamHint = None) -> Path:
    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}", param_hint=param_hint)
    return path


def read_parquet_input(path: Path, param_hint: ParamHint = None) -> Any:
    """The polars frame in `path`; a usage error if the file is missing or not readable parquet."""
    import polars as pl

    require_file(path, param_hint)
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise typer.BadParameter(
            f"{path} is not a readable parquet file: {exc}", param_hint=param_hint
        ) from exc


def read_json_input(path: Path, param_hint: ParamHint = None) -> Any:
    require_file(path, param_hint)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise typer.BadParameter(f"{path} is not a readable JSON file: {exc}", param_hint=param_hint) from exc


def require_config_file(args: Sequence[str]) -> None:
    """For commands that forward their arguments to a config parser: check ``--config PATH`` names a file."""
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            require_file(Path(args[i + 1]), "--config")
        elif arg.startswith("--config="):
            require_file(Path(arg.removeprefix("--config=")), "--config")
