"""`retool-data eval ...`: evaluate a policy on AIME/AMC with the code interpreter, rebuild reports, compare runs.

    retool-data eval run --config configs/eval_cpu_smoke.yaml [--field value ...]
    retool-data eval report RUN_DIR
    retool-data eval compare RUN_A RUN_B -o OUT_DIR
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

eval_app = typer.Typer(
    help="Tool-integrated evaluation: avg@k, pass@k, maj@k and ReTool's behaviour metrics (docs/evaluation.md).",
    no_args_is_help=True,
)


@eval_app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # --help goes to the config parser, which lists every EvalConfig field
)
def run(ctx: typer.Context) -> None:
    """Sample each problem k times through the rollout loop, score, report; re-run to resume. --help: options."""
    import logging

    from training.eval import cli

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cli(list(ctx.args), prog="retool-data eval run")


@eval_app.command("report")
def report(run_dir: Path = typer.Argument(..., help="An evaluation run directory (has eval_config.json).")) -> None:
    """Rebuild report.json, report.md, problems.jsonl and plots/ from the run's samples.jsonl."""
    from training.eval_report import report_from_run

    result, files = report_from_run(run_dir)
    typer.echo(json.dumps({"complete": result["complete"], "samples": result["samples"],
                           "files": {k: str(v) for k, v in files.items()}}))  # fmt: skip


@eval_app.command("compare")
def compare(
    run_a: Path = typer.Argument(..., help="Run A (e.g. the SFT model, or text only)."),
    run_b: Path = typer.Argument(..., help="Run B (e.g. the RL model, or with tools)."),
    output_dir: Path = typer.Option(..., "-o", "--output", help="Where compare.json, compare.md and plots/ go."),
    label_a: str | None = typer.Option(None, help="Name of run A in the report (default: its label)."),
    label_b: str | None = typer.Option(None, help="Name of run B in the report (default: its label)."),
) -> None:
    """Compare two runs: every accuracy and behaviour metric per benchmark, B - A, with plots."""
    from training.eval_compare import compare_runs, compare_summary

    labels = (label_a, label_b) if label_a and label_b else None
    cmp, files = compare_runs(run_a, run_b, output_dir, labels=labels)
    typer.echo(compare_summary(cmp))
    typer.echo(json.dumps({k: str(v) for k, v in files.items()}))


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
