"""A missing or unreadable input is a usage error (exit status 2, one line naming the option), never a traceback,
in every command (filter and export: test_filter_cli.py)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from retool_data.cli import app

runner = CliRunner(env={"COLUMNS": "200"})  # error panels must not wrap mid-message


def usage_error(args: list[str]) -> Result:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    return result


def test_verify_and_rewrite_report_a_file_that_is_not_parquet(tmp_path: Path) -> None:
    src = tmp_path / "rows.parquet"
    src.write_text('{"problem": "1+1"}\n', encoding="utf-8")
    for command in ("verify", "rewrite"):
        result = usage_error([command, str(src), "-o", str(tmp_path / "o.parquet")])
        assert f"Invalid value for INPUT: {src} is not a readable parquet file" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_sandbox_run_reports_a_missing_file(tmp_path: Path) -> None:
    result = usage_error(["sandbox", "run", str(tmp_path / "snippet.py")])
    assert f"Invalid value for FILE: no such file: {tmp_path / 'snippet.py'}" in result.output


@pytest.mark.parametrize(
    "command",
    [["train", "sft"], ["train", "grpo"], ["train", "itool"], ["eval", "run"]],
    ids=lambda c: " ".join(c),
)
def test_config_driven_commands_report_a_missing_config(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "recipe.yaml"
    for args in (["--config", str(config)], [f"--config={config}"]):
        result = usage_error([*command, *args, "--output_dir", str(tmp_path / "run")])
        assert f"Invalid value for --config: no such file: {config}" in result.output
    assert not (tmp_path / "run").exists()


def test_eval_report_and_compare_report_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    result = usage_error(["eval", "report", str(tmp_path)])
    assert (
        f"Invalid value for RUN_DIR: {tmp_path} is not an evaluation run (no eval_config.json)"
        in result.output
    )
    result = usage_error(["eval", "compare", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "cmp")])
    assert f"Invalid value for 'RUN_A' / 'RUN_B': {tmp_path} is not an evaluation run" in result.output
    assert not (tmp_path / "cmp").exists()


def test_run_reports_a_missing_source_before_starting_dagster(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(
        "DAGSTER_HOME", str(tmp_path / "dagster_home")
    )  # `run` creates it when it starts Dagster
    source = tmp_path / "problems.jsonl"
    result = usage_error(["run", "--source", str(source)])
    assert f"Invalid value for --source: unknown source '{source}': expected one of sample," in result.output
    assert not (tmp_path / "dagster_home").exists()


def test_require_known_source_accepts_names_and_existing_paths(tmp_path: Path) -> None:
    from retool_data.sources.registry import require_known_source

    source = tmp_path / "problems.parquet"
    pl.DataFrame({"problem": ["1+1"]}).write_parquet(source)
    require_known_source(str(source))  # an existing path or a named source passes
    require_known_source("sample")
    with pytest.raises(ValueError, match="unknown source 'samples'"):
        require_known_source("samples")
