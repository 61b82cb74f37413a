"""`retool-data verify` (rules only) and `retool-data rewrite` (heuristic, the default without an endpoint)."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from retool_data.cli import app
from retool_data.sources import read_sample
from retool_data.trace import validate_trace


def invoke(*args: str) -> dict:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_verify_then_rewrite_on_the_sample_without_an_endpoint(tmp_path, monkeypatch):
    monkeypatch.delenv("RETOOL_LLM_ENDPOINT", raising=False)
    sample = read_sample().kept
    sample.write_parquet(tmp_path / "sample.parquet")

    verified = invoke(
        "verify", str(tmp_path / "sample.parquet"), "-o", str(tmp_path / "verified.parquet"), "--no-progress"
    )
    kept = pl.read_parquet(tmp_path / "verified.parquet")
    rejects = pl.read_parquet(tmp_path / "verified.rejects.parquet")
    assert kept.height + rejects.height == sample.height == verified["rows_in"]
    assert set(kept["verify_method"]) == {"rule"} and set(kept["verify_verdict"]) == {"correct"}
    assert set(rejects["reason"]) <= {"answer_mismatch", "unverifiable", "no_reference"}
    assert verified["judge"] is None

    summary = invoke(
        "rewrite", str(tmp_path / "verified.parquet"), "-o", str(tmp_path / "traces.parquet"), "--limit", "20"
    )
    traces = pl.read_parquet(tmp_path / "traces.parquet")
    assert summary["backend"] == "heuristic" and summary["rows_in"] == min(20, kept.height)
    assert set(traces["rewrite_backend"]) == {"heuristic"}
    assert all(validate_trace(t) == [] for t in traces["trace"])
    assert traces.height >= 0.8 * summary["rows_in"]
    # verify's columns travel on
    assert {"verify_method", "teacher_answer", "trace", "num_code_blocks"} <= set(traces.columns)


def test_bad_arguments_are_clear_errors(tmp_path):
    result = CliRunner().invoke(
        app, ["verify", str(tmp_path / "missing.parquet"), "-o", str(tmp_path / "o.parquet")]
    )
    assert result.exit_code != 0 and "no such file" in result.output
    pl.DataFrame({"id": ["a"]}).write_parquet(tmp_path / "in.parquet")
    result = CliRunner().invoke(
        app,
        [
            "rewrite",
            str(tmp_path / "in.parquet"),
            "-o",
            str(tmp_path / "o.parquet"),
            "--backend",
            "openai",
            "--model",
            "m",
            "--endpoint",
            "",
        ],
    )
    assert result.exit_code != 0 and "no endpoint" in result.output
    result = CliRunner().invoke(
        app, ["verify", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "o.parquet"), "--backend", "nope"]
    )
    assert result.exit_code != 0 and "unknown chat backend" in result.output
