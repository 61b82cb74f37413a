"""Fixtures for the verl bridge tests: verl itself (the `verl` extra, installed by `make install`), an export in the
Hermes protocol, and verl's Hydra config composed with our generated overrides."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import require

TRACE = (
    'We need 6 * 7.\n<code>\n```python\nprint("ENV:", 6 * 7)\n```\n</code>\n<interpreter>\nENV: 42\n'
    "</interpreter>\nSo the product is 42.\n<answer>\\boxed{42}</answer>"
)


def require_verl() -> None:
    require(
        importlib.util.find_spec("verl") is not None, "verl missing: `make install` installs the verl extra"
    )


@pytest.fixture(scope="session")
def hermes_export(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from retool_data.export import export_dataset
    from tests.retool_data.frames import frame, row

    rows = [
        row("What is six times seven?", TRACE, "42", source_id="a"),
        row(
            "What is 3 squared plus 3?",
            TRACE.replace("6 * 7", "3**2 + 3").replace("42", "12"),
            "12",
            source_id="b",
        ),
    ]
    return export_dataset(frame(rows), tmp_path_factory.mktemp("export") / "out", tool_protocol="hermes")


def compose(overrides: list[str]):  # noqa: ANN201
    """verl's `ppo_trainer` config composed by Hydra with ``overrides``, as `verl.trainer.main_ppo` does."""
    import verl.trainer.main_ppo as main_ppo
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    config_dir = str(Path(main_ppo.__file__).parent / "config")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return hydra_compose(config_name="ppo_trainer", overrides=overrides)


@pytest.fixture(scope="module")
def ray_local():  # noqa: ANN201
    """A one-CPU local Ray instance: verl's SandboxFusionTool runs its calls on Ray actors."""
    require_verl()
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
