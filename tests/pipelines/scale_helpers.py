"""Shared by the scale-out tests: a curation of the bundled sample on a Postgres instance, with the verifier
LLM (a scripted OpenAI-compatible server on 127.0.0.1) judging every row and its replies in the shared
Postgres response cache, launched as `retool-data run` in its own process with only environment settings,
as a deployment would."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import pipeline_env
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply, prompt_of
from tests.services import pg_env, postgres_database

SHARD_SIZE = 30  # the 58 sample problems (59 rows) -> 2 shards
POSTGRES_YAML = REPO_ROOT / "deploy" / "dagster.postgres.yaml"


def judge_reply(body: dict[str, Any], seen: int) -> Reply:
    """A deterministic verdict per prompt (3 in 4 correct): both runs of a comparison get the same ones."""
    digest = int(hashlib.sha256(prompt_of(body).encode()).hexdigest(), 16)
    verdict = "true" if digest % 4 else "false"
    return Reply(text=f'{{"correct": {verdict}, "reason": "scripted"}}')


def postgres_home(folder: Path) -> Path:
    """A DAGSTER_HOME holding deploy/dagster.postgres.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(POSTGRES_YAML, folder / "dagster.yaml")
    return folder


def curation_env(
    project: Path, instance_url: str, cache_url: str, judge_url: str, **extra: str
) -> dict[str, str]:
    env = {
        **os.environ,
        **pipeline_env(project / "outputs"),
        **pg_env(instance_url),
        "DAGSTER_HOME": str(postgres_home(project / "dagster_home")),
        "PYTHONPATH": str(REPO_ROOT),
        "RETOOL_CACHE_URL": cache_url,
        "RETOOL_VERIFIER_BACKEND": "openai",
        "RETOOL_VERIFIER_ENDPOINT": judge_url,
        "RETOOL_VERIFIER_MODEL": "fake-judge",
        "RETOOL_VERIFIER_JUDGE_ALL": "1",
        "RETOOL_VERIFIER_CONCURRENCY": "2",
        **extra,
    }
    for name in ("RETOOL_STORAGE_URL", "RETOOL_EXPORT_DIR", "RETOOL_CACHE_DIR", "RETOOL_EXECUTOR"):
        if name not in extra:
            env.pop(name, None)
    return env


def start_curation(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """`retool-data run` on the sample in ``project`` (its output in project/run.log)."""
    project.mkdir(parents=True, exist_ok=True)
    log = open(project / "run.log", "wb")  # noqa: SIM115 - closed by the OS when the child exits
    cmd = [sys.executable, "-m", "retool_data", "run", "--shard-size", str(SHARD_SIZE), *args]
    return subprocess.Popen(cmd, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)


def finish_curation(proc: subprocess.Popen, project: Path, timeout: float = 600) -> str:
    proc.wait(timeout)
    output = (project / "run.log").read_text(errors="replace")
    assert proc.returncode == 0, output[-4000:]
    return output


def exported_rows(project: Path) -> pl.DataFrame:
    """The exported SFT rows, in id order."""
    files = sorted((project / "outputs" / "cold_start_dataset" / "data").glob("*.parquet"))
    assert files, f"no export under {project}"
    return pl.concat([pl.read_parquet(f) for f in files]).sort("id")


@dataclass
class PostgresCuration:
    """What the one-process curation on Postgres left: its project folder, databases and LLM traffic."""

    project: Path
    instance_url: str
    cache_url: str
    output: str
    requests: int  # requests the judge server received
    prompts: int  # distinct prompts among them

    @property
    def env(self) -> dict[str, str]:
        return {**pg_env(self.instance_url), "DAGSTER_HOME": str(self.project / "dagster_home")}


@pytest.fixture(scope="session")
def one_process_curation(tmp_path_factory) -> Iterator[PostgresCuration]:
    """`retool-data run` (one process, the default executor) on a Postgres instance: item 1 of the scale-out
    tests, and the reference the distributed run must equal row for row."""
    project = tmp_path_factory.mktemp("pg-one-process")
    with (
        postgres_database("instance") as instance_url,
        postgres_database("llmcache") as cache_url,
        FakeOpenAIServer(judge_reply) as judge,
    ):
        env = curation_env(project, instance_url, cache_url, judge.base_url)
        output = finish_curation(start_curation(project, env), project)
        records = judge.records()
        yield PostgresCuration(
            project, instance_url, cache_url, output, len(records), len({r.key for r in records})
        )
