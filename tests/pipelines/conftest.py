"""A whole curation on the bundled sample, run once per session through `retool-data run` in a scratch project
folder (its own dagster.yaml, no DAGSTER_HOME set: the command must set the instance up itself)."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BENCHMARKS_DIR, REPO_ROOT, require

SHARD_SIZE = 30  # 58 sample problems (59 responses) -> 2 shards: enough to fail one and keep the other


def present_benchmarks() -> str:
    """The default decontamination benchmarks that have a local copy (the Hub is not reachable in tests)."""
    from pipelines.resources import DEFAULT_BENCHMARKS

    return ",".join(b for b in DEFAULT_BENCHMARKS if (BENCHMARKS_DIR / b).exists())


def pipeline_env(output_dir: Path) -> dict[str, str]:
    return {
        "RETOOL_OUTPUT_DIR": str(output_dir),
        "RETOOL_BENCHMARKS_DIR": str(BENCHMARKS_DIR),
        "RETOOL_BENCHMARKS": present_benchmarks(),
    }


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
    require(BENCHMARKS_DIR.is_dir(), f"benchmark files not found at {BENCHMARKS_DIR}")
    from retool_data.cli import app

    project = tmp_path_factory.mktemp("project")
    shutil.copy(REPO_ROOT / "dagster.yaml", project / "dagster.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.setenv("DAGSTER_HOME", "unset-below")
        mp.delenv("DAGSTER_HOME")  # restored to the session's value afterwards
        for name in ("RETOOL_OUTPUT_DIR", "RETOOL_STORAGE_URL", "RETOOL_EXPORT_DIR"):
            mp.delenv(name, raising=False)
        mp.setenv("RETOOL_BENCHMARKS_DIR", str(BENCHMARKS_DIR))
        mp.setenv("RETOOL_BENCHMARKS", present_benchmarks())
        import datasets

        datasets.enable_progress_bars()  # process-wide state other tests may leave on: the summary must not care
        result = CliRunner().invoke(app, ["run", "--shard-size", str(SHARD_SIZE)])
        assert os.environ["DAGSTER_HOME"] == str(project / ".dagster_home")
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Curated(project, result.output, result.exit_code)
