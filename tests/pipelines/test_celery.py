"""The curation's shards on two Celery workers (live RabbitMQ broker, Postgres instance and LLM cache): one worker
is killed with SIGKILL while it verifies a shard, RabbitMQ hands the step to the other worker, the `llm` pool
(limit 1) still lets one LLM step run at a time across both workers, no LLM reply received before the kill is
paid for again, and the export equals the one-process run's row for row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from retool_data.llm.pg_cache import PostgresResponseCache
from tests.pipelines import scale_helpers
from tests.pipelines.scale_helpers import (
    PostgresCuration,
    curation_env,
    exported_rows,
    finish_curation,
    judge_reply,
    start_curation,
)
from tests.retool_data.llm.fake_openai import FakeOpenAIServer
from tests.services import postgres_database, rabbitmq_vhost

pytestmark = [pytest.mark.services, pytest.mark.slow]
one_process_curation = scale_helpers.one_process_curation  # the session fixture (shared with Postgres tests)

WORKERS = ("w1@retool-test", "w2@retool-test")
KILL_AFTER = 8  # judge replies received before the judge stops answering and the busy worker is killed
LLM_STEPS = ("verified_problems", "rewritten_traces")  # pool `llm`


def wait_for(condition, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def celery_workers(env: dict[str, str], logs: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """`retool-data worker` processes, each in its own process group (its sandbox goes with it at the end)."""
    logs.mkdir(parents=True, exist_ok=True)
    procs = {}
    try:
        for name in WORKERS:
            out = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed when the worker exits
            cmd = [sys.executable, "-m", "retool_data", "worker", "--name", name]
            procs[name] = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        for name in WORKERS:
            log = logs / f"{name}.log"
            wait_for(
                lambda log=log, name=name: f"{name} ready." in log.read_text(errors="replace"), name, 180
            )
        yield procs
    finally:
        for proc in procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(30)


def worker_events(instance: DagsterInstance, run_id: str, step: str) -> list[str]:
    """The workers that started ``step`` in run ``run_id``, in order (dagster-celery's engine events)."""
    names = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        meta = event.engine_event_data.metadata if event and event.step_key == step else {}
        if "Celery worker" in meta:
            names.append(meta["Celery worker"].value)
    return names


def busy_llm_worker(instance: DagsterInstance) -> tuple[str, str] | None:
    """(run id, worker) of the verify step that is running now, if any."""
    for run in instance.get_runs(RunsFilter(job_name="shard_job")):
        done = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)
        if any(r.step_key == "verified_problems" for r in done):
            continue
        started = worker_events(instance, run.run_id, "verified_problems")
        if started:
            return run.run_id, started[-1]
    return None


def llm_step_intervals(instance: DagsterInstance) -> list[tuple[float, float, str]]:
    """(first start, success, step) of each LLM step of each shard run, by start."""
    spans = []
    for run in instance.get_runs(RunsFilter(job_name="shard_job")):
        starts = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
        ends = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)
        for step in LLM_STEPS:
            begin = min(r.timestamp for r in starts if r.step_key == step)
            end = max(r.timestamp for r in ends if r.step_key == step)
            spans.append((begin, end, f"{run.tags['dagster/partition']}/{step}"))
    return sorted(spans)


def test_shards_on_celery_workers_survive_a_killed_worker_and_match_one_process(
    one_process_curation: PostgresCuration, tmp_path, monkeypatch
):
    reference = one_process_curation
    replies = {"n": 0}

    def stop_answering_after(body, seen):
        replies["n"] += 1
        if replies["n"] > KILL_AFTER:
            judge.paused = True  # this request and every later one wait: nothing else completes
        return judge_reply(body, seen)

    with (
        postgres_database("celery_instance") as instance_url,
        postgres_database("celery_llmcache") as cache_url,
        rabbitmq_vhost("celery") as broker,
        FakeOpenAIServer(stop_answering_after) as judge,
    ):
        env = curation_env(
            tmp_path,
            instance_url,
            cache_url,
            judge.base_url,
            RETOOL_EXECUTOR="celery",
            RETOOL_CELERY_BROKER=broker,
        )
        for name in ("DAGSTER_HOME", *(k for k in env if k.startswith("DAGSTER_PG_"))):
            monkeypatch.setenv(name, env[name])
        with DagsterInstance.get() as instance, celery_workers(env, tmp_path / "workers") as workers:
            instance.event_log_storage.set_concurrency_slots(
                "llm", 1
            )  # one LLM step at a time, on any worker
            run = start_curation(tmp_path, env)
            wait_for(lambda: judge.paused, "the first shard's judge requests", 300)
            completed = {r.key for r in judge.completed()}
            with PostgresResponseCache(cache_url) as cache:  # the worker stored every reply it received
                wait_for(lambda: len(cache) == len(completed), "the replies in the shared cache", 30)
            run_id, victim = wait_for(lambda: busy_llm_worker(instance), "the busy worker", 60)
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait(30)
            seen_before_kill = len(judge.records())
            judge.responder = judge_reply  # answer everything from now on
            judge.paused = False
            output = finish_curation(run, tmp_path, timeout=600)

            after = judge.records()[seen_before_kill:]
            retried_on = worker_events(instance, run_id, "verified_problems")
            spans = llm_step_intervals(instance)
            statuses = {r.status for r in instance.get_runs(RunsFilter(tags={"retool/launched_by": "cli"}))}
            used = {
                w
                for r in instance.get_runs()
                for step in LLM_STEPS
                for w in worker_events(instance, r.run_id, step)
            }

    assert "0 failed" in output and statuses == {DagsterRunStatus.SUCCESS}
    assert 0 < len(completed) <= KILL_AFTER
    assert [r for r in after if r.key in completed] == [], (
        "a reply received before the kill was paid for again"
    )
    assert len({r.key for r in judge.completed()}) == reference.prompts  # every prompt answered, once
    # the killed step started on the victim and finished on the other worker
    assert retried_on[0] == victim and retried_on[-1] != victim and len(retried_on) == 2
    assert used == set(WORKERS)
    # pool `llm` (limit 1): the LLM steps of both shards ran one after the other although two workers were free
    for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"{second} started while {first} held the only llm slot"
    got, want = exported_rows(tmp_path), exported_rows(reference.project)
    assert got.height > 0 and got.equals(want)
