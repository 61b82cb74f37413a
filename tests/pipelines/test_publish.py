"""`published_dataset`: the export pushed to the Hub (a local fake of its HTTP API), gated by the contamination
check of the export it pushes."""

import dagster as dg
import pytest

from pipelines.definitions import build_definitions
from pipelines.resources import resources_from_env
from tests.pipelines.conftest import pipeline_env
from tests.retool_data.fake_hub import FakeHub

PUBLISHED = dg.AssetKey("published_dataset")


def _publish(instance, env):
    defs = build_definitions(resources_from_env(env))
    return defs.resolve_job_def("publish_job").execute_in_process(
        instance=instance, asset_selection=[PUBLISHED], raise_on_error=False
    )


def test_the_checked_export_is_pushed_in_one_commit(curated, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with FakeHub() as hub, dg.DagsterInstance.from_config(str(curated.home)) as instance:
        env = {
            **pipeline_env(curated.project / "outputs"),
            "RETOOL_HUB_REPO": "retool/cold-start",
            "HF_ENDPOINT": hub.endpoint,
            "HF_TOKEN": "set",
        }
        result = _publish(instance, env)
        assert result.success
        meta = result.get_asset_materialization_events()[0].materialization.metadata
        assert meta["repo_id"].value == "retool/cold-start"
        assert meta["commit_url"].value.startswith(f"{hub.endpoint}/datasets/retool/cold-start/commit/")
    card = curated.export_dir / "README.md"
    assert hub.state.files["retool/cold-start/README.md"] == card.read_bytes()
    assert {p.split("/", 2)[2] for p in hub.state.files} >= {"README.md", "verl/train.parquet"}
    assert all(auth == "Bearer hf_test_token" for _, _, auth in hub.state.requests)  # the EnvVar, at run time


@pytest.mark.parametrize("repo", [None, "retool/cold-start"])
def test_nothing_is_pushed_without_a_repo_or_a_passing_contamination_check(tmp_path, monkeypatch, repo):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    with FakeHub() as hub, dg.instance_for_test() as instance:
        env = {**pipeline_env(tmp_path / "out"), "HF_ENDPOINT": hub.endpoint, "HF_TOKEN": "set"}
        if repo:
            env["RETOOL_HUB_REPO"] = repo
        result = _publish(instance, env)  # a fresh instance: the export was never checked
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
        text = failure.message + (failure.cause.message if failure.cause else "")
        assert ("did not pass" in text) if repo else ("RETOOL_HUB_REPO" in text)
    assert hub.state.requests == []
