"""The `retool-data` command line. Each command group lives in its own module with a `register(app)` function.

Heavy libraries (torch, transformers, dagster) are imported inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

import typer

from retool_data import __version__

app = typer.Typer(
    name="retool-data",
    help="ReTool cold-start curation (Open-Thoughts -> verified, code-interleaved traces) and training.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """ReTool cold-start curation and training. Run `retool-data COMMAND --help` for a command's options."""


@app.command()
def version() -> None:
    """Print the package version."""
    typer.echo(__version__)


# Command modules, registered in pipeline order (that is the order of `--help`).
from retool_data.cli import benchmarks as _benchmarks  # noqa: E402
from retool_data.cli import eval as _eval  # noqa: E402
from retool_data.cli import filter as _filter  # noqa: E402
from retool_data.cli import ingest as _ingest  # noqa: E402
from retool_data.cli import llm as _llm  # noqa: E402
from retool_data.cli import run as _run  # noqa: E402
from retool_data.cli import sandbox as _sandbox  # noqa: E402
from retool_data.cli import train as _train  # noqa: E402

for _module in (_run, _ingest, _llm, _filter, _sandbox, _train, _eval, _benchmarks):
    _module.register(app)


def main() -> None:
    app()
