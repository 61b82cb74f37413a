"""Any single asset materializes alone, as when it is selected by itself in the UI or named to `dagster asset
materialize`: one asset of a stage's pair (kept rows / rejects) computes the stage and stores only itself and its
own checks; no DagsterInvalidSubsetError."""

import dagster as dg
import pytest

from pipelines import checks
from pipelines.definitions import ASSET_CHECKS, ASSETS
from pipelines.resources import resources_from_env
from tests.pipelines.conftest import pipeline_env


def test_every_multi_asset_can_be_subset():
    multi = [a for a in ASSETS if isinstance(a, dg.AssetsDefinition) and len(a.keys) > 1]
    assert len(multi) >= 6  # ingest, verify, rewrite, consistency, dedup, decontamination
    for assets_def in multi:
        assert assets_def.can_subset, [k.to_user_string() for k in assets_def.keys]


def _materialize(curated, key: str, partition: str | None = None) -> dg.ExecuteInProcessResult:
    resources = resources_from_env(pipeline_env(curated.project / "outputs"))
    with dg.DagsterInstance.from_config(str(curated.home)) as instance:
        return dg.materialize(
            [*ASSETS, *ASSET_CHECKS],
            selection=[dg.AssetKey(key)],
            partition_key=partition,
            resources=resources,
            instance=instance,
        )


@pytest.mark.parametrize(
    ("key", "sibling", "partition"),
    [
        ("deduplicated_traces", "dedup_rejects", None),
        ("dedup_rejects", "deduplicated_traces", None),
        ("decontam_rejects", "decontaminated_traces", None),
        ("verify_rejects", "verified_problems", "shard-00000"),
    ],
)
def test_one_asset_of_a_multi_asset_materializes_alone(curated, key, sibling, partition):
    assert curated.exit_code == 0, curated.output
    result = _materialize(curated, key, partition)
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {key}  # the sibling was computed, not stored
    checked = {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()}
    assert checked <= {key}
    if key == "deduplicated_traces":  # the kept rows' own checks ran with it
        assert {c.check_name for c in result.get_asset_check_evaluations()} >= {
            checks.SCHEMA,
            checks.ROWS_CONSERVED,
        }
        assert all(c.passed for c in result.get_asset_check_evaluations())
