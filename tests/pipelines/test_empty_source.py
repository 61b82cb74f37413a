"""A source with no usable rows is a normal run (issue 15, item 10): every stage sees zero rows, the export is
empty but complete, the summary says why, the run succeeds (exit 0), and `--resume` works; a configured minimum
turns it into a failed quality check instead."""

import shutil

import dagster as dg
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.definitions import build_definitions
from pipelines.report import format_report
from pipelines.resources import QualityThresholds, resources_from_env
from pipelines.runner import run_curation
from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import pipeline_env

BAD_ROWS = '{"text": "no known column"}\n{"problem": "", "reasoning": "r", "domain": "math"}\nnot json\n'


@pytest.fixture
def bad_source(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(BAD_ROWS)
    return path


def test_zero_usable_rows_give_an_empty_export_and_a_clear_summary(bad_source, tmp_path):
    env = pipeline_env(tmp_path / "out")
    defs = build_definitions(resources_from_env(env))
    with dg.instance_for_test() as instance:
        run = run_curation(defs, instance, source_config={"source": str(bad_source)}, log=lambda _: None)
        assert run.success, run.failed
        assert run.shards == [] and run.shards_run == []
        report = format_report(run, tmp_path)
        again = run_curation(defs, instance, resume=True, log=lambda _: None)
        assert again.success, again.failed
        assert [r.dagster_run.job_name for r in again.results] == [
            "combine_job"
        ]  # nothing to re-ingest or run
    assert "0 problems in 0 shard(s)" in report and "no usable rows in the source" in report
    assert "exported 0 traces" in report and " 0 failed" in report
    funnel = {line.split()[0]: line.split()[1:4] for line in report.splitlines() if line[:1].isalpha()}
    assert funnel["ingest"] == ["3", "0", "3"] and funnel["decontaminate"] == ["0", "0", "0"]
    export = tmp_path / "out" / "cold_start_dataset"
    assert pl.read_parquet(sorted((export / "data").glob("*.parquet"))).height == 0
    rejected = pl.read_parquet(tmp_path / "out" / "assets" / "rejected_rows.parquet")
    assert sorted(rejected["reason"]) == ["empty_problem", "invalid_row", "unrecognised_columns"]


def test_a_configured_minimum_fails_the_quality_check(bad_source, tmp_path):
    resources = {
        **resources_from_env(pipeline_env(tmp_path / "out")),
        "quality": QualityThresholds(min_exported_rows=1),
    }
    with dg.instance_for_test() as instance:
        run = run_curation(build_definitions(resources), instance, source_config={"source": str(bad_source)},
                           log=lambda _: None)  # fmt: skip
    assert not run.success and "min_exported_rows" in run.failed["combine"]


def test_cli_run_on_an_empty_source_exits_zero(bad_source, tmp_path):
    from retool_data.cli import app

    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", project / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.delenv("DAGSTER_HOME", raising=False)
        # the package's pinned benchmark snapshots, as on a fresh machine
        for name in ("RETOOL_OUTPUT_DIR", "RETOOL_STORAGE_URL", "RETOOL_EXPORT_DIR", "RETOOL_BENCHMARKS_DIR",
                     "RETOOL_BENCHMARKS"):  # fmt: skip
            mp.delenv(name, raising=False)
        result = CliRunner().invoke(app, ["run", "--source", str(bad_source)])
        resumed = CliRunner().invoke(app, ["run", "--resume"])
    assert result.exit_code == 0, result.output
    assert "exported 0 traces" in result.output and "no usable rows in the source" in result.output
    assert resumed.exit_code == 0, resumed.output
