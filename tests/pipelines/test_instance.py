"""DAGSTER_HOME handling and the instance settings in the repo root's dagster.yaml (and its scale-out variant)."""

import shutil
from pathlib import Path

import dagster as dg
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema

from pipelines.instance import ensure_dagster_home, install_instance_yaml
from tests.conftest import REPO_ROOT

ROOT_YAML = REPO_ROOT / "dagster.yaml"
SCALE_OUT_YAML = REPO_ROOT / "deploy" / "dagster.scale-out.yaml"


def test_unset_dagster_home_becomes_a_project_folder_with_the_project_yaml(tmp_path, monkeypatch):
    shutil.copy(ROOT_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", "placeholder")
    monkeypatch.delenv("DAGSTER_HOME")
    home = ensure_dagster_home(tmp_path)
    assert home == tmp_path / ".dagster_home"
    assert (home / "dagster.yaml").read_bytes() == ROOT_YAML.read_bytes()
    import os

    assert os.environ["DAGSTER_HOME"] == str(home)
    (tmp_path / "dagster.yaml").write_text(ROOT_YAML.read_text() + "\n# changed\n")
    monkeypatch.delenv("DAGSTER_HOME")
    ensure_dagster_home(tmp_path)  # a changed project yaml is copied again
    assert (home / "dagster.yaml").read_text().endswith("# changed\n")


def test_a_set_dagster_home_is_respected_and_left_alone(tmp_path, monkeypatch):
    mine = tmp_path / "deployment-home"
    monkeypatch.setenv("DAGSTER_HOME", str(mine))
    assert ensure_dagster_home(tmp_path) == mine.resolve()
    assert not (mine / "dagster.yaml").exists()
    assert not (tmp_path / ".dagster_home").exists()


def test_the_root_dagster_yaml_is_a_sqlite_instance_with_a_run_queue_and_pools(tmp_path, monkeypatch):
    install_instance_yaml(tmp_path, ROOT_YAML)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the folder alone defines the instance
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        from dagster._core.run_coordinator import QueuedRunCoordinator
        from dagster._core.storage.runs import SqliteRunStorage

        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()  # what the queue daemon reads
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert isinstance(instance.run_storage, SqliteRunStorage)
        assert Path(instance.run_storage._conn_string.split("///")[-1]).is_relative_to(tmp_path)  # noqa: SLF001
        assert concurrency.pool_config.default_pool_limit == 2
    finally:
        instance.dispose()


def test_the_scale_out_variant_is_a_valid_instance_config():
    config = yaml.safe_load(SCALE_OUT_YAML.read_text())
    result = validate_config(dagster_instance_config_schema(), config)
    assert result.success, result.errors
    assert "postgres" in config["storage"]
    assert config["run_launcher"]["class"] in ("K8sRunLauncher", "CeleryK8sRunLauncher", "CeleryRunLauncher")
