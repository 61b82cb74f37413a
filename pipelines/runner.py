"""The whole curation in this process, on a Dagster instance: what `retool-data run` executes.

Three steps, each a real Dagster run recorded in the instance (so `dagster dev` shows them afterwards):
ingest (`ingest_job`: reads the source, plans the shards), one `shard_job` run per shard (verify, rewrite,
consistency), then `combine_job` (dedup, decontamination, quarantine, export). A shard that fails does not
stop the others; the combine step only runs when every shard succeeded. ``resume=True`` keeps the ingested
source and re-runs only the shards that are missing, failed or older than it, then combines.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, Definitions, RunsFilter

from pipelines.automation import SHARD_ASSETS
from pipelines.partitions import SHARDS_NAME

LAUNCHED_BY = "retool/launched_by"
PID_TAG, HOST_TAG = "retool/pid", "retool/host"
COMBINE_JOBS = ("combine_job", "publish_job")


@dataclass
class CurationRun:
    """What one `run_curation` call did."""

    shards: list[str] = field(default_factory=list)
    shards_run: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # step ("ingest", a shard, "combine") -> error
    results: list[Any] = field(default_factory=list)  # ExecuteInProcessResult of each run
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return not self.failed and any(r.dagster_run.job_name in COMBINE_JOBS for r in self.results)


def _error(result: Any) -> str:
    """The first failed step and its root cause (Dagster wraps user errors in its own)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            # one line, but not just the first: a failed check names itself on the lines after the headline
            message = " ".join(error.message.split())[:300] or error.cls_name
            return f"{event.step_key}: {message}"
    return "run failed"


def reap_dead_cli_runs(instance: DagsterInstance) -> list[str]:
    """Mark runs of `retool-data run` processes that died (kill -9) as failed and free their pool slots.

    Without the daemon nothing else would: a slot still held by a dead process blocks the pool forever."""
    host = socket.gethostname()
    reaped = []
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED], tags={LAUNCHED_BY: "cli"})):
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if run.tags.get(HOST_TAG) != host or pid <= 0 or _alive(pid):
            continue
        instance.report_run_failed(run, f"the retool-data run process (pid {pid}) is gone")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _latest_timestamp(instance: DagsterInstance, key: str, partition: str | None = None) -> float | None:
    from dagster import AssetRecordsFilter

    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(key), asset_partitions=[partition] if partition else None),
        limit=1,
    ).records
    return records[0].timestamp if records else None


def shard_is_current(instance: DagsterInstance, shard: str, since: float) -> bool:
    """Every shard asset of ``shard`` was materialized after ``since`` (the latest ingest)."""
    for key in SHARD_ASSETS:
        ts = _latest_timestamp(instance, key, shard)
        if ts is None or ts < since:
            return False
    return True


def _benchmarks_ready(defs: Definitions, out: CurationRun, log: Callable[[str], None]) -> bool:
    """Preflight: the decontamination benchmarks load (a second when cached), so a missing one fails the run
    before any LLM or sandbox work instead of after it."""
    from pipelines.resources import BenchmarksUnavailable, FilterSettings
    from retool_data.benchmark_sets import describe_benchmarks

    filters = defs.resources.get("filters")
    if not isinstance(filters, FilterSettings):
        return True
    try:
        sets = filters.load_benchmark_sets()
    except BenchmarksUnavailable as exc:
        log(f"preflight: decontamination benchmarks {', '.join(filters.benchmarks)}: cannot load them")
        out.failed["preflight"] = str(exc)
        return False
    log(
        f"preflight: decontamination benchmarks {describe_benchmarks([s.provenance() for s in sets.values()])}"
    )
    return True


def run_curation(
    defs: Definitions,
    instance: DagsterInstance,
    *,
    source_config: Mapping[str, Any] | None = None,
    resume: bool = False,
    publish: bool = False,
    log: Callable[[str], None] = print,
    log_level: str = "WARNING",
) -> CurationRun:
    """Materialize every curation asset in-process (see the module docstring); Dagster's own console log
    shows ``log_level`` and above (every event is still in the instance's event log)."""
    started = time.monotonic()
    out = CurationRun()
    tags = {LAUNCHED_BY: "cli", PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    for run_id in reap_dead_cli_runs(instance):
        log(f"marked run {run_id} failed: its process is gone")

    def execute(job: str, step: str, run_config: Mapping[str, Any] | None = None, **kwargs: Any) -> bool:
        config = {**(run_config or {}), "loggers": {"console": {"config": {"log_level": log_level}}}}
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, tags=tags, raise_on_error=False, run_config=config, **kwargs
        )
        out.results.append(result)
        if not result.success:
            out.failed[step] = _error(result)
        return result.success

    if not _benchmarks_ready(defs, out, log):
        out.seconds = time.monotonic() - started
        return out
    ingested_at = _latest_timestamp(instance, "source_problems")
    if not resume or ingested_at is None:
        run_config = {"resources": {"source": {"config": dict(source_config)}}} if source_config else None
        log("ingest: reading the source")
        if not execute("ingest_job", "ingest", run_config=run_config):
            out.seconds = time.monotonic() - started
            return out
        ingested_at = _latest_timestamp(instance, "source_problems")
    out.shards = sorted(instance.get_dynamic_partitions(SHARDS_NAME))
    for i, shard in enumerate(out.shards, 1):
        if resume and shard_is_current(instance, shard, ingested_at or 0.0):
            log(f"{shard} ({i}/{len(out.shards)}): up to date, skipped")
            continue
        log(f"{shard} ({i}/{len(out.shards)}): verify, rewrite, consistency")
        out.shards_run.append(shard)
        if not execute("shard_job", shard, partition_key=shard):
            log(f"{shard} failed: {out.failed[shard]}")
    if not out.failed:
        log("combine: dedup, decontamination, export")
        execute("publish_job" if publish else "combine_job", "combine")
    out.seconds = time.monotonic() - started
    return out
