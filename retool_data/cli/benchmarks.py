"""`retool-data benchmarks ...`: which benchmark files decontamination and evaluation read, and re-pinning them.

retool-data benchmarks list [--benchmarks-dir DIR|hub]
retool-data benchmarks refresh aime24 amc23 --to DIR      # from the Hugging Face Hub, by id
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retool_data.cli.bad_input import reported_as_bad_input

benchmarks_app = typer.Typer(
    help="The decontamination and evaluation benchmarks: pinned snapshots in the package, local copies, or the Hub.",
    no_args_is_help=True,
)


@benchmarks_app.command("list")
def list_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Benchmarks (default: aime24 aime25 amc23 math500).")
    ] = None,
    benchmarks_dir: Annotated[
        str | None,
        typer.Option(
            help="A folder of local copies (<dir>/<name>/), or 'hub'; default: the pinned snapshots."
        ),
    ] = None,
) -> None:
    """Load each benchmark where decontamination would (checking pinned hashes) and print what was read."""
    from retool_data.benchmark_sets import DEFAULT_BENCHMARKS, load_benchmark_sets

    with reported_as_bad_input(["NAMES", "--benchmarks-dir"], (OSError, ValueError)):
        sets = load_benchmark_sets(names or DEFAULT_BENCHMARKS, local_dir=benchmarks_dir)
    for name, s in sets.items():
        p = s.provenance()
        typer.echo(
            f"{name:<10} {p['source']:<9} {p['rows']:>5} rows  sha256 {p['sha256'][:16]}  {p['origin']}"
        )


@benchmarks_app.command("refresh")
def refresh_command(
    names: Annotated[
        list[str], typer.Argument(help="Registered benchmarks to download (aime24 aime25 amc23 math500).")
    ],
    to: Annotated[
        Path, typer.Option("--to", help="Folder to write <name>/test.jsonl and manifest.json into.")
    ],
) -> None:
    """Download benchmarks from the Hub by their registered ids and pin them (rows + sha256 in manifest.json).

    Use the folder with --benchmarks-dir / RETOOL_BENCHMARKS_DIR, or copy it over retool_data/data/benchmarks to
    change the package's snapshot (then update docs/filters.md's table)."""
    from retool_data.benchmark_sets import refresh_benchmarks

    with reported_as_bad_input("NAMES", (OSError, ValueError)):  # not registered; the Hub unreachable
        entries = refresh_benchmarks(names, to)
    for e in entries:
        typer.echo(f"{e.name:<10} {e.rows:>5} rows  sha256 {e.sha256[:16]}  -> {to / e.file}")


def register(app: typer.Typer) -> None:
    app.add_typer(benchmarks_app, name="benchmarks")
