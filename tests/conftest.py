"""Shared test helpers.

Tests that need an optional, heavy prerequisite (the llama.cpp server, Debian chromium, the SmolLM2 GGUF) call
`require(...)`: they skip with the reason on a developer machine that lacks it, and FAIL in CI, where
`.ci/run` sets RETOOL_REQUIRE_ALL=1 and installs everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_DIR = Path(os.environ.get("RETOOL_BENCHMARKS_DIR", REPO_ROOT.parent / "shared" / "data" / "benchmarks"))


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("RETOOL_REQUIRE_ALL") == "1":
        pytest.fail(f"required test prerequisite missing (RETOOL_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture
def benchmarks_dir() -> Path:
    require(BENCHMARKS_DIR.is_dir(), f"benchmark files not found at {BENCHMARKS_DIR}")
    return BENCHMARKS_DIR
