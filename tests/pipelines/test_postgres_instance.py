"""The whole curation on a Postgres-backed Dagster instance (deploy/dagster.postgres.yaml, live PostgreSQL):
the run history, the asset materializations, the run queue and the pools' slots are rows in Postgres that any
other process (the UI, the daemon, a worker on another host) reads back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from tests.conftest import REPO_ROOT
from tests.pipelines import scale_helpers
from tests.pipelines.scale_helpers import PostgresCuration

one_process_curation = scale_helpers.one_process_curation  # the session fixture (shared with test_celery.py)

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _instance(curation: PostgresCuration, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    """A fresh view of the instance, as another process would open it (only the yaml and DAGSTER_PG_*)."""
    for name, value in curation.env.items():
        monkeypatch.setenv(name, value)
    return DagsterInstance.get()


def _sql(url: str, query: str, *args: object) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(query, args)
        return cur.fetchall()


def test_the_whole_curation_runs_on_postgres_and_its_history_reads_back(
    one_process_curation: PostgresCuration, monkeypatch
):
    curation = one_process_curation
    assert "checks:" in curation.output and "0 failed" in curation.output
    # every response with a reference was judged, each distinct prompt sent once
    assert curation.requests == curation.prompts > 40
    with _instance(curation, monkeypatch) as instance:
        from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        runs = instance.get_runs(RunsFilter(tags={"retool/launched_by": "cli"}))
        by_job = sorted((r.job_name, r.tags.get("dagster/partition", "")) for r in runs)
        assert by_job == [
            ("combine_job", ""),
            ("ingest_job", ""),
            ("shard_job", "shard-00000"),
            ("shard_job", "shard-00001"),
        ]
        assert {r.status for r in runs} == {DagsterRunStatus.SUCCESS}
        assert set(instance.get_dynamic_partitions("source_shards")) == {"shard-00000", "shard-00001"}
        for key in ("verified_problems", "consistent_traces"):
            assert len(instance.get_materialized_partitions(AssetKey(key))) == 2
        export = instance.get_latest_materialization_event(AssetKey("cold_start_dataset"))
        assert export is not None and export.asset_materialization.metadata["rows"].value > 0
    # the same history, as rows of the database itself: nothing went to SQLite files in DAGSTER_HOME
    rows = _sql(curation.instance_url, "SELECT pipeline_name, status FROM runs")
    assert sorted(rows) == sorted((r.job_name, "SUCCESS") for r in runs)
    assert not list((curation.project / "dagster_home").rglob("*.db"))


def test_the_run_queue_and_the_pool_slots_live_in_postgres(
    one_process_curation: PostgresCuration, monkeypatch
):
    curation = one_process_curation
    with _instance(curation, monkeypatch) as writer:
        writer.event_log_storage.set_concurrency_slots("llm", 3)
    # a run launched from the command line (as the UI or a schedule would) waits in the queue: no daemon here
    launched = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "job", "launch", "-m", "pipelines.definitions"]
        + ["-j", "combine_job", "--tags", json.dumps({"retool/test": "queued"})],
        env={**os.environ, **curation.env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    with _instance(curation, monkeypatch) as reader:  # another process: the daemon, the UI, a worker
        queued = reader.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED]))
        assert [r.tags.get("retool/test") for r in queued] == ["queued"]
        assert reader.event_log_storage.get_concurrency_info("llm").slot_count == 3
        reader.run_coordinator.cancel_run(queued[0].run_id)
        assert reader.get_run_by_id(queued[0].run_id).status == DagsterRunStatus.CANCELED
    rows = _sql(curation.instance_url, "SELECT status FROM runs WHERE run_id = %s", queued[0].run_id)
    assert rows == [("CANCELED",)]
    slots = _sql(
        curation.instance_url, "SELECT COUNT(*) FROM concurrency_slots WHERE concurrency_key = %s", "llm"
    )
    assert slots == [(3,)]
