"""Asset checks: schema, row conservation, quality rates, and the blocking zero-contamination gate.

Stage checks are declared on their asset (`stage_check_specs`) and evaluated inside it, on the frames the
stage just produced (`schema_result`, `conservation_result`, `rate_result`). That keeps them exact and
partition-aware: a shard's run reports that shard's checks. Schema and conservation checks are blocking
(a broken stage must not feed the next one); rate checks are WARN below the warn threshold and ERROR below
the error threshold (`QualityThresholds`), and do not block.

`no_contaminated_rows` is a standalone, blocking check on `cold_start_dataset`: it re-reads the written export
(SFT shards and the verl RL parquet) and re-checks its problems with a fresh index and every configured layer,
independently of the decontamination stage, and gates everything downstream of the export (publication to the
Hub, training).
"""

import warnings
from collections.abc import Mapping

import polars as pl
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    DagsterInstance,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)
from dagster._utils.warnings import PreviewWarning

from pipelines.resources import ExportSettings, FilterSettings, VerifierLLM

SCHEMA = "schema"
ROWS_CONSERVED = "rows_conserved"


def stage_check_specs(
    asset: str, *rates: str, partitions_def: PartitionsDefinition | None = None
) -> list[AssetCheckSpec]:
    """Schema + conservation (blocking) and the named rate checks; partitioned like a sharded asset, so the UI
    shows each shard's result (a later shard's pass does not hide an earlier shard's failure)."""
    described = [
        (SCHEMA, True, "Every column the stage contract promises is present with its type."),
        (ROWS_CONSERVED, True, "rows_in == kept + rejected: no row lost or invented by the stage."),
        *((name, False, RATE_DESCRIPTIONS[name]) for name in rates),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", PreviewWarning
        )  # partitioned checks are a preview API in Dagster 1.13
        return [
            AssetCheckSpec(
                name, asset=asset, blocking=blocking, description=text, partitions_def=partitions_def
            )
            for name, blocking, text in described
        ]


RATE_DESCRIPTIONS = {
    "verification_rate": "Share of problems whose teacher answer was verified correct, above the thresholds.",
    "consistency_pass_rate": "Share of checked traces whose code prints what the trace says, above the thresholds.",
}


def schema_result(asset: str, df: pl.DataFrame, required: Mapping[str, pl.DataType]) -> AssetCheckResult:
    missing = [c for c in required if c not in df.columns]
    wrong = {
        c: f"{df.schema[c]} (expected {t})"
        for c, t in required.items()
        if c in df.columns and df.schema[c] != t and df.schema[c] != pl.Null
    }
    return AssetCheckResult(
        asset_key=asset,
        check_name=SCHEMA,
        passed=not missing and not wrong,
        metadata={
            "missing_columns": MetadataValue.json(missing),
            "wrong_types": MetadataValue.json(wrong),
            "columns": MetadataValue.int(len(df.columns)),
        },
    )


def conservation_result(asset: str, rows_in: int, kept: int, rejected: int) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=asset,
        check_name=ROWS_CONSERVED,
        passed=rows_in == kept + rejected,
        metadata={
            "rows_in": rows_in,
            "kept": kept,
            "rejected": rejected,
            "difference": rows_in - kept - rejected,
        },
    )


def rate_result(
    asset: str, name: str, passed_rows: int, total: int, warn: float, error: float, min_rows: int
) -> AssetCheckResult:
    """Rate = passed_rows / total; WARN below ``warn``, ERROR below ``error``; too few rows always pass."""
    rate = passed_rows / total if total else 1.0
    metadata = {
        "rate": MetadataValue.float(round(rate, 4)),
        "passed_rows": passed_rows,
        "rows": total,
        "warn_below": MetadataValue.float(warn),
        "error_below": MetadataValue.float(error),
    }
    if total < min_rows:
        metadata["note"] = MetadataValue.text(f"fewer than {min_rows} rows: too few to judge the rate")
        return AssetCheckResult(asset_key=asset, check_name=name, passed=True, metadata=metadata)
    severity = AssetCheckSeverity.ERROR if rate < error else AssetCheckSeverity.WARN
    return AssetCheckResult(
        asset_key=asset, check_name=name, passed=rate >= warn, severity=severity, metadata=metadata
    )


@asset_check(
    asset="cold_start_dataset",
    blocking=True,
    description="Zero exported problems restate a benchmark item: the written export (SFT parquet shards and the "
    "verl RL parquet) is re-read and re-checked with a fresh index and every configured decontamination layer "
    "(exact, n-gram, fuzzy, semantic, and the LLM judge when on). Blocking: nothing downstream of the export "
    "(Hub publication, training) runs until it passes.",
)
def no_contaminated_rows(
    filters: FilterSettings, export: ExportSettings, verifier_llm: VerifierLLM
) -> AssetCheckResult:
    from retool_data.export import exported_problems

    problems = exported_problems(export.out_dir)  # {"sft": [...], "verl": [...]}, read back from the files
    judge = verifier_llm.chat_backend() if filters.decontam_judge else None
    index = filters.decontaminator(filters.load_benchmark_sets(), judge)
    hits, scanned = [], {}
    for part, rows in problems.items():
        scanned[part] = len(rows)
        matches = index.nearest_many([t for _, t, _ in rows], [a for *_, a in rows])
        for (row_id, _, _), m in zip(rows, matches, strict=True):
            if (
                m is not None
                and m.reason is not None
                and not (m.reason == "template_variant" and index.template_policy == "keep")
            ):
                hits.append({"file": part, "id": row_id, "benchmark": m.benchmark, "index": m.index,
                             "reason": m.reason, "layer": m.layer, "score": round(float(m.score), 3)})  # fmt: skip
    return AssetCheckResult(
        passed=not hits,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "rows_scanned": MetadataValue.json(scanned),
            "contaminated_rows": len(hits),
            "benchmarks": MetadataValue.json(filters.benchmarks),
            "layers": MetadataValue.json(list(index.layers)),
            "examples": MetadataValue.json(hits[:20]),
        },
    )


def latest_check_passed(instance: DagsterInstance, key: AssetCheckKey) -> bool:
    """Whether the check's latest evaluation passed and targeted the asset's latest materialization."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    records = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    if not records or records[0].status != AssetCheckExecutionRecordStatus.SUCCEEDED:
        return False
    from dagster import AssetRecordsFilter

    evaluation = records[0].evaluation
    latest = instance.fetch_materializations(AssetRecordsFilter(asset_key=key.asset_key), limit=1).records
    target = evaluation.target_materialization_data if evaluation else None
    return bool(latest) and target is not None and target.storage_id == latest[0].storage_id
