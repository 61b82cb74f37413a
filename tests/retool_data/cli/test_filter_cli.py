"""`retool-data filter` and `retool-data export` end to end on parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from typer.testing import CliRunner

from retool_data.benchmark_sets import load_benchmark
from retool_data.cli import app
from retool_data.cli.ingest import PARQUET_STATS_KEY, write_parquet
from tests.retool_data.frames import frame, row, simple_trace

runner = CliRunner(env={"COLUMNS": "200"})  # error panels must not wrap mid-message


def _input(tmp_path: Path, benchmarks_dir: Path) -> Path:
    aime = load_benchmark("aime24", benchmarks_dir / "aime24")[4]
    rows = [
        row("What is 12 times 7?", simple_trace("12*7", "84"), "84"),
        row("what is 12 times  7?", simple_trace("12*7", "84"), "84", source_id="dup"),
        row(aime["problem"].replace("$", ""), simple_trace("1", "1"), "1", source_id="leak"),
        row("What is 2 to the 10th power?", simple_trace("2**10", "1024", answer="1000"), "1024"),
        row("Name a prime.", "Two. <answer>\\boxed{2}</answer>", "2"),
    ]
    path = tmp_path / "rewritten.parquet"
    # as `retool-data ingest` leaves it: the reader's stats, with the upstream revision, in the file's metadata
    write_parquet(
        frame(rows),
        path,
        {"reader": "openthoughts", "dataset": "open-thoughts/OpenThoughts-114k", "revision": "rev-9f1c"},
    )
    return path


def test_filter_then_export(tmp_path: Path, benchmarks_dir: Path) -> None:
    src = _input(tmp_path, benchmarks_dir)
    out = tmp_path / "filtered.parquet"
    result = runner.invoke(
        app,
        [
            "filter",
            str(src),
            "-o",
            str(out),
            "--benchmarks",
            "aime24,aime25,amc23",
            "--benchmarks-dir",
            str(benchmarks_dir),
            "--no-consistency",
        ],
    )
    assert result.exit_code == 0, result.output
    kept = pl.read_parquet(out)
    rejects = pl.read_parquet(tmp_path / "filtered.rejects.parquet")
    assert kept["problem"].to_list() == ["What is 12 times 7?"]
    assert sorted(rejects.select("stage", "reason").rows()) == [
        ("decontaminate", "benchmark_contamination"),
        ("dedup", "duplicate_exact"),
        ("filter", "answer_mismatch"),
        ("filter", "too_few_code_blocks"),
    ]
    assert "aime24[4]" in rejects.filter(pl.col("stage") == "decontaminate")["detail"][0]
    report = json.loads((tmp_path / "filtered.report.json").read_text())
    assert report["rows_in"] == 5 and report["rows_kept"] == 1 and report["rows_rejected"] == 4
    assert [s["stage"] for s in report["stages"]] == ["dedup", "decontaminate", "filter", "quality"]
    assert kept["block_labels"].to_list() == [["trivial"]]  # print(12 * 7): scored, kept (no minimum set)
    assert report["config"]["consistency"] is False and len(report["config_hash"]) == 12
    assert "dedup: 5 in, 4 kept, 1 rejected (duplicate_exact=1)" in result.output

    export_dir = tmp_path / "export"
    meta = pq.read_schema(out).metadata
    assert json.loads(meta[PARQUET_STATS_KEY])["revision"] == "rev-9f1c"  # lineage carried forward
    assert json.loads(meta[b"retool_data.filter"])["rows_kept"] == 1
    result = runner.invoke(app, ["export", str(out), "-o", str(export_dir)])
    assert result.exit_code == 0, result.output
    card = (export_dir / "README.md").read_text()
    assert "| decontaminate | 4 | 3 | 1 | `benchmark_contamination` 1 |" in card
    # which benchmarks were checked, and how
    assert "Checked with layers `exact, ngram, fuzzy, semantic`" in card and "cosine >= 0.75" in card
    # the filter's configuration and the ingest revision travel into the card
    assert '"max_tokens": 16384' in card and "| source revision | `rev-9f1c` |" in card
    result = runner.invoke(app, ["export", str(out), "-o", str(export_dir), "--source-revision", "r1"])
    assert "| source revision | `r1` |" in (export_dir / "README.md").read_text()
    assert (export_dir / "verl" / "train.parquet").exists() and (export_dir / "hf_dataset").is_dir()


def test_a_minimum_tool_use_score_quarantines_decorating_traces(tmp_path: Path, benchmarks_dir: Path) -> None:
    src = _input(tmp_path, benchmarks_dir)
    out = tmp_path / "filtered.parquet"
    args = [
        "filter",
        str(src),
        "-o",
        str(out),
        "--benchmarks",
        "aime24",
        "--benchmarks-dir",
        str(benchmarks_dir),
    ]
    result = runner.invoke(app, [*args, "--no-consistency", "--min-tool-use-score", "0.5"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 0
    rejects = pl.read_parquet(tmp_path / "filtered.rejects.parquet").filter(pl.col("stage") == "quality")
    assert rejects["reason"].to_list() == ["low_tool_use_score"] and "trivial" in rejects["detail"][0]


def test_filter_rejects_unknown_problem_codes_and_missing_benchmarks(
    tmp_path: Path, benchmarks_dir: Path
) -> None:
    src = _input(tmp_path, benchmarks_dir)
    result = runner.invoke(
        app,
        [
            "filter",
            str(src),
            "-o",
            str(tmp_path / "o.parquet"),
            "--allow",
            "nope",
            "--no-consistency",
            "--benchmarks",
            "",
        ],
    )
    assert result.exit_code != 0 and "unknown problem codes" in result.output
    result = runner.invoke(
        app,
        [
            "filter",
            str(src),
            "-o",
            str(tmp_path / "o.parquet"),
            "--no-consistency",
            "--benchmarks",
            "math500",
            "--benchmarks-dir",
            str(tmp_path / "no_benchmarks"),
        ],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"benchmark 'math500' not found under {tmp_path / 'no_benchmarks'}" in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_filter_reports_unusable_benchmark_options(tmp_path: Path, benchmarks_dir: Path) -> None:
    src = _input(tmp_path, benchmarks_dir)
    base = ["filter", str(src), "-o", str(tmp_path / "o.parquet"), "--no-consistency", "--benchmarks", ""]
    result = runner.invoke(app, [*base, "--benchmark", "aime24"])  # no =PATH
    assert result.exit_code == 2 and "Invalid value for --benchmark: expected NAME=PATH, got ['aime24']" in (
        result.output
    )
    result = runner.invoke(app, [*base, "--benchmark", f"mine={tmp_path / 'mine.jsonl'}"])
    assert (
        result.exit_code == 2 and f"No such file or directory: '{tmp_path / 'mine.jsonl'}'" in result.output
    )
    # an unregistered name without a local copy: the KeyError's text, without its quotes
    result = runner.invoke(
        app, ["filter", str(src), "-o", str(tmp_path / "o.parquet"), "--benchmarks", "nope"]
    )
    assert result.exit_code == 2 and ": unknown benchmark 'nope': known ['aime24'," in result.output
    assert not (tmp_path / "o.parquet").exists()


def test_filter_and_export_report_a_missing_or_unreadable_input(tmp_path: Path) -> None:
    missing = tmp_path / "missing.parquet"
    not_parquet = tmp_path / "notes.parquet"
    not_parquet.write_text("not a parquet file", encoding="utf-8")
    for command in (["filter", "--benchmarks", "", "--no-consistency"], ["export"]):
        result = runner.invoke(app, [*command, str(missing), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert f"Invalid value for INPUT: no such file: {missing}" in result.output
        result = runner.invoke(app, [*command, str(not_parquet), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2
        assert f"Invalid value for INPUT: {not_parquet} is not a readable parquet file" in result.output
    assert not (tmp_path / "out").exists()


def test_export_reports_a_frame_without_the_required_columns(tmp_path: Path) -> None:
    src = tmp_path / "ids_only.parquet"
    pl.DataFrame({"id": ["a", "b"], "answer": ["1", "2"]}).write_parquet(src)
    result = runner.invoke(app, ["export", str(src), "-o", str(tmp_path / "export")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "Invalid value for INPUT: cannot export: input frame lacks columns ['problem', 'trace']"
        in result.output
    )
    assert not (tmp_path / "export").exists()


def test_export_reports_missing_report_rejects_and_token(
    tmp_path: Path, benchmarks_dir: Path, monkeypatch
) -> None:  # noqa: ANN001
    src = _input(tmp_path, benchmarks_dir)
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(src), "-o", str(out), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and f"Invalid value for --report: no such file: {tmp_path / 'r.json'}" in (
        result.output
    )
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    result = runner.invoke(
        app, ["export", str(src), "-o", str(out), "--report", str(tmp_path / "broken.json")]
    )
    assert result.exit_code == 2 and "is not a readable JSON file" in result.output
    result = runner.invoke(
        app, ["export", str(src), "-o", str(out), "--rejects", str(tmp_path / "rj.parquet")]
    )
    assert (
        result.exit_code == 2
        and f"Invalid value for --rejects: no such file: {tmp_path / 'rj.parquet'}" in (result.output)
    )
    monkeypatch.delenv("HF_TOKEN", raising=False)
    result = runner.invoke(app, ["export", str(src), "-o", str(out), "--push-to-hub", "team/retool"])
    assert result.exit_code == 2 and "Invalid value for --push-to-hub: needs HF_TOKEN" in result.output
    assert not out.exists()  # every one was caught before anything was written


def test_filter_with_the_sandbox_and_repair(tmp_path: Path) -> None:
    from tests.retool_data.frames import trace

    rows = [
        row("What is 12 times 7?", simple_trace("12*7", "84"), "84"),
        row(
            "What is 2 to the 10th?", trace(("code", "print(2**10)"), ("out", "1000"), answer="1024"), "1024"
        ),
        row("What is 1/0?", trace(("code", "print(1/0)"), ("out", "0"), answer="0"), "0"),
    ]
    src = tmp_path / "in.parquet"
    frame(rows).write_parquet(src)
    base = ["filter", str(src), "--benchmarks", "", "--sandbox-workers", "1", "--sandbox-timeout", "3"]
    result = runner.invoke(app, [*base, "-o", str(tmp_path / "strict.parquet")])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(tmp_path / "strict.parquet").height == 1
    reasons = pl.read_parquet(tmp_path / "strict.rejects.parquet").select("stage", "reason").rows()
    assert sorted(reasons) == [("consistency", "output_mismatch"), ("consistency", "unexpected_error")]

    result = runner.invoke(app, [*base, "-o", str(tmp_path / "repaired.parquet"), "--repair"])
    assert result.exit_code == 0, result.output
    kept = pl.read_parquet(tmp_path / "repaired.parquet")
    assert sorted(kept["consistency_verdict"].to_list()) == ["consistent", "repaired"]
    assert (
        "<interpreter>\n1024\n</interpreter>"
        in kept.filter(pl.col("consistency_verdict") == "repaired")["trace"][0]
    )


def test_export_push_to_hub_from_the_cli(tmp_path: Path, benchmarks_dir: Path, monkeypatch) -> None:  # noqa: ANN001
    from tests.retool_data.fake_hub import FakeHub

    src = _input(tmp_path, benchmarks_dir)
    out = tmp_path / "filtered.parquet"
    assert (
        runner.invoke(
            app, ["filter", str(src), "-o", str(out), "--benchmarks", "", "--no-consistency"]
        ).exit_code
        == 0
    )
    monkeypatch.setenv("HF_TOKEN", "hf_cli_token")
    with FakeHub() as hub:
        result = runner.invoke(
            app,
            [
                "export",
                str(out),
                "-o",
                str(tmp_path / "x"),
                "--push-to-hub",
                "team/retool",
                "--public",
                "--hub-endpoint",
                hub.endpoint,
            ],
        )
    assert result.exit_code == 0, result.output
    assert "pushed to" in result.output
    assert hub.state.repos[0]["visibility"] == "public"
    assert "team/retool/README.md" in hub.state.files
