"""deploy/: the instance files load, the Kubernetes run launcher configuration validates (from the instance file
and from the Helm values, mapped as the chart renders them), and the names the manifests share agree."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema

from tests.conftest import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def _yaml(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def _docs(*names: str) -> list[dict]:
    return [d for name in names for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


@pytest.mark.parametrize("name", ["dagster.postgres.yaml", "dagster.scale-out.yaml"])
def test_instance_files_are_valid_instance_configs(name):
    result = validate_config(dagster_instance_config_schema(), _yaml(name))
    assert result.success, result.errors


@pytest.mark.services
def test_the_postgres_instance_file_loads_against_a_live_database(tmp_path, monkeypatch):
    from dagster import DagsterInstance
    from dagster_postgres import PostgresRunStorage

    from tests.services import pg_env, postgres_database

    shutil.copy(DEPLOY / "dagster.postgres.yaml", tmp_path / "dagster.yaml")
    with postgres_database("deploy") as url:
        for key, value in {**pg_env(url), "DAGSTER_HOME": str(tmp_path)}.items():
            monkeypatch.setenv(key, value)
        with DagsterInstance.get() as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
            assert instance.get_runs() == []


def _k8s_launcher(config: dict, tmp_path):
    """A K8sRunLauncher built from ``config`` (validated against its schema), off-cluster: a kubeconfig file."""
    from dagster._config import process_config
    from dagster_k8s import K8sRunLauncher

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    config = {**config, "load_incluster_config": False, "kubeconfig_file": str(kubeconfig)}
    processed = process_config(K8sRunLauncher.config_type(), config)
    assert processed.success, processed.errors
    return K8sRunLauncher.from_config_value(None, processed.value)


def test_the_k8s_run_launcher_of_the_instance_file_validates(tmp_path):
    section = _yaml("dagster.scale-out.yaml")["run_launcher"]
    assert (section["module"], section["class"]) == ("dagster_k8s", "K8sRunLauncher")
    launcher = _k8s_launcher(section["config"], tmp_path)
    assert launcher.job_namespace == "retool-data"
    assert launcher.env_config_maps == ["retool-data-settings"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _chart_launcher_config(values: dict, release: str = "retool") -> dict:
    """The K8sRunLauncher config the chart renders from ``runLauncher.config.k8sRunLauncher`` (camelCase keys
    become snake_case; the {name: X} lists of config maps and secrets become names), plus what the chart adds
    itself: its instance ConfigMap, its service account and the Postgres password Secret."""
    section = values["runLauncher"]["config"]["k8sRunLauncher"]
    out = {
        "instance_config_map": f"{release}-dagster-instance",
        "service_account_name": f"{release}-dagster",
        "postgres_password_secret": values["global"]["postgresqlSecretName"],
    }
    for key, value in section.items():
        if key in ("envConfigMaps", "envSecrets"):
            value = [item["name"] for item in value]
        elif key == "runK8sConfig":
            value = {_snake(k): v for k, v in value.items()}
        out[_snake(key)] = value
    return out


def test_the_helm_values_give_a_valid_k8s_run_launcher_and_a_loadable_code_location(tmp_path):
    values = _yaml("helm/values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = _k8s_launcher(_chart_launcher_config(values), tmp_path)
    assert launcher.env_secrets == ["retool-data-secrets"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[0] == "-m"
    module = __import__(args[1], fromlist=["defs"])  # what `dagster api grpc -m ...` loads in the pod
    assert module.defs.resolve_job_def("shard_job") is not None
    assert values["postgresql"]["enabled"] is False and values["global"]["postgresqlSecretName"]


def test_manifests_agree_on_names_and_the_worker_command():
    secrets = {d["metadata"]["name"]: d for d in _docs("secrets.example.yaml")}
    values = _yaml("helm/values.yaml")
    assert values["global"]["postgresqlSecretName"] in secrets
    assert "postgresql-password" in secrets[values["global"]["postgresqlSecretName"]]["stringData"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    for ref in launcher["envConfigMaps"] + launcher["envSecrets"]:
        assert ref["name"] in secrets, ref
    (worker,) = _docs("celery/worker-deployment.yaml")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["retool-data", "worker"]
    assert {"name": "RETOOL_EXECUTOR", "value": "celery"} in container["env"]
    refs = [r.get("configMapRef", r.get("secretRef"))["name"] for r in container["envFrom"]]
    assert all(r in secrets for r in refs)
    # every RETOOL_* setting the manifests set is documented
    documented = (REPO_ROOT / "docs" / "configuration.md").read_text()
    names = {
        k
        for d in secrets.values()
        for k in (d.get("stringData") or d.get("data") or {})
        if k.startswith("RETOOL_")
    }
    as_documented = {n: re.sub(r"^RETOOL_(VERIFIER|REWRITER)_", "RETOOL_<ROLE>_", n) for n in names}
    assert names and not [n for n, doc in sorted(as_documented.items()) if f"`{doc}`" not in documented]
    assert re.search(r"consumer_timeout\s*=\s*\d+", (DEPLOY / "celery" / "rabbitmq.conf").read_text())
