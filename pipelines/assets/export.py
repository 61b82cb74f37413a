"""The end of the curation: the quarantine of every stage, the exported dataset, and its Hub publication."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetOut,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from pipelines import checks, metadata
from pipelines.assets.stage_io import TRACE_PREVIEW, concat_shards
from pipelines.resources import ExportSettings, FilterSettings, HubSettings, QualityThresholds
from pipelines.summary import stage_funnel

ACCOUNTED = "every_problem_accounted_for"
MIN_ROWS = "min_exported_rows"


@multi_asset(
    outs={
        "rejected_rows": AssetOut(
            description="Every row any stage dropped, all shards combined (REJECT_SCHEMA: stage, reason, detail, "
            "id, the whole row as JSON): nothing is dropped silently, and any reject can be re-examined.",
            kinds={"polars"},
            group_name="quarantine",
        )
    },
    check_specs=[
        AssetCheckSpec(
            checks.SCHEMA,
            asset="rejected_rows",
            blocking=True,
            description="The quarantine has the REJECT_SCHEMA columns and types.",
        )
    ],
)
def rejected_rows(
    ingest_rejects: pl.DataFrame,
    verify_rejects: dict[str, pl.DataFrame],
    rewrite_rejects: dict[str, pl.DataFrame],
    consistency_rejects: dict[str, pl.DataFrame],
    dedup_rejects: pl.DataFrame,
    decontam_rejects: pl.DataFrame,
) -> Iterator[Any]:
    from retool_data.schema import REJECT_SCHEMA, conform

    parts = [
        ingest_rejects,
        concat_shards(verify_rejects, REJECT_SCHEMA),
        concat_shards(rewrite_rejects, REJECT_SCHEMA),
        concat_shards(consistency_rejects, REJECT_SCHEMA),
        dedup_rejects,
        decontam_rejects,
    ]
    df = pl.concat([conform(p, REJECT_SCHEMA).select(list(REJECT_SCHEMA)) for p in parts])
    by_reason = metadata.reject_counts(df)
    by_stage = dict(df.group_by("stage").len().sort("stage").iter_rows())
    yield Output(
        df,
        output_name="rejected_rows",
        metadata={
            "rejected": MetadataValue.int(df.height),
            "rejects_by_stage": MetadataValue.json(by_stage),
            "rejects_by_reason": MetadataValue.json(by_reason),
            "plot/rejects_by_reason": metadata.bar_plot(by_reason, "Rejected rows by reason"),
            "preview": metadata.preview_table(df, ("stage", "reason", "id", "detail")),
        },
    )
    yield checks.schema_result("rejected_rows", df, REJECT_SCHEMA)


@multi_asset(
    outs={
        "cold_start_dataset": AssetOut(
            description="The cold-start SFT dataset, written to the export folder: Hugging Face dataset "
            "(save_to_disk), data/train-*.parquet in the Hub layout, verl/train.parquet for RL, and a dataset "
            "card with provenance and the per-stage funnel. The stored value is the exported rows.",
            kinds={"huggingface", "parquet"},
            group_name="export",
        )
    },
    check_specs=[
        AssetCheckSpec(
            ACCOUNTED,
            asset="cold_start_dataset",
            blocking=True,
            description="Every ingested problem is exported or rejected exactly once.",
        ),
        AssetCheckSpec(
            MIN_ROWS,
            asset="cold_start_dataset",
            blocking=True,
            description="At least `quality.min_exported_rows` rows were exported (default 0: an empty export, "
            "e.g. from a source without usable rows, passes).",
        ),
    ],
)
def cold_start_dataset(
    context: AssetExecutionContext,
    decontaminated_traces: pl.DataFrame,
    rejected_rows: pl.DataFrame,
    source_problems: pl.LazyFrame,
    export: ExportSettings,
    filters: FilterSettings,
    quality: QualityThresholds,
) -> Iterator[Any]:
    from retool_data.export import export_dataset

    # the source as it was read (reader, dataset, revision), from source_problems' lineage metadata
    ingested = context.instance.get_latest_materialization_event(AssetKey("source_problems"))
    source_stats = ingested.asset_materialization.metadata["source"].value if ingested else {}
    # what decontamination checked against (name, source, origin, rows, sha256), for the card
    decontam = context.instance.get_latest_materialization_event(AssetKey("decontaminated_traces"))
    decontam_meta = decontam.asset_materialization.metadata if decontam else {}
    benchmarks = decontam_meta["benchmarks"].value if "benchmarks" in decontam_meta else None

    source_ids = source_problems.select("id").collect()["id"]
    # rows read, as the reader counted them from its input (older materializations: from the outputs)
    ingested = source_ids.len() + rejected_rows.filter(pl.col("stage") == "ingest").height
    rows_read = int(source_stats.get("rows_in", ingested))
    funnel = stage_funnel(rows_read, rejected_rows)
    result = export_dataset(
        decontaminated_traces,
        export.out_dir,
        stage_summary=funnel,
        rejects=rejected_rows,
        config={"source": source_stats, "filters": filters.model_dump()},
        source_revision=source_stats.get("revision"),
        rows_per_shard=export.rows_per_shard,
        pretty_name=export.pretty_name,
        verl_data_source=export.verl_data_source,
        benchmarks=benchmarks,
        tool_protocol=export.tool_protocol,
    )
    yield Output(
        decontaminated_traces,
        output_name="cold_start_dataset",
        metadata={
            "rows": MetadataValue.int(result.rows),
            "export_dir": MetadataValue.path(str(result.out_dir)),
            "dataset_card": MetadataValue.path(str(result.card_path)),
            "config_hash": MetadataValue.text(result.config_hash),
            "funnel": MetadataValue.json(funnel),
            **metadata.trace_plots(decontaminated_traces),
            "preview": metadata.preview_table(decontaminated_traces, TRACE_PREVIEW),
        },
    )
    accounted = pl.concat(
        [decontaminated_traces.select("id"), rejected_rows.filter(pl.col("stage") != "ingest").select("id")]
    )["id"]
    missing = source_ids.filter(~source_ids.is_in(accounted.implode()))
    counts = accounted.value_counts()
    twice = counts.filter(pl.col("count") > 1)["id"]
    extra = accounted.filter(~accounted.is_in(source_ids.implode())).unique()
    yield AssetCheckResult(
        asset_key="cold_start_dataset",
        check_name=ACCOUNTED,
        passed=missing.len() == 0 and twice.len() == 0 and extra.len() == 0,
        metadata={
            "source_problems": source_ids.len(),
            "exported": decontaminated_traces.height,
            "rejected_after_ingest": accounted.len() - decontaminated_traces.height,
            "missing": MetadataValue.json(missing.head(20).to_list()),
            "counted_twice": MetadataValue.json(twice.head(20).to_list()),
            "not_in_source": MetadataValue.json(extra.head(20).to_list()),
        },
    )
    yield AssetCheckResult(
        asset_key="cold_start_dataset",
        check_name=MIN_ROWS,
        passed=result.rows >= quality.min_exported_rows,
        metadata={"rows": result.rows, "min_exported_rows": quality.min_exported_rows},
    )


@asset(
    deps=["cold_start_dataset"],
    group_name="export",
    kinds={"huggingface"},
    description="The exported dataset pushed to the Hugging Face Hub (README.md, data/, verl/ in one commit). "
    "Refuses unless the export's blocking contamination check passed on its latest materialization.",
)
def published_dataset(
    context: AssetExecutionContext, export: ExportSettings, hub: HubSettings
) -> MaterializeResult:
    from retool_data.export import push_to_hub

    if not hub.repo_id:
        raise Failure(
            "no Hub repo configured: set RETOOL_HUB_REPO (and HF_TOKEN), or hub.repo_id in run config"
        )
    key = AssetCheckKey(asset_key=AssetKey("cold_start_dataset"), name="no_contaminated_rows")
    if not checks.latest_check_passed(context.instance, key):
        raise Failure("cold_start_dataset's latest no_contaminated_rows check did not pass: not publishing")
    url = push_to_hub(
        export.out_dir, hub.repo_id, token=hub.token, private=hub.private, endpoint=hub.endpoint
    )
    return MaterializeResult(metadata={"repo_id": hub.repo_id, "commit_url": MetadataValue.url(url)})
