"""`retool-data run` (the whole curation as Dagster runs, in this process) and `retool-data ui` (`dagster dev`).

Both set up Dagster's instance folder themselves: DAGSTER_HOME when it is set, else ./.dagster_home with the
project's dagster.yaml (`pipelines.instance.ensure_dagster_home`). Settings beyond these options (LLM
endpoints, sandbox, storage, export folder) come from RETOOL_* environment variables: docs/configuration.md.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from retool_data.cli.bad_input import reported_as_bad_input


def run(
    source: Annotated[
        str | None,
        typer.Option(
            help="sample | openthoughts | openthoughts3 | a .jsonl/.parquet file or folder "
            "(default: $RETOOL_SOURCE, else the bundled sample)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop reading after this many kept problems.")
    ] = None,
    shard_size: Annotated[
        int | None, typer.Option(min=1, help="Problems per shard (default: $RETOOL_SHARD_SIZE, else 1000).")
    ] = None,
    revision: Annotated[str | None, typer.Option(help="Hub sources: commit sha or tag to pin.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the ingested source; re-run only failed or missing shards.")
    ] = False,
    log_level: Annotated[
        str,
        typer.Option(
            help="Dagster's own console log: CRITICAL (summary only), ERROR (+ tracebacks), INFO, DEBUG."
        ),
    ] = "CRITICAL",
    push_to_hub: Annotated[
        bool, typer.Option("--push-to-hub", help="Also publish the export ($RETOOL_HUB_REPO, $HF_TOKEN).")
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where steps execute: default (this machine) or celery (Celery workers started with "
            "`retool-data worker`; needs a shared instance, e.g. Postgres). Default: $RETOOL_EXECUTOR."
        ),
    ] = None,
    parallel: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Shard runs in flight at once (default: 1; celery: the instance's max_concurrent_runs).",
        ),
    ] = None,
) -> None:
    """Run the whole curation (ingest, verify, rewrite, filters, export) and print where the dataset is."""
    if executor is not None:
        from pipelines.executors import EXECUTOR_ENV, executor_kind

        with reported_as_bad_input("--executor", (ValueError,)):
            executor_kind({EXECUTOR_ENV: executor})
        os.environ[EXECUTOR_ENV] = executor  # before the definitions load: every run of this process uses it
    if source is not None:  # a missing file is a usage error here, not a failed Dagster run
        from retool_data.sources.registry import require_known_source

        with reported_as_bad_input("--source", (ValueError,)):
            require_known_source(source)
    overrides = {"source": source, "limit": limit, "shard_size": shard_size, "revision": revision}
    source_config = {k: v for k, v in overrides.items() if v is not None}
    if resume and source_config:
        raise typer.BadParameter(
            "--resume re-uses the ingested source: drop --source/--limit/--shard-size/--revision"
        )
    from pipelines.instance import ensure_dagster_home

    home = ensure_dagster_home()
    import datasets
    from dagster import DagsterInstance

    from pipelines.definitions import build_definitions
    from pipelines.report import format_report
    from pipelines.runner import run_curation

    # The export's progress bars would bury the summary. The switch is process-wide state of `datasets` (the env
    # variable is only read at import), so set it here and put it back after.
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        with DagsterInstance.get() as instance:
            result = run_curation(
                build_definitions(),
                instance,
                source_config=source_config,
                resume=resume,
                publish=push_to_hub,
                log=lambda line: typer.echo(line, err=True),
                log_level=log_level.upper(),
                parallel=parallel,
            )
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    typer.echo(format_report(result, home))
    if not result.success:
        raise typer.Exit(1)


def ui(
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
    host: Annotated[
        str, typer.Option(help="Interface to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
) -> None:
    """Start the Dagster UI and daemon (`dagster dev`) on the project's definitions and instance."""
    from pipelines.instance import ensure_dagster_home

    ensure_dagster_home()
    if importlib.util.find_spec("dagster_webserver") is None:
        raise typer.BadParameter("the Dagster UI (dagster-webserver) is not installed in this environment")
    # Dagster's own CLI, run by retool_data.cli.dagster_dev: it drops dagster dev's false warning that the
    # project's dagster.yaml "will not be used" (DAGSTER_HOME holds a copy of it)
    args = [sys.executable, "-m", "retool_data.cli.dagster_dev", "dev", "-m", "pipelines.definitions"]
    args += ["-h", host, "-p", str(port)]
    typer.echo(f"DAGSTER_HOME={os.environ['DAGSTER_HOME']}; dagster {' '.join(args[3:])}", err=True)
    os.execv(sys.executable, args)


def worker(
    name: Annotated[
        str | None,
        typer.Option(help="Worker name (default: retool-<pid>@<host>), shown in the run's events."),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker that executes curation steps (runs with RETOOL_EXECUTOR=celery send them here).

    One step at a time, in this process (--pool solo): start one worker per core, on as many machines as you
    like, with the same RETOOL_* settings as the runs (broker: $RETOOL_CELERY_BROKER)."""
    from pipelines.executors import celery_app_args

    celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or shutil.which("celery")
    if celery is None:
        raise typer.BadParameter("the `celery` command is not installed in this environment")
    broker = celery_app_args()["broker"]
    args = [celery, "-A", "pipelines.celery_worker", "worker", "--pool", "solo", "--concurrency", "1"]
    args += ["--queues", "dagster", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle"]
    args += ["--hostname", name or f"retool-{os.getpid()}@%h", "--loglevel", loglevel]
    typer.echo(f"celery worker on {broker.split('@')[-1]}: {' '.join(args[1:])}", err=True)
    os.execv(celery, args)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("ui")(ui)
    app.command("worker")(worker)
