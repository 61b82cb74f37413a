"""`retool-data ui` and argument handling of `retool-data run` (the run itself: test_curation.py)."""

import os
import shutil
import sys

from typer.testing import CliRunner

from retool_data.cli import app
from tests.conftest import REPO_ROOT

runner = CliRunner(env={"COLUMNS": "200"})


def test_ui_starts_dagster_dev_on_the_project_instance(tmp_path, monkeypatch):
    shutil.copy(REPO_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", "unset-below")
    monkeypatch.delenv("DAGSTER_HOME")
    launched = []

    def fake_execv(path, args):  # the process would become dagster dev (through retool_data.cli.dagster_dev) here
        launched.append((path, args, os.environ["DAGSTER_HOME"]))
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", fake_execv)
    result = runner.invoke(app, ["ui", "--port", "3456"])
    assert result.exit_code == 0, result.output
    ((path, args, home),) = launched
    assert path == sys.executable and args[:3] == [path, "-m", "retool_data.cli.dagster_dev"]
    assert args[3:] == ["dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", "3456"]
    assert home == str(tmp_path / ".dagster_home")
    assert (tmp_path / ".dagster_home" / "dagster.yaml").read_bytes() == (
        REPO_ROOT / "dagster.yaml"
    ).read_bytes()


def test_run_resume_refuses_source_options():
    result = runner.invoke(app, ["run", "--resume", "--source", "openthoughts"])
    assert result.exit_code == 2 and "--resume re-uses the ingested source" in result.output


def test_help_describes_both_commands():
    result = runner.invoke(app, ["--help"])
    assert "run" in result.output and "ui" in result.output
    run_help = runner.invoke(app, ["run", "--help"]).output
    assert "--shard-size" in run_help and "--resume" in run_help and "--push-to-hub" in run_help
