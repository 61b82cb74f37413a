"""The schedule, the watched-folder sensor and the refresh cascade."""

import json
import os
import time

import dagster as dg
import pytest

from pipelines import automation
from pipelines.definitions import build_definitions
from pipelines.resources import resources_from_env


def _old(path, seconds=60):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_source_files_lists_settled_data_files_only(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.parquet").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("no")
    (tmp_path / ".partial.jsonl").write_text("{}\n")  # being copied by a tool that writes dot-files first
    for p in (
        tmp_path / "a.jsonl",
        tmp_path / "sub" / "b.parquet",
        tmp_path / "notes.txt",
        tmp_path / ".partial.jsonl",
    ):
        _old(p)
    (tmp_path / "fresh.jsonl").write_text("{}\n")  # modified just now: may still be growing
    assert sorted(automation.source_files(tmp_path)) == ["a.jsonl", "sub/b.parquet"]


def test_sensor_requests_an_ingest_of_the_folder_once_per_change(tmp_path, monkeypatch):
    monkeypatch.setenv("RETOOL_WATCH_DIR", str(tmp_path / "incoming"))
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(automation.new_source_files(context), dg.SkipReason)  # no folder yet
    (tmp_path / "incoming").mkdir()
    first = tmp_path / "incoming" / "batch1.jsonl"
    first.write_text('{"problem": "1+1?"}\n')
    _old(first)
    request = automation.new_source_files(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_config == {"resources": {"source": {"config": {"source": str(tmp_path / "incoming")}}}}
    assert request.tags[automation.REFRESH_TAG] == "new_source_files"
    assert "batch1.jsonl" in request.tags["retool/changed_files"]
    cursor = context.cursor
    assert json.loads(cursor).keys() == {"batch1.jsonl"}
    again = automation.new_source_files(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(again, dg.SkipReason)
    second = tmp_path / "incoming" / "batch2.parquet"
    second.write_bytes(b"PAR1")
    _old(second)
    request2 = automation.new_source_files(dg.build_sensor_context(instance=instance, cursor=cursor))
    assert isinstance(request2, dg.RunRequest) and request2.run_key != request.run_key
    assert request2.tags["retool/changed_files"] == "batch2.parquet"


def test_the_sensor_run_ingests_the_watched_folder(tmp_path, monkeypatch):
    """The sensor's run config really switches source_problems to the folder (rows from both files)."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    rows = [
        {
            "problem": f"What is {i} + {i}?",
            "reasoning": f"{i} + {i} = {2 * i}",
            "domain": "math",
            "gold_answer": str(2 * i),
        }
        for i in range(3)
    ]
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n")
    (folder / "b.jsonl").write_text(json.dumps(rows[2]) + "\n")
    for p in folder.iterdir():
        _old(p)
    monkeypatch.setenv("RETOOL_WATCH_DIR", str(folder))
    defs = build_definitions(resources_from_env({"RETOOL_OUTPUT_DIR": str(tmp_path / "out")}))
    with dg.instance_for_test() as instance:
        request = automation.new_source_files(dg.build_sensor_context(instance=instance))
        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, run_config=request.run_config, tags=request.tags
        )
        assert result.success
        problems = result.output_for_node("source_problems", "source_problems")
        assert sorted(problems["problem"]) == [r["problem"] for r in rows]
        assert instance.get_dynamic_partitions("source_shards") == ["shard-00000"]


def test_the_weekly_schedule_tags_its_runs_as_a_refresh():
    schedule = automation.weekly_curation
    assert schedule.tags[automation.REFRESH_TAG] == "weekly_curation"
    assert schedule.execution_timezone == "UTC"


@pytest.mark.parametrize("tagged", [True, False])
def test_only_a_refresh_cascades_to_the_shard_stages(tmp_path, tagged):
    defs = build_definitions(resources_from_env({"RETOOL_OUTPUT_DIR": str(tmp_path / "out")}))
    tags = {automation.REFRESH_TAG: "weekly_curation"} if tagged else {}
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing ingested yet: nothing to do
        run = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance, tags=tags, run_config={"resources": {"source": {"config": {"shard_size": 30}}}}
        )
        assert run.success
        evaluated = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        requested = {
            key: evaluated.get_requested_partitions(dg.AssetKey(key))
            for key in (*automation.SHARD_ASSETS, *automation.COMBINE_ASSETS)
        }
        if tagged:
            # every shard of every shard stage, in one tick (a run per shard: verify -> rewrite -> consistency);
            # nothing combined yet, since the shards are missing until those runs finish
            assert all(requested[k] == {"shard-00000", "shard-00001"} for k in automation.SHARD_ASSETS)
            assert all(not requested[k] for k in automation.COMBINE_ASSETS)
        else:
            assert evaluated.total_requested == 0  # a manual ingest does not spend anything downstream


def test_a_refresh_reaches_the_combining_assets_once_every_shard_is_done(tmp_path):
    folder = tmp_path / "source"
    folder.mkdir()
    rows = [
        {
            "problem": f"Compute {a} times {a + 1}.",
            "reasoning": f"{a} \\times {a + 1} = {a * (a + 1)}",
            "solution": f"\\boxed{{{a * (a + 1)}}}",
            "gold_answer": str(a * (a + 1)),
            "domain": "math",
        }
        for a in (12, 13, 14)
    ]
    (folder / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    env = {"RETOOL_OUTPUT_DIR": str(tmp_path / "out"), "RETOOL_SOURCE": str(folder), "RETOOL_SHARD_SIZE": "2"}
    defs = build_definitions(resources_from_env(env))
    refresh = {automation.REFRESH_TAG: "weekly_curation"}
    with dg.instance_for_test() as instance:
        cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
        assert defs.resolve_job_def("ingest_job").execute_in_process(instance=instance, tags=refresh).success
        shards = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        assert shards.get_requested_partitions(dg.AssetKey("verified_problems")) == {
            "shard-00000",
            "shard-00001",
        }
        for shard in ("shard-00000", "shard-00001"):  # what the daemon launches for those requests
            run = defs.resolve_job_def("shard_job").execute_in_process(
                instance=instance, partition_key=shard, tags={automation.REFRESH_TAG: "cascade"}
            )
            assert run.success
        combine = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=shards.cursor)
        # the whole combine step in the same tick: dedup, decontamination, the quarantine and the export
        requested = {k for k in automation.COMBINE_ASSETS if combine.get_requested_partitions(dg.AssetKey(k))}
        assert requested == set(automation.COMBINE_ASSETS)
        assert not any(combine.get_requested_partitions(dg.AssetKey(k)) for k in automation.SHARD_ASSETS)
