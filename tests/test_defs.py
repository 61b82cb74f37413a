"""The Dagster definitions load, validate, and hold exactly the assets, checks, resources, jobs, schedule and
sensors the pipeline promises (names are public: the UI, docs and later phases refer to them)."""

import re
from pathlib import Path

import dagster as dg

from pipelines import automation
from pipelines.definitions import build_definitions, defs
from pipelines.partitions import SOURCE_SHARDS
from pipelines.resources import (
    ExportSettings,
    FilterSettings,
    HubSettings,
    QualityThresholds,
    RewriterLLM,
    SandboxResource,
    SourceSettings,
    TrainingSettings,
    VerifierLLM,
    resources_from_env,
)

CURATION = [
    "source_problems",
    "verified_problems",
    "rewritten_traces",
    "consistent_traces",
    "deduplicated_traces",
    "decontaminated_traces",
    "cold_start_dataset",
    "rejected_rows",
]
TRAINING = ["sft_model", "rl_model", "eval_report", "itool_rounds", "fc_itool_rounds", "fc_bfcl_report"]
REJECTS = [
    "ingest_rejects",
    "verify_rejects",
    "rewrite_rejects",
    "consistency_rejects",
    "dedup_rejects",
    "decontam_rejects",
]


def _graph():
    return defs.resolve_asset_graph()


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in _graph().get_all_asset_keys()}
    assert keys == set(CURATION) | set(REJECTS) | {"published_dataset"} | set(TRAINING)


def test_the_curation_chain_is_wired_in_order():
    graph = _graph()

    def parents(key: str) -> set[str]:
        return {p.to_user_string() for p in graph.get(dg.AssetKey(key)).parent_keys}

    for upstream, downstream in zip(CURATION[:5], CURATION[1:6], strict=True):
        assert upstream in parents(downstream)
    assert {"decontaminated_traces", "rejected_rows"} <= parents("cold_start_dataset")
    assert set(REJECTS) == parents("rejected_rows")
    assert parents("published_dataset") == {"cold_start_dataset"}
    assert parents("sft_model") == {"cold_start_dataset"}
    assert parents("rl_model") == {"sft_model"} and parents("eval_report") == {"rl_model"}
    assert parents("itool_rounds") == {"sft_model", "cold_start_dataset"}


def test_assets_have_groups_descriptions_kinds_and_the_shard_stages_partitions_and_pools():
    graph = _graph()
    groups = {
        "source_problems": "ingest",
        "verified_problems": "verify",
        "rewritten_traces": "rewrite",
        "consistent_traces": "filter",
        "deduplicated_traces": "filter",
        "decontaminated_traces": "filter",
        "cold_start_dataset": "export",
        "published_dataset": "export",
        "rejected_rows": "quarantine",
        **dict.fromkeys(REJECTS, "quarantine"),
        **dict.fromkeys(TRAINING, "training"),
    }
    for key, group in groups.items():
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == group, key
        assert node.description and len(node.description) > 40, key
        assert node.kinds, key
    sharded = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    assert sharded == set(automation.SHARD_ASSETS) | {"itool_rounds", "fc_itool_rounds"}
    assert graph.get(dg.AssetKey("fc_itool_rounds")).partitions_def.get_partition_keys()[0] == "round-0"
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("fc_bfcl_report")).parent_keys} == {
        "fc_itool_rounds"
    }
    assert graph.get(dg.AssetKey("itool_rounds")).partitions_def.get_partition_keys()[:2] == [
        "round-0",
        "round-1",
    ]
    assert graph.get(dg.AssetKey("verified_problems")).partitions_def == SOURCE_SHARDS
    pools = {
        key: graph.get(dg.AssetKey(key)).pools
        for key in ("verified_problems", "rewritten_traces", "consistent_traces", "source_problems")
    }
    assert pools == {
        "verified_problems": {"llm"},
        "rewritten_traces": {"llm"},
        "consistent_traces": {"sandbox"},
        "source_problems": set(),
    }


def test_asset_checks():
    checks = {(k.asset_key.to_user_string(), k.name) for k in _graph().asset_check_keys}
    for asset in CURATION[:6]:
        assert {(asset, "schema"), (asset, "rows_conserved")} <= checks
    assert ("verified_problems", "verification_rate") in checks
    assert ("consistent_traces", "consistency_pass_rate") in checks
    assert {
        ("cold_start_dataset", "no_contaminated_rows"),
        ("cold_start_dataset", "every_problem_accounted_for"),
        ("rejected_rows", "schema"),
    } <= checks
    blocking = {
        (k.asset_key.to_user_string(), k.name)
        for k in _graph().asset_check_keys
        if _graph().get_check_spec(k).blocking
    }
    assert ("cold_start_dataset", "no_contaminated_rows") in blocking
    assert ("verified_problems", "verification_rate") not in blocking  # rates warn/error, they do not block


def test_resources_are_typed_and_default_to_the_embedded_pipeline():
    resources = resources_from_env({})
    expected = {
        "source": SourceSettings,
        "verifier_llm": VerifierLLM,
        "rewriter_llm": RewriterLLM,
        "sandbox": SandboxResource,
        "filters": FilterSettings,
        "quality": QualityThresholds,
        "export": ExportSettings,
        "hub": HubSettings,
        "training": TrainingSettings,
    }
    for name, cls in expected.items():
        assert isinstance(resources[name], cls), name
    assert set(defs.resources) == set(expected) | {"io_manager"}
    assert resources["source"].source == "sample"
    assert resources["verifier_llm"].backend == "none" and resources["rewriter_llm"].backend == "heuristic"
    assert resources["hub"].token is None and resources["verifier_llm"].api_key is None


def test_environment_configures_the_roles_separately_and_secrets_stay_env_vars():
    env = {
        "RETOOL_VERIFIER_BACKEND": "openai",
        "RETOOL_VERIFIER_ENDPOINT": "https://judge.example/v1",
        "RETOOL_VERIFIER_MODEL": "deepseek-reasoner",
        "RETOOL_VERIFIER_API_KEY": "sk-secret",
        "RETOOL_REWRITER_ENDPOINT": "http://gpu-box:8000/v1",
        "RETOOL_REWRITER_MODEL": "qwen",
        "HF_TOKEN": "hf_secret",
        "RETOOL_STORAGE_URL": "s3://bucket/retool",
        "RETOOL_SHARD_SIZE": "250",
    }
    resources = resources_from_env(env)
    verifier, rewriter = resources["verifier_llm"], resources["rewriter_llm"]
    assert (verifier.backend, verifier.endpoint, verifier.model) == (
        "openai",
        "https://judge.example/v1",
        "deepseek-reasoner",
    )
    assert (rewriter.backend, rewriter.endpoint) == (
        "openai",
        "http://gpu-box:8000/v1",
    )  # an endpoint: use it
    # the secrets are EnvVar references, resolved when a run starts, never their values
    assert isinstance(verifier.api_key, dg.EnvVar) and verifier.api_key == "RETOOL_VERIFIER_API_KEY"
    assert isinstance(resources["hub"].token, dg.EnvVar)
    assert resources["io_manager"].base_dir == "s3://bucket/retool"
    assert resources["source"].shard_size == 250
    dg.Definitions.validate_loadable(build_definitions(resources))


def test_the_readme_endpoint_variables_switch_both_roles_to_the_endpoint():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    names = {
        "RETOOL_REWRITER_ENDPOINT",
        "RETOOL_REWRITER_MODEL",
        "RETOOL_VERIFIER_ENDPOINT",
        "RETOOL_VERIFIER_MODEL",
    }
    assert names <= set(re.findall(r"RETOOL_[A-Z_]+", readme))
    env = {n: ("http://gpu-box:8000/v1" if n.endswith("ENDPOINT") else "qwen") for n in names}
    resources = resources_from_env(env)
    for role in ("verifier_llm", "rewriter_llm"):
        assert (resources[role].backend, resources[role].endpoint) == ("openai", "http://gpu-box:8000/v1")
    # the shared endpoint feeds the rewriter only: the judge is never switched on by it
    shared = resources_from_env({"RETOOL_LLM_ENDPOINT": "http://gpu-box:8000/v1"})
    assert shared["rewriter_llm"].backend == "openai" and shared["verifier_llm"].backend == "none"


def test_jobs_schedule_and_sensors():
    assert {j.name for j in defs.jobs} >= {"ingest_job", "shard_job", "combine_job", "publish_job"}
    schedule = defs.resolve_schedule_def("weekly_curation")
    assert schedule.cron_schedule == "0 3 * * 1"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED  # off by default
    assert schedule.job_name == "ingest_job"
    sensor = defs.resolve_sensor_def("new_source_files")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    cascade = defs.resolve_sensor_def("curation_cascade")
    assert isinstance(cascade, dg.AutomationConditionSensorDefinition)
    graph = _graph()
    with_condition = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).automation_condition is not None
    }
    assert with_condition == set(automation.SHARD_ASSETS) | set(automation.COMBINE_ASSETS)
