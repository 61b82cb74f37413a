"""`retool-data run` materializes every curation asset on the bundled sample: the export, the quarantine, the
funnel and the checks, all read back from disk and from the Dagster instance the command set up."""

import json
import re

import dagster as dg
import polars as pl

from pipelines.automation import COMBINE_ASSETS, INGEST_ASSETS, SHARD_ASSETS
from retool_data.benchmark_snapshots import package_snapshot_dir
from tests.conftest import REPO_ROOT


def _instance(curated) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(curated.home))


def test_run_succeeds_and_prints_where_the_dataset_is(curated):
    assert curated.exit_code == 0, curated.output
    out = curated.output
    assert "source: sample (bundled-sample), 58 problems (59 responses) in 2 shard(s) of up to 30" in out
    assert f"exported {_exported(curated).height} traces -> {curated.export_dir}" in out
    assert "checks: " in out and " 0 failed" in out
    assert f"runs recorded in {curated.home}" in out
    # no benchmark settings in the environment: the pinned snapshots, all four, named in preflight and summary
    covered = "aime24 (30), aime25 (30), amc23 (40), math500 (500): pinned snapshots"
    assert f"preflight: decontamination benchmarks {covered}" in out
    assert f"decontaminated against {covered}" in out
    funnel_lines = [
        line
        for line in out.splitlines()
        if line.split()[:1]
        and line.split()[0]
        in ("ingest", "verify", "rewrite", "filter", "consistency", "dedup", "decontaminate")
    ]
    assert [line.split()[0] for line in funnel_lines] == [
        "ingest",
        "verify",
        "rewrite",
        "filter",
        "consistency",
        "dedup",
        "decontaminate",
    ]
    assert funnel_lines[0].split()[1:4] == ["69", "59", "10"]  # the sample: 69 rows, 10 malformed
    assert len(out.splitlines()) <= 25  # one screen


def _exported(curated) -> pl.DataFrame:
    return pl.read_parquet(sorted((curated.export_dir / "data").glob("train-*.parquet")))


def test_the_export_folder_holds_the_dataset_the_card_and_the_rl_rows(curated):
    sft = _exported(curated)
    assert 30 <= sft.height <= 58
    assert sft["messages"].list.len().unique().to_list() == [2]  # user (templates.build_prompt_messages), assistant
    verl = pl.read_parquet(curated.export_dir / "verl" / "train.parquet")
    assert verl.height == sft.height
    card = (curated.export_dir / "README.md").read_text()
    assert "| verify |" in card and "| 69 |" in card  # the per-stage funnel, from the ingested row count
    # the benchmarks checked, with their pinned hashes, and no folder of the machine that built the export
    manifest = json.loads((package_snapshot_dir() / "manifest.json").read_text())["benchmarks"]
    for entry in manifest:
        assert f"| {entry['name']} | snapshot | {entry['rows']} | `{entry['sha256'][:16]}` |" in card
    assert str(curated.project) not in card and str(REPO_ROOT) not in card
    assert not re.search(r"(?<![\w.])/(tmp|home|root|work|srv|usr|opt|var)/", card), (
        "an absolute path in the card"
    )
    assert (curated.export_dir / "hf_dataset" / "dataset_info.json").is_file()


def test_every_problem_is_exported_or_quarantined_exactly_once(curated):
    source = pl.read_parquet(curated.store / "source_problems.parquet")
    rejected = pl.read_parquet(curated.store / "rejected_rows.parquet")
    exported = _exported(curated)
    after_ingest = rejected.filter(pl.col("stage") != "ingest")
    assert sorted(exported["id"].to_list() + after_ingest["id"].to_list()) == sorted(source["id"].to_list())
    assert rejected.filter(pl.col("stage") == "ingest").height == 10
    assert set(rejected["stage"]) <= {
        "ingest",
        "verify",
        "rewrite",
        "filter",
        "consistency",
        "dedup",
        "decontaminate",
    }
    assert "answer_mismatch" in set(rejected["reason"])  # the sample's wrong teacher answers
    row = json.loads(rejected.filter(pl.col("stage") == "verify")["row"][0])
    assert row["problem"] and row["verify_verdict"] != "correct"  # the whole row is kept, as JSON


def test_every_asset_and_check_was_materialized_and_passed(curated):
    instance = _instance(curated)
    try:
        shards = instance.get_dynamic_partitions("source_shards")
        assert shards == ["shard-00000", "shard-00001"]
        for key in (*INGEST_ASSETS, *COMBINE_ASSETS):
            assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None, key
        for key in SHARD_ASSETS:
            for _shard in shards:
                assert instance.get_materialized_partitions(dg.AssetKey(key)) >= set(shards), key
        check_keys = list(dg.Definitions.merge(_defs()).resolve_asset_graph().asset_check_keys)
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
        assert set(latest) == set(check_keys)  # every check ran
        failed = {k.to_user_string(): r.status for k, r in latest.items() if r.status.value != "SUCCEEDED"}
        assert failed == {}
        per_shard = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("verified_problems"), "rows_conserved"), limit=10
        )
        assert sorted(r.partition for r in per_shard) == shards  # the shard stages' checks run per shard
    finally:
        instance.dispose()


def _defs():
    from pipelines.definitions import defs

    return defs


def test_stage_metadata_reports_counts_llm_usage_previews_and_plots(curated):
    instance = _instance(curated)
    try:

        def meta(key):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            return event.asset_materialization.metadata

        verified = meta("verified_problems")
        assert verified["rows_in"].value == verified["kept"].value + verified["rejected"].value
        assert verified["llm/backend"].value == "rules" and verified["llm/requests"].value == 0
        rewritten = meta("rewritten_traces")
        assert rewritten["llm/backend"].value == "heuristic"
        assert {
            "llm/cached",
            "llm/prompt_tokens",
            "llm/completion_tokens",
            "llm/cost_usd",
            "llm/errors",
        } <= set(rewritten)
        export = meta("cold_start_dataset")
        for plot in ("plot/code_blocks_per_trace", "plot/trace_length"):
            assert export[plot].value.startswith("![") and "data:image/png;base64,iVBOR" in export[plot].value
        assert "plot/rejects_by_reason" in meta("rejected_rows")
        preview = export["preview"].value
        assert preview.records and set(preview.records[0].data) == {
            "id",
            "problem",
            "num_code_blocks",
            "trace",
        }
        assert [s["stage"] for s in export["funnel"].value][:3] == ["ingest", "verify", "rewrite"]
        # decontamination: the score histograms with thresholds, the closest kept rows, the layers in force
        decontam = meta("decontaminated_traces")
        assert "data:image/png;base64,iVBOR" in decontam["plot/decontam_scores"].value
        closest = decontam["closest_kept_rows"].value.records
        scores = [float(r.data["decontam_score"]) for r in closest]
        assert closest and scores == sorted(scores, reverse=True)
        assert decontam["decontamination"].value["layers"] == ["exact", "ngram", "fuzzy", "semantic"]
        assert decontam["decontamination"].value["min_cosine"] == 0.75
    finally:
        instance.dispose()
