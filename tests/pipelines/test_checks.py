"""Check evaluation: thresholds (warn vs error), schema, conservation, and the blocking contamination gate."""

import json

import dagster as dg
import polars as pl

from pipelines import checks
from pipelines.resources import ExportSettings, FilterSettings, VerifierLLM
from tests.conftest import BENCHMARKS_DIR


def test_rate_is_a_warning_below_warn_and_an_error_below_error():
    ok = checks.rate_result(
        "verified_problems", "verification_rate", 80, 100, warn=0.5, error=0.2, min_rows=20
    )
    warn = checks.rate_result(
        "verified_problems", "verification_rate", 40, 100, warn=0.5, error=0.2, min_rows=20
    )
    error = checks.rate_result(
        "verified_problems", "verification_rate", 10, 100, warn=0.5, error=0.2, min_rows=20
    )
    assert ok.passed
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert not error.passed and error.severity == dg.AssetCheckSeverity.ERROR
    assert error.metadata["rate"].value == 0.1
    small = checks.rate_result(
        "verified_problems", "verification_rate", 0, 5, warn=0.5, error=0.2, min_rows=20
    )
    assert small.passed and "too few" in small.metadata["note"].value


def test_schema_and_conservation_results():
    schema = {"id": pl.String(), "num_code_blocks": pl.Int64()}
    good = pl.DataFrame({"id": ["a"], "num_code_blocks": [2], "extra": [1.0]})
    assert checks.schema_result("x", good, schema).passed  # extra columns are fine: stages add columns
    wrong = pl.DataFrame({"id": ["a"], "num_code_blocks": ["2"]})
    result = checks.schema_result("x", wrong, schema)
    assert not result.passed and "num_code_blocks" in result.metadata["wrong_types"].value
    missing = checks.schema_result("x", pl.DataFrame({"num_code_blocks": [1]}), schema)
    assert missing.metadata["missing_columns"].value == ["id"]
    assert checks.conservation_result("x", 10, 7, 3).passed
    lost = checks.conservation_result("x", 10, 7, 2)
    assert not lost.passed and lost.metadata["difference"].value == 1


def _export(out, problems: list[str]) -> None:
    from retool_data.export import export_dataset
    from tests.retool_data.frames import frame, row, simple_trace

    export_dataset(
        frame([row(p, simple_trace("1+1", "2"), "2", source_id=str(i)) for i, p in enumerate(problems)]), out
    )


def _gate(out) -> dg.AssetCheckResult:
    filters = FilterSettings(benchmarks=["aime24"])  # the default: the pinned snapshot
    return checks.no_contaminated_rows(
        filters=filters, export=ExportSettings(out_dir=str(out)), verifier_llm=VerifierLLM()
    )


def test_the_contamination_gate_rereads_the_sft_and_verl_files(tmp_path):
    aime = json.loads((BENCHMARKS_DIR / "aime24" / "test.jsonl").read_text().splitlines()[0])["problem"]
    _export(tmp_path / "clean", ["What is 12 times 7?"])
    clean = _gate(tmp_path / "clean")
    assert clean.passed and clean.metadata["rows_scanned"].value == {"sft": 1, "verl": 1}
    assert "semantic" in clean.metadata["layers"].value
    _export(tmp_path / "leaked", ["What is 12 times 7?", aime.replace("$", "")])
    result = _gate(tmp_path / "leaked")
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["contaminated_rows"].value == 2  # the row in the SFT shard and in the verl parquet
    assert {(h["file"], h["benchmark"], h["index"]) for h in result.metadata["examples"].value} == {
        ("sft", "aime24", 0),
        ("verl", "aime24", 0),
    }
    # a leak only in the RL file (edited after the export) is caught too: the check reads the files
    verl = tmp_path / "clean" / "verl" / "train.parquet"
    rl = pl.read_parquet(verl)
    prompt = rl["prompt"].to_list()
    prompt[0][-1]["content"] = prompt[0][-1]["content"].replace("What is 12 times 7?", aime)
    rl.with_columns(pl.Series("prompt", prompt)).write_parquet(verl)
    only_rl = _gate(tmp_path / "clean")
    assert not only_rl.passed and [h["file"] for h in only_rl.metadata["examples"].value] == ["verl"]
