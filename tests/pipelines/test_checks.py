"""Check evaluation: thresholds (warn vs error), schema, conservation, and the blocking contamination gate."""

import json

import dagster as dg
import polars as pl

from pipelines import checks
from pipelines.resources import FilterSettings
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


def test_the_contamination_gate_fails_on_a_copied_benchmark_problem():
    aime = json.loads((BENCHMARKS_DIR / "aime24" / "test.jsonl").read_text().splitlines()[0])["problem"]
    filters = FilterSettings(benchmarks=["aime24"])  # the default: the pinned snapshot
    clean = pl.DataFrame({"id": ["a"], "problem": ["What is 12 times 7?"]})
    leaked = pl.DataFrame({"id": ["a", "b"], "problem": ["What is 12 times 7?", aime.replace("$", "")]})
    assert checks.no_contaminated_rows(cold_start_dataset=clean, filters=filters).passed
    result = checks.no_contaminated_rows(cold_start_dataset=leaked, filters=filters)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["contaminated_rows"].value == 1
    assert result.metadata["examples"].value[0]["benchmark"] == "aime24"
