"""Runs whose steps execute on Celery workers (``RETOOL_EXECUTOR=celery``), launched by `retool-data run`.

Each run is reconstructable from ``pipelines.definitions`` (a worker rebuilds the job from the same module and
the same ``RETOOL_*`` settings) and recorded in the shared instance. Several shard runs are orchestrated at once
from child processes, one run each: Dagster's run machinery reconfigures process-wide logging when a run starts,
so two runs in threads of one process can deadlock on the logging locks. A child only orchestrates (its steps
are on the workers) and hands back the run id; `RecordedRun` reads the run's events back from the instance.
"""

from __future__ import annotations

import multiprocessing
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus

from pipelines.partitions import partition_tags


def execute_on_workers(
    job: str,
    instance: DagsterInstance,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
    partition: str | None = None,
) -> Any:
    """One run of ``job`` (of ``partition``), its steps sent where the definitions' executor sends them."""
    from dagster import execute_job
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    # dagster-celery registers its task on the run's Celery app once per step; the repeats are harmless
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")

    repository = ReconstructableRepository.for_module("pipelines.definitions", "defs", os.getcwd())
    run_tags = {**tags, **(partition_tags(partition) if partition else {})}
    return execute_job(
        repository.get_reconstructable_job(job), instance, run_config=run_config, tags=run_tags
    )


def _orchestrate(job: str, run_config: Mapping[str, Any], tags: Mapping[str, str], partition: str) -> str:
    """In a child process: run ``job`` for ``partition`` on the workers; its run id."""
    with DagsterInstance.get() as instance:
        return execute_on_workers(job, instance, run_config, tags, partition).run_id


class RecordedRun:
    """A finished run read back from the instance, with the parts of `ExecuteInProcessResult` the runner and
    its report use (``success``, ``dagster_run``, ``all_events``, materializations, check evaluations)."""

    def __init__(self, instance: DagsterInstance, run_id: str) -> None:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise LookupError(f"run {run_id} is not in the instance")
        self.dagster_run = run
        self.run_id = run_id
        self.success = run.status == DagsterRunStatus.SUCCESS
        self.all_events = [r.dagster_event for r in instance.all_logs(run_id) if r.dagster_event is not None]

    def get_asset_materialization_events(self) -> list[Any]:
        return [e for e in self.all_events if e.event_type == DagsterEventType.ASSET_MATERIALIZATION]

    def get_asset_check_evaluations(self) -> list[Any]:
        kind = DagsterEventType.ASSET_CHECK_EVALUATION
        return [e.event_specific_data for e in self.all_events if e.event_type == kind]


def initialize_pools(instance: DagsterInstance, job_def: Any) -> list[str]:
    """Create the limit row of every pool ``job_def``'s steps use that has none yet (the default limit).

    Dagster creates it when a step first claims a slot; two runs doing that at the same moment on Postgres
    collide on its unique key and one run fails (``UniqueViolation`` then ``InFailedSqlTransaction``). Done
    once here, before the runs start, there is nothing left to race on. A pool with a limit is left alone."""
    pools = {getattr(node.definition, "pool", None) for node in job_def.graph.nodes}
    storage = instance.event_log_storage
    missing = sorted(p for p in pools - storage.get_concurrency_keys() if p)
    for pool in missing:
        storage.initialize_concurrency_limit_to_default(pool)
    return missing


def run_partitions(
    job: str,
    partitions: Sequence[str],
    instance: DagsterInstance,
    run_config: Mapping[str, Any],
    tags: Mapping[str, str],
    parallel: int,
) -> Iterator[tuple[str, Any]]:
    """One run of ``job`` per partition, up to ``parallel`` at once; yields (partition, result) as they end.

    A child that dies before its run ends yields the exception instead of a result."""
    spawn = multiprocessing.get_context(
        "spawn"
    )  # a fresh interpreter: no forked locks, no copied connections
    with ProcessPoolExecutor(max(1, min(parallel, len(partitions))), mp_context=spawn) as pool:
        futures = {
            pool.submit(_orchestrate, job, dict(run_config), dict(tags), key): key for key in partitions
        }
        for future in as_completed(futures):
            try:
                yield futures[future], RecordedRun(instance, future.result())
            except Exception as exc:  # noqa: BLE001 - reported as the shard's failure
                yield futures[future], exc
