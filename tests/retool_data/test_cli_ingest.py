"""`retool-data ingest` (`retool-data run`, the whole pipeline, is tested in tests/pipelines/)."""

from __future__ import annotations

import json

import polars as pl
import pyarrow.parquet as pq
from typer.testing import CliRunner

from retool_data.cli import app
from retool_data.cli.ingest import PARQUET_STATS_KEY
from tests.retool_data.hub_layout import ot114k_row, write_openthoughts_114k

runner = CliRunner(env={"COLUMNS": "200"})  # error panels must not wrap mid-message


def test_ingest_sample_writes_kept_and_rejects_with_lineage(tmp_path):
    out = tmp_path / "out" / "problems.parquet"
    result = runner.invoke(app, ["ingest", "sample", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "rows read: 69  kept: 59  rejected: 10  (58 problems)" in result.output
    assert "  invalid_row         3" in result.output
    kept, rejects = pl.read_parquet(out), pl.read_parquet(out.with_name("problems.rejects.parquet"))
    assert (kept.height, rejects.height) == (59, 10)
    stats = json.loads(pq.read_schema(out).metadata[PARQUET_STATS_KEY])
    assert stats["reader"] == "sample" and stats["kept"] == 59 and stats["problems"] == 58
    capped = runner.invoke(app, ["ingest", "sample", "--max-responses", "1"])
    assert "kept: 58  rejected: 11" in capped.output and "excess_response     1" in capped.output
    assert not list(out.parent.glob(".*tmp*"))  # the atomic write left no temp file
    again = runner.invoke(app, ["ingest", "sample", "--output", str(out)])  # re-running is safe
    assert again.exit_code == 0 and pl.read_parquet(out).equals(kept)


def test_ingest_openthoughts_from_a_hub_layout_copy(tmp_path):
    repo = write_openthoughts_114k(
        tmp_path / "ot", [ot114k_row("What is 1 + 1?"), ot114k_row("Sort a list.", domain="code"),
                          ot114k_row("What is 2 + 2?"), ot114k_row("What is 3 + 3?")]
    )
    args = ["ingest", "openthoughts", "--hub-path", str(repo), "--limit", "2", "--revision", "abc123",
            "-o", str(tmp_path / "ot.parquet")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"source: openthoughts ({repo}, config metadata, split train, revision abc123, streaming)" in result.output
    assert "rows read: 3  kept: 2  rejected: 1" in result.output and "non_math_domain  1" in result.output
    assert pl.read_parquet(tmp_path / "ot.parquet")["problem"].to_list() == ["What is 1 + 1?", "What is 2 + 2?"]


def test_ingest_all_domains_and_a_local_path(tmp_path):
    result = runner.invoke(app, ["ingest", "sample", "--all-domains", "--rejects", str(tmp_path / "r.parquet")])
    assert result.exit_code == 0 and "kept: 61" in result.output
    assert pl.read_parquet(tmp_path / "r.parquet").height == 8
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"problem": "What is 5 + 5?", "reasoning": "5 + 5 = 10", "domain": "math"}) + "\n")
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0 and f"source: local ({path})" in result.output and "kept: 1" in result.output


def test_ingest_bad_arguments_fail_clearly(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "unknown source" in result.output
    result = runner.invoke(app, ["ingest", "sample", "--revision", "abc"])
    assert result.exit_code == 2 and "apply to openthoughts sources only" in result.output
