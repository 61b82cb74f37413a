"""`retool-data filter` (dedup, decontamination, format/answer/length rules, execution consistency) and
`retool-data export` (HF dataset, parquet shards, dataset card, verl parquet, optional Hub push)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from retool_data.cli.bad_input import read_json_input, read_parquet_input, reported_as_bad_input

LINEAGE_PREFIX = (
    b"retool_data."  # parquet metadata keys each stage adds for lineage (ingest stats, filter report)
)


def _off(value: float | int | None) -> float | int | None:
    """CLI convention: 0 (or a negative value) switches a threshold off."""
    return None if value is None or value <= 0 else value


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name.removesuffix(".parquet") + suffix)


def _write_atomic(path: Path, write) -> None:  # noqa: ANN001 - a callable taking the temporary path
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(tmp)
    tmp.replace(path)


def _lineage(path: Path) -> dict[str, object]:
    """The ``retool_data.*`` entries earlier stages left in a parquet file's metadata (ingest stats, revision)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    out: dict[str, object] = {}
    for key, value in meta.items():
        if key.startswith(LINEAGE_PREFIX):
            try:
                out[key.decode()] = json.loads(value)
            except ValueError:
                out[key.decode()] = value.decode(errors="replace")
    return out


def _write_with_lineage(df, path: Path, lineage: dict[str, object]) -> None:  # noqa: ANN001 - polars frame
    import pyarrow.parquet as pq

    table = df.to_arrow()
    meta = dict(table.schema.metadata or {})
    meta.update({k.encode(): json.dumps(v, default=str).encode() for k, v in lineage.items()})
    _write_atomic(
        path, lambda tmp: pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd")
    )


def _benchmark_overrides(items: list[str] | None) -> dict[str, str]:
    """``--benchmark NAME=PATH`` options as {name: path}."""
    malformed = [item for item in items or () if "=" not in item or not item.split("=", 1)[0].strip()]
    if malformed:
        raise typer.BadParameter(f"expected NAME=PATH, got {malformed}", param_hint="--benchmark")
    return dict(item.split("=", 1) for item in items or ())


def _source_revision(lineage: dict[str, object]) -> str | None:
    ingest = lineage.get("retool_data.ingest")
    return str(ingest["revision"]) if isinstance(ingest, dict) and ingest.get("revision") else None


def filter_command(
    input: Annotated[Path, typer.Argument(help="Input parquet: problem rows with their rewritten `trace`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Kept rows (parquet).")],
    rejects: Annotated[
        Path | None, typer.Option(help="Rejected rows (default: <output>.rejects.parquet).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Stage summary + config (default: <output>.report.json).")
    ] = None,
    near_dup_threshold: Annotated[
        float, typer.Option(help="MinHash Jaccard for near-duplicates; 0 = exact only.")
    ] = 0.75,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Skip deduplication.")] = False,
    benchmarks: Annotated[
        str, typer.Option(help="Benchmarks to decontaminate against, comma-separated; '' = none.")
    ] = ("aime24,aime25,amc23,math500"),
    benchmarks_dir: Annotated[
        str | None,
        typer.Option(
            help="Local benchmark copies (<dir>/<name>/ or <dir>/<name>.jsonl), or 'hub' for the Hub by id; "
            "default: the pinned snapshots in the package."
        ),
    ] = None,
    benchmark: Annotated[
        list[str] | None,
        typer.Option(help="NAME=PATH (or NAME=hub, NAME=hub:<id>) for one benchmark (repeatable)."),
    ] = None,
    decontam_ngram: Annotated[int, typer.Option(help="Token n-gram size of the decontamination index.")] = 6,
    decontam_containment: Annotated[
        float, typer.Option(help="Share of a benchmark item's n-grams; 0 = off.")
    ] = 0.5,
    decontam_ratio: Annotated[
        float, typer.Option(help="rapidfuzz ratio (0-100) for a fuzzy copy; 0 = off.")
    ] = 95.0,
    decontam_layers: Annotated[
        str, typer.Option(help="Decontamination layers, comma-separated: exact,ngram,fuzzy,semantic.")
    ] = "exact,ngram,fuzzy,semantic",
    decontam_cosine: Annotated[
        float, typer.Option(help="Embedding cosine for a semantic match; 0 = off.")
    ] = 0.75,
    decontam_candidate_tfidf: Annotated[
        float, typer.Option(help="TF-IDF cosine a problem needs before it is embedded (docs/filters.md).")
    ] = 0.55,
    template_policy: Annotated[
        str, typer.Option(help="Template variants of a benchmark item (other numbers): remove | keep.")
    ] = "remove",
    decontam_judge_endpoint: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint that judges borderline pairs (adds the judge layer)."),
    ] = None,
    decontam_judge_model: Annotated[
        str | None, typer.Option(help="Model name for --decontam-judge-endpoint.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(help="validate_trace problem code to tolerate (repeatable), e.g. answer_not_in_tags."),
    ] = None,
    forbid: Annotated[
        list[str] | None,
        typer.Option(help="problem code to reject on although tolerated by default: text_after_answer."),
    ] = None,
    min_code_blocks: Annotated[int, typer.Option(help="Minimum code blocks; 0 = off.")] = 1,
    max_code_blocks: Annotated[int, typer.Option(help="Maximum code blocks; 0 = off.")] = 0,
    min_tokens: Annotated[int, typer.Option(help="Minimum trace tokens; 0 = off.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Maximum trace tokens; 0 = off.")] = 16384,
    tokenizer: Annotated[str, typer.Option(help="'regex' (no download) or 'hf:<path or id>'.")] = "regex",
    no_answer_check: Annotated[
        bool, typer.Option("--no-answer-check", help="Skip final answer vs gold.")
    ] = False,
    no_consistency: Annotated[
        bool, typer.Option("--no-consistency", help="Skip the sandbox execution check.")
    ] = False,
    repair: Annotated[
        bool, typer.Option(help="Write real outputs into mismatched traces instead of dropping them.")
    ] = False,
    sandbox_workers: Annotated[int, typer.Option(help="Sandbox worker processes.")] = 2,
    sandbox_timeout: Annotated[float, typer.Option(help="Seconds per code block.")] = 5.0,
    sandbox_memory_mb: Annotated[int, typer.Option(help="Memory limit per code block.")] = 1024,
    max_output_chars: Annotated[
        int, typer.Option(help="Interpreter output truncation, as in the RL rollout.")
    ] = 400,
    concurrency: Annotated[int, typer.Option(help="Traces checked concurrently.")] = 32,
    min_tool_use_score: Annotated[
        float,
        typer.Option(
            help="Quarantine traces whose tool-use score (useful code blocks / blocks) is below it; 0 = off."
        ),
    ] = 0.0,
) -> None:
    """Filter rewritten traces: kept rows to --output, every dropped row (stage, reason, row) to --rejects."""
    from retool_data.benchmark_sets import load_benchmark_sets
    from retool_data.card import config_hash
    from retool_data.filtering import FilterConfig, run_filters
    from retool_data.stages.filters import DEFAULT_FATAL_CODES
    from retool_data.trace import PROBLEM_CODES

    unknown = sorted((set(allow or ()) | set(forbid or ())) - set(PROBLEM_CODES))
    if unknown:
        raise typer.BadParameter(f"unknown problem codes {unknown}; known: {sorted(PROBLEM_CODES)}")
    names = tuple(n.strip() for n in benchmarks.split(",") if n.strip())
    overrides = _benchmark_overrides(benchmark)
    config = FilterConfig(
        near_dup_threshold=_off(near_dup_threshold),
        benchmarks=names + tuple(n for n in overrides if n not in names),
        decontam_ngram=decontam_ngram,
        decontam_min_containment=_off(decontam_containment),
        decontam_min_ratio=_off(decontam_ratio),
        decontam_layers=tuple(x.strip() for x in decontam_layers.split(",") if x.strip()),
        decontam_min_cosine=_off(decontam_cosine),
        decontam_candidate_tfidf=decontam_candidate_tfidf,
        decontam_template_policy=template_policy,
        fatal_codes=tuple(sorted((set(DEFAULT_FATAL_CODES) | set(forbid or ())) - set(allow or ()))),
        min_code_blocks=_off(min_code_blocks),
        max_code_blocks=_off(max_code_blocks),
        min_tokens=_off(min_tokens),
        max_tokens=_off(max_tokens),
        tokenizer=tokenizer,
        check_answer=not no_answer_check,
        consistency=not no_consistency,
        repair=repair,
        concurrency=concurrency,
        min_tool_use_score=_off(min_tool_use_score),
        sandbox={
            "workers": sandbox_workers,
            "timeout_s": sandbox_timeout,
            "memory_mb": sandbox_memory_mb,
            "max_output_chars": max_output_chars,
        },
    )
    if template_policy not in ("remove", "keep"):
        raise typer.BadParameter("remove or keep", param_hint="--template-policy")
    judge = None
    if decontam_judge_endpoint:
        from retool_data.llm import make_chat_backend

        judge = make_chat_backend("openai", model=decontam_judge_model, endpoint=decontam_judge_endpoint)
    df = read_parquet_input(input, "INPUT")
    bench, answers, provenance = None, None, []
    if config.benchmarks:
        # OSError: the Hub unreachable (``hub``), a folder not readable
        with reported_as_bad_input(
            ["--benchmarks", "--benchmarks-dir", "--benchmark"], (OSError, ValueError)
        ):
            sets = load_benchmark_sets(names, benchmarks_dir, overrides)
        bench = {name: s.problems for name, s in sets.items()}
        answers = {name: [it.answer for it in s.items] for name, s in sets.items()}
        provenance = [s.provenance() for s in sets.values()]
    if config.consistency:
        from sandbox import Sandbox

        with Sandbox(**config.sandbox) as sb:
            kept, quarantine = run_filters(
                df, config, benchmarks=bench, sandbox=sb, dedup_enabled=not no_dedup,
                benchmark_answers=answers, judge=judge,
            )  # fmt: skip
    else:
        kept, quarantine = run_filters(
            df, config, benchmarks=bench, dedup_enabled=not no_dedup, benchmark_answers=answers, judge=judge
        )

    rejects = rejects or _sibling(output, ".rejects.parquet")
    report = report or _sibling(output, ".report.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    upstream = _lineage(input)
    summary = {
        "input": str(input),
        "upstream": upstream,
        "rows_in": df.height,
        "rows_kept": kept.height,
        "rows_rejected": quarantine.rejects.height,
        "config": config.as_dict() | {"dedup": not no_dedup},
        "config_hash": config_hash(config.as_dict() | {"dedup": not no_dedup}),
        "stages": quarantine.summary(),
        "benchmarks": provenance,
    }
    _write_with_lineage(kept, output, {**upstream, "retool_data.filter": summary})
    _write_atomic(rejects, quarantine.rejects.write_parquet)
    _write_atomic(
        report, lambda p: p.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    )
    for s in summary["stages"]:
        reasons = ", ".join(f"{r}={n}" for r, n in sorted(s["reasons"].items())) or "-"
        typer.echo(
            f"{s['stage']:>14}: {s['rows_in']} in, {s['kept']} kept, {s['rejected']} rejected ({reasons})"
        )
    typer.echo(f"kept {kept.height}/{df.height} rows -> {output}; rejects -> {rejects}; report -> {report}")


def export_command(
    input: Annotated[Path, typer.Argument(help="Filtered parquet (the output of `retool-data filter`).")],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Directory for dataset, shards, card, verl.")
    ],
    report: Annotated[
        Path | None, typer.Option(help="Filter report JSON (default: <input>.report.json if present).")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects parquet (default: <input>.rejects.parquet if present).")
    ] = None,
    source_revision: Annotated[
        str | None, typer.Option(help="Source dataset revision for the card (default: from ingest metadata).")
    ] = None,
    rows_per_shard: Annotated[int, typer.Option(help="Rows per parquet shard.")] = 50_000,
    pretty_name: Annotated[str, typer.Option(help="Dataset title in the card.")] = "ReTool cold-start traces",
    license: Annotated[str, typer.Option(help="License identifier in the card metadata.")] = "apache-2.0",
    verl_data_source: Annotated[
        str, typer.Option(help="verl `data_source` (selects verl's reward function).")
    ] = ("lighteval/MATH"),
    tool_protocol: Annotated[
        str,
        typer.Option(
            help="How SFT rows write tool calls: `retool` (<code>/<interpreter> tags in one assistant turn) or "
            "`hermes` (<tool_call> turns, `tool` turns and a `tools` schema column, as verl's ReTool recipe trains).",
        ),
    ] = "retool",
    push_to_hub: Annotated[
        str | None, typer.Option(help="Also upload to this Hub dataset repo (token: HF_TOKEN).")
    ] = None,
    public: Annotated[bool, typer.Option(help="Create the Hub repo public (default private).")] = False,
    hub_endpoint: Annotated[
        str | None,
        typer.Option(help="Hub URL (default: $HF_ENDPOINT or huggingface.co), e.g. a private mirror."),
    ] = None,
) -> None:
    """Export filtered rows: HF dataset (save_to_disk), parquet shards, README.md card and a verl RL parquet."""
    from retool_data.export import export_dataset
    from retool_data.export import push_to_hub as push
    from retool_data.tool_protocol import TOOL_PROTOCOLS

    if tool_protocol not in TOOL_PROTOCOLS:
        raise typer.BadParameter(f"one of {', '.join(TOOL_PROTOCOLS)}", param_hint="--tool-protocol")
    if push_to_hub and not os.environ.get("HF_TOKEN"):
        raise typer.BadParameter(
            "needs HF_TOKEN (a write token for the target namespace)", param_hint="--push-to-hub"
        )
    df = read_parquet_input(input, "INPUT")
    report = report or (_sibling(input, ".report.json") if _sibling(input, ".report.json").exists() else None)
    rejects = rejects or (
        _sibling(input, ".rejects.parquet") if _sibling(input, ".rejects.parquet").exists() else None
    )
    filter_report = read_json_input(report, "--report") if report else {}
    rejected_rows = read_parquet_input(rejects, "--rejects") if rejects else None
    lineage = _lineage(input)
    source_revision = source_revision or _source_revision(lineage)
    with reported_as_bad_input("INPUT", (ValueError, KeyError)):  # e.g. a frame without `problem`/`trace`
        result = export_dataset(
            df,
            output_dir,
            config={"filter": filter_report.get("config"), "input": str(input), "upstream": lineage},
            stage_summary=filter_report.get("stages"),
            rejects=rejected_rows,
            benchmarks=filter_report.get("benchmarks"),
            source_revision=source_revision,
            rows_per_shard=rows_per_shard,
            pretty_name=pretty_name,
            license=license,
            verl_data_source=verl_data_source,
            tool_protocol=tool_protocol,
        )
    typer.echo(
        f"exported {result.rows} rows -> {result.out_dir} ({len(result.shards)} shard(s), config {result.config_hash})"
    )
    if push_to_hub:
        url = push(result.out_dir, push_to_hub, private=not public, endpoint=hub_endpoint)
        typer.echo(f"pushed to {url}")


def register(app: typer.Typer) -> None:
    app.command("filter")(filter_command)
    app.command("export")(export_command)
