"""`resolve_resume`: the one reading of `resume_from_checkpoint` that SFT and GRPO share."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from training.models.checkpoints import resolve_resume


def test_modes(tmp_path):
    for unset in (None, "", "none", "False"):
        assert resolve_resume(unset, str(tmp_path)) is None
    assert resolve_resume("auto", str(tmp_path / "not_yet")) is None  # nothing yet: start fresh
    with pytest.raises(ValueError, match="holds no checkpoint"):
        resolve_resume("last", str(tmp_path))
    (tmp_path / "checkpoint-2").mkdir()
    (tmp_path / "checkpoint-10").mkdir()  # newest by step, not by name order
    for newest in ("auto", "last", "latest", "true", "AUTO"):
        assert resolve_resume(newest, str(tmp_path)) == str(tmp_path / "checkpoint-10")
    assert resolve_resume(str(tmp_path / "checkpoint-2"), str(tmp_path)) == str(tmp_path / "checkpoint-2")
    with pytest.raises(ValueError, match="not a checkpoint directory"):
        resolve_resume(str(tmp_path / "checkpoint-3"), str(tmp_path))


def test_grpo_reads_it_like_sft(tmp_path):
    from training.grpo.train import parse_config

    smoke = str(REPO_ROOT / "configs/grpo_cpu_smoke.yaml")
    config = parse_config(
        ["--config", smoke, "--output_dir", str(tmp_path), "--resume_from_checkpoint", "last"]
    )
    with pytest.raises(ValueError, match="holds no checkpoint"):  # GRPO had no 'last' before the two were one
        config.resolve_resume()
    (tmp_path / "checkpoint-4").mkdir()
    assert config.resolve_resume() == str(tmp_path / "checkpoint-4")
