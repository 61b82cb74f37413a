"""A whole curation on the bundled sample, run once per session through `retool-data run` in a scratch project
folder (its own dagster.yaml, no DAGSTER_HOME set: the command must set the instance up itself)."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO_ROOT

SHARD_SIZE = 30  # 58 sample problems (59 responses) -> 2 shards: enough to fail one and keep the other


def pipeline_env(output_dir: Path) -> dict[str, str]:
    """A run's environment: its output folder; the benchmarks are the defaults (the pinned snapshots)."""
    return {"RETOOL_OUTPUT_DIR": str(output_dir)}


@dataclass
class Curated:
    project: Path
    output: str
    exit_code: int

    @property
    def home(self) -> Path:
        return self.project / ".dagster_home"

    @property
    def export_dir(self) -> Path:
        return self.project / "outputs" / "cold_start_dataset"

    @property
    def store(self) -> Path:
        return self.project / "outputs" / "assets"


@pytest.fixture(scope="session")
def curated(tmp_path_factory) -> Curated:
    from retool_data.cli import app

    project = tmp_path_factory.mktemp("project")
    shutil.copy(REPO_ROOT / "dagster.yaml", project / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.setenv("DAGSTER_HOME", "unset-below")
        mp.delenv("DAGSTER_HOME")  # restored to the session's value afterwards
        # as on a fresh machine: no benchmark settings, so decontamination uses the package's pinned snapshots
        for name in ("RETOOL_OUTPUT_DIR", "RETOOL_STORAGE_URL", "RETOOL_EXPORT_DIR", "RETOOL_BENCHMARKS_DIR",
                     "RETOOL_BENCHMARKS"):  # fmt: skip
            mp.delenv(name, raising=False)
        import datasets

        datasets.enable_progress_bars()  # process-wide state other tests may leave on: the summary must not care
        result = CliRunner().invoke(app, ["run", "--shard-size", str(SHARD_SIZE)])
        assert os.environ["DAGSTER_HOME"] == str(project / ".dagster_home")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Curated(project, result.output, result.exit_code)
