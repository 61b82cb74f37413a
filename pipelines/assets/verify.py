"""`verified_problems`: each shard's teacher answers checked against the gold answers (rules, then a judge)."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, AssetOut, MetadataValue, multi_asset

from pipelines import checks, metadata
from pipelines.assets.stage_io import emit_stage, shard_rows
from pipelines.partitions import SOURCE_SHARDS
from pipelines.resources import QualityThresholds, SourceSettings, VerifierLLM

VERIFY_PREVIEW = ("id", "problem", "teacher_answer", "gold_answer", "verify_method", "verify_reason")


@multi_asset(
    can_subset=True,  # one asset of the pair alone (pipelines/assets/stage_io.selected_only)
    outs={
        "verified_problems": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="verify",
            description="Problems whose teacher (R1) final answer is equivalent to the gold answer: decided by "
            "rules (math-verify), or by the verifier LLM for what the rules cannot decide; the first verified "
            "response(s) of each problem (`responses_per_problem`). Adds VERIFY_COLUMNS.",
            kinds={"polars", "openai"},
        ),
        "verify_rejects": AssetOut(
            is_required=False,  # with can_subset: yielded only when selected
            group_name="quarantine",
            description="Problems dropped by verification (answer_mismatch, judge_error, unverifiable, no_reference, "
            "surplus_response).",
            kinds={"polars"},
        ),
    },
    partitions_def=SOURCE_SHARDS,
    pool="llm",
    check_specs=checks.stage_check_specs(
        "verified_problems", "verification_rate", partitions_def=SOURCE_SHARDS
    ),
)
def verified_problems(
    context: AssetExecutionContext,
    source_problems: pl.LazyFrame,
    verifier_llm: VerifierLLM,
    quality: QualityThresholds,
    source: SourceSettings,
) -> Iterator[Any]:
    from retool_data.llm.judge import DEFAULT_JUDGE_PARAMS, response_format
    from retool_data.schema import PROBLEM_SCHEMA, VERIFY_COLUMNS
    from retool_data.stages.verify import verify

    problems = shard_rows(source_problems, context)
    judge = verifier_llm.chat_backend()
    params = verifier_llm.sampling_params(DEFAULT_JUDGE_PARAMS)
    if (fmt := response_format(verifier_llm.response_format)) is not None:
        params["response_format"] = fmt
    result = verify(
        problems,
        judge,
        judge_params=params,
        judge_all=verifier_llm.judge_all,
        judge_mismatches=verifier_llm.judge_mismatches,
        responses_per_problem=source.responses_per_problem,
    )
    rate = checks.rate_result(
        "verified_problems",
        "verification_rate",
        result.kept.height,
        problems.height,
        quality.verification_rate_warn,
        quality.verification_rate_error,
        quality.min_rows_for_rates,
    )
    yield from emit_stage(
        context,
        "verified_problems",
        "verify_rejects",
        problems.height,
        result.kept,
        result.rejected,
        required={**PROBLEM_SCHEMA, **VERIFY_COLUMNS},
        extra_metadata={
            **metadata.usage_metadata(
                judge.usage.as_dict() if judge else None, judge.name if judge else "rules"
            ),
            "verdicts": MetadataValue.json(result.stats.get("verdict", {})),
            "preview": metadata.preview_table(result.kept, VERIFY_PREVIEW),
        },
        rate_checks=(rate,),
    )
