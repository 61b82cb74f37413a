"""The Dagster definitions of retool-data: one explicit `Definitions` object, `defs`.

    dagster dev -m pipelines.definitions        # or: retool-data ui (sets DAGSTER_HOME for you)

Assets (pipelines/assets/), checks (pipelines/checks.py), jobs, the schedule and the sensors
(pipelines/automation.py), resources from the environment (pipelines/resources.py). The training assets
(`sft_model` -> `rl_model` -> `eval_report`, and `itool_rounds`) follow `cold_start_dataset` in `ASSETS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec, Definitions, map_asset_specs

from pipelines import automation, checks
from pipelines.assets import CURATION_ASSETS, PUBLISH_ASSETS, TRAINING_ASSETS
from pipelines.executors import executor_from_env
from pipelines.resources import resources_from_env

CASCADED = set(automation.SHARD_ASSETS) | set(automation.COMBINE_ASSETS)


def _with_cascade(spec: AssetSpec) -> AssetSpec:
    if spec.key.to_user_string() not in CASCADED:
        return spec
    return spec.replace_attributes(automation_condition=automation.cascade_condition())


ASSETS = [*map_asset_specs(_with_cascade, CURATION_ASSETS), *PUBLISH_ASSETS, *TRAINING_ASSETS]
ASSET_CHECKS = [checks.no_contaminated_rows]


def build_definitions(resources: Mapping[str, Any] | None = None) -> Definitions:
    """The definitions with ``resources`` (default: configured from the environment, `resources_from_env`) and
    the executor ``RETOOL_EXECUTOR`` names (`pipelines.executors`: Dagster's default, or Celery workers)."""
    return Definitions(
        executor=executor_from_env(),
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[automation.ingest_job, automation.shard_job, automation.combine_job, automation.publish_job],
        schedules=[automation.weekly_curation],
        sensors=[automation.new_source_files, automation.curation_cascade],
        resources=dict(resources) if resources is not None else resources_from_env(),
    )


defs = build_definitions()
