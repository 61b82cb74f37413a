"""`retool-data eval ...`: evaluate a policy on AIME/AMC with the code interpreter, rebuild reports, compare runs.

retool-data eval run --config configs/eval_cpu_smoke.yaml [--field value ...]
retool-data eval report RUN_DIR
retool-data eval compare RUN_A RUN_B -o OUT_DIR
retool-data eval bfcl --config configs/eval_cpu_smoke.yaml --bfcl_per_category 2 [--field value ...]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from retool_data.cli.bad_input import reported_as_bad_input, require_config_file
from retool_data.cli.recipe_cli import run_recipe
from retool_data.recipe_paths import RecipeError, resolve_recipe_argv

eval_app = typer.Typer(
    help="Tool-integrated evaluation: avg@k, pass@k, maj@k and ReTool's behaviour metrics (docs/evaluation.md).",
    no_args_is_help=True,
)


@eval_app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # --help is the config's own short help (run_recipe)
)
def run(ctx: typer.Context) -> None:
    """Sample each problem k times through the rollout loop, score, report; re-run to resume. --help: options."""
    import logging

    from training.eval.config import EvalConfig
    from training.eval.run import parse_config, run_eval

    def evaluate(config: EvalConfig) -> None:
        from training.eval.report import summary_line

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        result = run_eval(config)
        typer.echo(summary_line(result.report, generated=result.generated, output_dir=result.output_dir))

    run_recipe(list(ctx.args), prog="retool-data eval run", config_cls=EvalConfig, parse_config=parse_config,
               run=evaluate, example="configs/eval_cpu_smoke.yaml")  # fmt: skip


@eval_app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(help="An evaluation run directory (has eval_config.json).")],
) -> None:
    """Rebuild report.json, report.md, problems.jsonl and plots/ from the run's samples.jsonl."""
    from training.eval.report import report_from_run

    with reported_as_bad_input("RUN_DIR", (FileNotFoundError,)):  # not a run directory
        result, files = report_from_run(run_dir)
    summary = {"complete": result["complete"], "samples": result["samples"]}
    typer.echo(json.dumps({**summary, "files": {k: str(v) for k, v in files.items()}}))


@eval_app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="Run A (e.g. the SFT model, or text only).")],
    run_b: Annotated[Path, typer.Argument(help="Run B (e.g. the RL model, or with tools).")],
    output_dir: Annotated[
        Path, typer.Option("-o", "--output", help="Where compare.json, compare.md, plots/ go.")
    ],
    label_a: Annotated[
        str | None, typer.Option(help="Name of run A in the report (default: its label).")
    ] = None,
    label_b: Annotated[
        str | None, typer.Option(help="Name of run B in the report (default: its label).")
    ] = None,
) -> None:
    """Compare two runs: every accuracy and behaviour metric per benchmark, B - A, with plots."""
    from training.eval.compare import compare_runs, compare_summary

    with reported_as_bad_input(["RUN_A", "RUN_B"], (FileNotFoundError,)):  # not a run directory
        cmp, files = compare_runs(run_a, run_b, output_dir, labels=(label_a, label_b))
    typer.echo(compare_summary(cmp))
    typer.echo(json.dumps({k: str(v) for k, v in files.items()}))


@eval_app.command(
    "bfcl",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,  # --help goes to the config parser (EvalConfig fields + bfcl_*)
)
def bfcl(ctx: typer.Context) -> None:
    """Function calling on BFCL with bfcl-eval's own checker, through the same backends. --help: options."""
    require_config_file(ctx.args)
    from training.itool.bfcl import bfcl_cli

    with reported_as_bad_input("--config", (RecipeError,)):
        argv = resolve_recipe_argv(list(ctx.args))  # relative paths in the recipe: from its folder
    bfcl_cli(argv, prog="retool-data eval bfcl")


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
