"""The one-screen summary `retool-data run` prints at the end, read from what the runs recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagster import AssetCheckSeverity

from pipelines.runner import CurationRun
from pipelines.summary import format_funnel
from retool_data.benchmark_sets import describe_benchmarks

NO_LLM = {
    "rules": "rules only (no judge endpoint configured)",
    "heuristic": "heuristic rewriter (no LLM endpoint configured; code run in the sandbox)",
}
LLM_TOTALS = ("requests", "cached", "errors", "prompt_tokens", "completion_tokens", "cost_usd")


def _materializations(run: CurationRun) -> list[Any]:
    return [e.materialization for r in run.results for e in r.get_asset_materialization_events()]


def _metadata(run: CurationRun, asset: str) -> dict[str, Any]:
    """Metadata values of the last materialization of ``asset`` in these runs."""
    found = [m for m in _materializations(run) if m.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in found[-1].metadata.items()} if found else {}


def check_tally(run: CurationRun) -> dict[str, int]:
    tally = {"passed": 0, "warnings": 0, "failed": 0}
    for result in run.results:
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                tally["passed"] += 1
            elif evaluation.severity == AssetCheckSeverity.WARN:
                tally["warnings"] += 1
            else:
                tally["failed"] += 1
    return tally


def llm_totals(run: CurationRun) -> dict[str, dict[str, Any]]:
    """Per stage asset: the backend and summed usage over the shards run now."""
    totals: dict[str, dict[str, Any]] = {}
    for m in _materializations(run):
        meta = m.metadata
        if "llm/backend" not in meta:
            continue
        stage = totals.setdefault(m.asset_key.to_user_string(), {"backend": meta["llm/backend"].value})
        for key in LLM_TOTALS:
            stage[key] = stage.get(key, 0) + (meta[f"llm/{key}"].value if f"llm/{key}" in meta else 0)
    return totals


def format_report(run: CurationRun, dagster_home: Path) -> str:
    source = _metadata(run, "source_problems")
    export = _metadata(run, "cold_start_dataset")
    lines = []
    if source:
        src = source.get("source", {})
        problems = source.get("problems", source["kept"])
        responses = f" ({source['kept']} responses)" if problems != source["kept"] else ""
        lines.append(
            f"source: {src.get('reader', '?')} ({src.get('dataset', '?')}), {problems} problems{responses} "
            f"in {source['shards']} shard(s) of up to {source['shard_size']}"
        )
        if source["kept"] == 0:
            lines.append(
                "no usable rows in the source: nothing to verify, rewrite or filter (see the quarantine)"
            )
    if run.shards_run != run.shards:
        lines.append(f"shards run now: {', '.join(run.shards_run) or 'none'} (the others were up to date)")
    benchmarks = _metadata(run, "decontaminated_traces").get("benchmarks")
    if benchmarks:
        lines.append(f"decontaminated against {describe_benchmarks(benchmarks)}")
    if export:
        lines += format_funnel(export["funnel"])
        lines.append(f"exported {export['rows']} traces -> {export['export_dir']}")
        lines.append(
            "  data/train-*.parquet (SFT rows), verl/train.parquet (RL), hf_dataset/, README.md (card)"
        )
    tally = check_tally(run)
    lines.append(f"checks: {tally['passed']} passed, {tally['warnings']} warnings, {tally['failed']} failed")
    for stage, t in llm_totals(run).items():
        if t["backend"] in NO_LLM:
            lines.append(f"{stage}: {NO_LLM[t['backend']]}")
            continue
        lines.append(
            f"{stage}: {t['backend']}; {t['requests']} requests ({t['cached']} cached, {t['errors']} errors), "
            f"{t['prompt_tokens'] + t['completion_tokens']} tokens, ${t['cost_usd']:.2f}"
        )
    for step, error in run.failed.items():
        lines.append(f"FAILED {step}: {error}")
    if run.failed:
        lines.append("fix the cause, then `retool-data run --resume` re-runs only what failed")
    lines.append(f"took {run.seconds:.1f} s; runs recorded in {dagster_home} (browse them: retool-data ui)")
    return "\n".join(lines)
