"""Shared test helpers.

Tests that need an optional, heavy prerequisite (the llama.cpp server, Debian chromium, the SmolLM2 GGUF) call
`require(...)`: they skip with the reason on a developer machine that lacks it, and FAIL in CI, where
`.ci/run` sets RETOOL_REQUIRE_ALL=1 and installs everything.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from retool_data.benchmark_snapshots import package_snapshot_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
# The decontamination/evaluation benchmarks: the package's pinned snapshots (aime24, aime25, amc23, math500).
BENCHMARKS_DIR = package_snapshot_dir()
# Public sets the tests use as negatives and as a real leak (tests/data/benchmarks/README.md), gzipped.
TEST_ONLY_BENCHMARKS = REPO_ROOT / "tests" / "data" / "benchmarks"


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("RETOOL_REQUIRE_ALL") == "1":
        pytest.fail(f"required test prerequisite missing (RETOOL_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def benchmarks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of ``<name>/test.jsonl``: the pinned snapshots plus the test-only sets, as shipped in the repo
    (RETOOL_BENCHMARKS_DIR points the tests at another folder of that layout instead)."""
    if os.environ.get("RETOOL_BENCHMARKS_DIR"):
        return Path(os.environ["RETOOL_BENCHMARKS_DIR"])
    out = tmp_path_factory.mktemp("benchmarks")
    for src in BENCHMARKS_DIR.glob("*/test.jsonl"):
        (out / src.parent.name).mkdir()
        shutil.copyfile(src, out / src.parent.name / "test.jsonl")
    for src in TEST_ONLY_BENCHMARKS.glob("*.jsonl.gz"):
        name = src.name.removesuffix(".jsonl.gz")
        (out / name).mkdir()
        (out / name / "test.jsonl").write_bytes(gzip.decompress(src.read_bytes()))
    return out
