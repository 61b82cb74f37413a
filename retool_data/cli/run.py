"""`retool-data run`: the main job on the embedded default.

Interim: it ingests the bundled sample and prints what it found. The Dagster pipeline replaces this module's
body later; keep it small.
"""

from __future__ import annotations

import typer


def sample_summary() -> str:
    """Ingest the bundled sample and describe it: counts, quarantine reasons, answers found."""
    from retool_data.answers import extract_answer
    from retool_data.cli.ingest import format_summary
    from retool_data.sources import read_sample

    result = read_sample()
    kept = result.kept
    teacher = [extract_answer(s) or extract_answer(r) for s, r in zip(kept["solution"], kept["reasoning"], strict=True)]
    by_source = kept.group_by("source").len().sort(["len", "source"], descending=[True, False])
    lines = [
        format_summary(result),
        "kept rows by upstream source: " + ", ".join(f"{s} {n}" for s, n in by_source.iter_rows()),
        f"teacher \\boxed{{}} answer found: {sum(a is not None for a in teacher)} of {kept.height}",
        f"gold answer found: {kept['gold_answer'].is_not_null().sum()} of {kept.height}",
    ]
    return "\n".join(lines)


def run() -> None:
    """Run the main job on the bundled sample (for now: ingest it and print what was found)."""
    typer.echo(sample_summary())


def register(app: typer.Typer) -> None:
    app.command("run")(run)
