"""Automation: a weekly refresh (off by default), a sensor on a folder of new source files (off by default),
and the cascade that carries a refresh from `source_problems` through every shard to the export.

A refresh starts `source_problems` in a run tagged ``retool/refresh``. The `curation_cascade` sensor (on by
default) evaluates each downstream asset's automation condition: run once a dependency was updated by a
tagged run, after none of the dependencies is missing or still in progress. Its own runs carry the tag too,
so the refresh flows shard by shard to `cold_start_dataset`. Runs without the tag (a click in the UI,
`retool-data run`) never trigger it: looking at one stage does not spend an LLM budget on the next.
"""

import hashlib
import json
import os
import time
from pathlib import Path

from dagster import (
    AssetSelection,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from pipelines.instance import project_dir

REFRESH_TAG = "retool/refresh"
INGEST_ASSETS = ("source_problems", "ingest_rejects")
SHARD_ASSETS = (
    "verified_problems",
    "verify_rejects",
    "rewritten_traces",
    "rewrite_rejects",
    "consistent_traces",
    "consistency_rejects",
)
COMBINE_ASSETS = (
    "deduplicated_traces",
    "dedup_rejects",
    "decontaminated_traces",
    "decontam_rejects",
    "rejected_rows",
    "cold_start_dataset",
)
SOURCE_SUFFIXES = (".jsonl", ".parquet")
SETTLE_S = 10.0  # a file modified more recently than this may still be being copied


def cascade_condition() -> AutomationCondition:
    """Like `AutomationCondition.eager()`, but only for dependency updates made by tagged refresh runs."""
    refreshed = (
        AutomationCondition.newly_updated()
        & AutomationCondition.executed_with_tags(tag_keys={REFRESH_TAG})
        & ~AutomationCondition.executed_with_root_target()
    )
    return (
        AutomationCondition.any_deps_match(
            refreshed | AutomationCondition.will_be_requested()
        ).since_last_handled()
        & ~AutomationCondition.any_deps_missing()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("cascade_after_refresh")


ingest_job = define_asset_job(
    "ingest_job",
    selection=AssetSelection.assets(*INGEST_ASSETS),
    description="Read the source and (re)plan its shards: the start of every refresh.",
)
shard_job = define_asset_job(
    "shard_job",
    selection=AssetSelection.assets(*SHARD_ASSETS),
    description="The LLM and sandbox stages of one shard (verify, rewrite, consistency).",
)
combine_job = define_asset_job(
    "combine_job",
    selection=AssetSelection.assets(*COMBINE_ASSETS),
    description="Combine all shards: dedup, decontamination, the quarantine and the export.",
)
publish_job = define_asset_job(
    "publish_job",
    selection=AssetSelection.assets(*COMBINE_ASSETS, "published_dataset"),
    description="combine_job, then push the export to the Hub (gated by the blocking contamination check).",
)

weekly_curation = ScheduleDefinition(
    name="weekly_curation",
    job=ingest_job,
    cron_schedule="0 3 * * 1",
    execution_timezone="UTC",
    tags={REFRESH_TAG: "weekly_curation"},
    default_status=DefaultScheduleStatus.STOPPED,
    description="Every Monday 03:00 UTC: re-read the source; the cascade refreshes every stage and the export.",
)

curation_cascade = AutomationConditionSensorDefinition(
    "curation_cascade",
    target=AssetSelection.assets(*SHARD_ASSETS, *COMBINE_ASSETS),
    run_tags={REFRESH_TAG: "cascade"},
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Carries a refresh (schedule or sensor run of source_problems) through the shards to the export.",
)


def watch_dir() -> Path:
    return Path(os.environ.get("RETOOL_WATCH_DIR") or project_dir() / "incoming").resolve()


def source_files(folder: Path, now: float | None = None, settle_s: float = SETTLE_S) -> dict[str, list[int]]:
    """Settled source files under ``folder``: relative path -> [mtime_ns, size] (hidden files skipped)."""
    now = time.time() if now is None else now
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (
            path.suffix not in SOURCE_SUFFIXES
            or any(p.startswith(".") for p in rel.parts)
            or not path.is_file()
        ):
            continue
        st = path.stat()
        if now - st.st_mtime >= settle_s:
            found[rel.as_posix()] = [st.st_mtime_ns, st.st_size]
    return found


@sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="New or changed .jsonl/.parquet files in the watched folder ($RETOOL_WATCH_DIR, default "
    "./incoming): re-ingest the folder as the source; the cascade carries the refresh to the export.",
)
def new_source_files(context: SensorEvaluationContext) -> RunRequest | SkipReason:
    folder = watch_dir()
    if not folder.is_dir():
        return SkipReason(f"watched folder {folder} does not exist")
    files = source_files(folder)
    seen = json.loads(context.cursor) if context.cursor else {}
    changed = sorted(f for f, sig in files.items() if seen.get(f) != sig)
    if not changed:
        return SkipReason(f"no new or changed source files in {folder}")
    context.update_cursor(json.dumps(files, sort_keys=True))
    return RunRequest(
        run_key=hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16],
        run_config={"resources": {"source": {"config": {"source": str(folder)}}}},
        tags={REFRESH_TAG: "new_source_files", "retool/changed_files": ", ".join(changed)[:200]},
    )
