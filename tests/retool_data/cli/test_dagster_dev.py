"""`retool-data ui` runs `dagster dev` without its false "dagster.yaml ... will not be used" warning (DAGSTER_HOME
holds a copy of the project's dagster.yaml); the warning stays where it is true. The UI itself, started by
`retool-data ui`, is tested in tests/pipelines/test_ui.py."""

from __future__ import annotations

import logging

from retool_data.cli.dagster_dev import SameInstanceYamlFilter

WARNING = (
    "Found a dagster instance configuration value (dagster.yaml) in the current folder, but your DAGSTER_HOME "
    "environment variable is set to {home}. The dagster.yaml file will not be used to configure Dagster unless "
    "it is placed in the same folder as DAGSTER_HOME."
)


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("dagster", logging.WARNING, __file__, 1, message, None, None)


def test_the_warning_is_dropped_only_when_dagster_home_holds_the_same_file(tmp_path, monkeypatch):
    project, home = tmp_path / "project", tmp_path / "project" / ".dagster_home"
    home.mkdir(parents=True)
    (project / "dagster.yaml").write_text("run_queue:\n  max_concurrent_runs: 4\n")
    (home / "dagster.yaml").write_text("run_queue:\n  max_concurrent_runs: 4\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    keep = SameInstanceYamlFilter().filter
    assert not keep(record(WARNING.format(home=home)))  # the project's settings are in force: not true
    assert keep(record("Launching Dagster services..."))  # everything else passes
    (home / "dagster.yaml").write_text("run_queue:\n  max_concurrent_runs: 1\n")  # a home of the user's own
    assert keep(record(WARNING.format(home=home)))
    monkeypatch.delenv("DAGSTER_HOME")
    assert keep(record(WARNING.format(home=home)))
