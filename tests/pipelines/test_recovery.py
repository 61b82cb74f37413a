"""Failure and recovery: a shard that fails mid-run is re-run alone, and the dataset is the same as if nothing
had failed; a `retool-data run` process killed outright does not leave its pool slots held forever."""

import socket
import subprocess
import sys

import dagster as dg
import polars as pl
from dagster._core.test_utils import create_run_for_test

from pipelines.definitions import build_definitions
from pipelines.resources import SandboxResource, resources_from_env
from pipelines.runner import HOST_TAG, LAUNCHED_BY, PID_TAG, reap_dead_cli_runs, run_curation
from tests.pipelines.conftest import SHARD_SIZE, pipeline_env

FAILING = "shard-00001"


def _export(folder) -> pl.DataFrame:
    return pl.read_parquet(sorted((folder / "data").glob("train-*.parquet")))


def test_a_failed_shard_is_rerun_alone_and_the_dataset_matches_an_uninterrupted_run(curated, tmp_path):
    env = pipeline_env(tmp_path / "out")
    # The injected fault: the sandbox "host" refuses this shard (SandboxResource.fail_shards, for tests/drills).
    broken = build_definitions({**resources_from_env(env), "sandbox": SandboxResource(fail_shards=[FAILING])})
    healthy = build_definitions(resources_from_env(env))
    log: list[str] = []
    with dg.instance_for_test() as instance:
        first = run_curation(broken, instance, source_config={"shard_size": SHARD_SIZE}, log=log.append)
        assert not first.success
        assert list(first.failed) == [FAILING] and "injected sandbox failure" in first.failed[FAILING]
        assert first.shards_run == ["shard-00000", "shard-00001"]  # the other shard went on
        assert instance.get_latest_materialization_event(dg.AssetKey("cold_start_dataset")) is None
        verified = instance.get_materialized_partitions(dg.AssetKey("verified_problems"))
        rewritten = instance.get_materialized_partitions(dg.AssetKey("rewritten_traces"))
        assert verified == {"shard-00000", "shard-00001"}  # it failed mid-way, after verify
        assert rewritten == {"shard-00000"}

        second = run_curation(healthy, instance, resume=True, log=log.append)
        assert second.success, second.failed
        assert second.shards_run == [FAILING]  # only the failed shard
        assert [r.dagster_run.job_name for r in second.results] == [
            "shard_job",
            "combine_job",
        ]  # no re-ingest
        assert any("up to date, skipped" in line for line in log)

    assert _export(tmp_path / "out" / "cold_start_dataset").equals(_export(curated.export_dir))
    reject_cols = ["stage", "reason", "id"]
    again = (
        pl.read_parquet(tmp_path / "out" / "assets" / "rejected_rows.parquet")
        .select(reject_cols)
        .sort(reject_cols)
    )
    clean = pl.read_parquet(curated.store / "rejected_rows.parquet").select(reject_cols).sort(reject_cols)
    assert again.equals(clean)


def test_runs_of_a_killed_cli_process_are_failed_and_their_pool_slots_freed():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with dg.instance_for_test() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("llm", 1)
        tags = {LAUNCHED_BY: "cli", PID_TAG: str(dead.pid), HOST_TAG: socket.gethostname()}
        orphan = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=tags)
        alive = create_run_for_test(
            instance, status=dg.DagsterRunStatus.STARTED, tags={**tags, PID_TAG: str(subprocess.os.getpid())}
        )
        storage.claim_concurrency_slot("llm", orphan.run_id, "verified_problems")
        assert storage.get_concurrency_info("llm").active_slot_count == 1
        assert reap_dead_cli_runs(instance) == [orphan.run_id]
        assert instance.get_run_by_id(orphan.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED
        assert storage.get_concurrency_info("llm").active_slot_count == 0


def test_missing_benchmarks_fail_the_run_before_any_stage_work(tmp_path):
    env = {**pipeline_env(tmp_path / "out"), "RETOOL_BENCHMARKS_DIR": str(tmp_path / "empty")}
    (tmp_path / "empty").mkdir()
    with dg.instance_for_test() as instance:
        run = run_curation(build_definitions(resources_from_env(env)), instance, log=lambda _: None)
        assert not run.success and list(run.failed) == ["preflight"]
        assert "RETOOL_BENCHMARKS_DIR" in run.failed["preflight"] and "aime24" in run.failed["preflight"]
        assert run.results == [] and instance.get_runs() == []  # nothing ran, nothing was spent
