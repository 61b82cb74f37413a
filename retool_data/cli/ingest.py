"""`retool-data ingest`: read a source into PROBLEM_SCHEMA rows, report what was kept and quarantined."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from retool_data.schema import StageResult

PARQUET_STATS_KEY = b"retool_data.ingest"  # the reader's stats (dataset, revision, counts) in the file's metadata


def format_summary(result: StageResult) -> str:
    """Counts kept/rejected by reason, and where the rows came from."""
    s = result.stats
    where = s.get("dataset", "?")
    details = [f"{k} {s[k]}" for k in ("config", "split") if s.get(k)]
    if s.get("reader") in ("openthoughts", "openthoughts3"):
        details.append(f"revision {s.get('revision') or 'unpinned (latest)'}")
        details.append("streaming" if s.get("streaming") else "downloaded")
    lines = [
        f"source: {s.get('reader', '?')} ({where}{', ' if details else ''}{', '.join(details)})",
        f"rows read: {s['rows_in']}  kept: {s['kept']}  rejected: {s['rejected']}"
        + (f"  ({s['problems']} problems)" if s.get("problems", s["kept"]) != s["kept"] else ""),
    ]
    width = max((len(r) for r in s["reject_counts"]), default=0)
    lines += [f"  {reason:<{width}}  {count}" for reason, count in s["reject_counts"].items()]
    return "\n".join(lines)


def write_parquet(df, path: Path, stats: dict | None = None) -> None:
    """Write atomically (temp file + rename), so an interrupted run never leaves a half-written file."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = df.to_arrow()
    if stats is not None:
        meta = dict(table.schema.metadata or {})
        meta[PARQUET_STATS_KEY] = json.dumps(stats, default=str).encode()
        table = table.replace_schema_metadata(meta)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)


def ingest(
    source: Annotated[
        str, typer.Argument(help="sample | openthoughts | openthoughts3 | a local .jsonl/.parquet file or folder")
    ] = "sample",
    limit: Annotated[int | None, typer.Option(min=0, help="Stop after this many kept rows.")] = None,
    split: Annotated[str, typer.Option(help="Hub sources: the split to read.")] = "train",
    streaming: Annotated[
        bool, typer.Option("--streaming/--no-streaming", help="Hub sources: stream instead of downloading.")
    ] = True,
    revision: Annotated[
        str | None, typer.Option(help="Hub sources: commit sha or tag to pin (recorded for lineage).")
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option(help="Keep rows of this domain (repeatable). Default: math.")
    ] = None,
    all_domains: Annotated[bool, typer.Option("--all-domains", help="Keep every domain.")] = False,
    max_responses: Annotated[
        int | None,
        typer.Option(min=1, help="Teacher responses kept per problem (default: all; the rest: excess_response)."),
    ] = None,
    hub_path: Annotated[
        str | None, typer.Option(help="Hub sources: read this Hub id or local copy in the Hub layout instead.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write kept rows to this parquet file.")] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Write quarantined rows here (default: <output>.rejects.parquet).")
    ] = None,
) -> None:
    """Read a source into the problem schema; print counts kept and rejected by reason."""
    from retool_data.sources import load_source

    options: dict = {
        "limit": limit,
        "domains": None if all_domains else (domain or ["math"]),
        "max_responses": max_responses,
    }
    if source in ("openthoughts", "openthoughts3"):
        options.update(split=split, streaming=streaming, revision=revision)
        if hub_path:
            options["path"] = hub_path
    elif revision or hub_path or split != "train" or not streaming:
        raise typer.BadParameter("--split/--no-streaming/--revision/--hub-path apply to openthoughts sources only")
    try:
        result = load_source(source, **options)
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from exc
    typer.echo(format_summary(result))
    if output is not None:
        rejects = rejects or output.with_name(f"{output.stem}.rejects.parquet")
        write_parquet(result.kept, output, result.stats)
        write_parquet(result.rejected, rejects, result.stats)
        typer.echo(f"wrote {output} ({result.kept.height} rows) and {rejects} ({result.rejected.height} rows)")
    elif rejects is not None:
        write_parquet(result.rejected, rejects, result.stats)
        typer.echo(f"wrote {rejects} ({result.rejected.height} rows)")


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
