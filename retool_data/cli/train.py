"""`retool-data train <stage> --config recipe.yaml [--field value ...]`: the training entry points.

Each stage is a module with `cli(argv, prog)` that parses its own TRL-style config (TrlParser: YAML `--config` plus
command-line overrides of any config field), so this group only forwards the arguments. `--help` on a stage prints
every field of that stage's config. Adding a stage (GRPO, iTool) is one entry in TRAIN_STAGES.
"""

from __future__ import annotations

import importlib

import typer

from retool_data.cli.bad_input import require_config_file

# stage name -> (module exposing `cli(argv: list[str], prog: str)`, one-line help)
TRAIN_STAGES: dict[str, tuple[str, str]] = {
    "sft": (
        "training.sft.train",
        "Cold-start SFT with TRL, interpreter output masked from the loss (config: training.sft.config.SFTRunConfig).",
    ),
    "grpo": (
        "training.grpo.train",
        "ReTool RL: GRPO with the multi-turn code-interpreter rollout, interpreter tokens masked "
        "(config: training.grpo.config.GRPORunConfig).",
    ),
    "itool": (
        "training.itool.run",
        "iTool rounds: deficiency mining, step-level MCTS, fragment preference pairs, DPO/SimPO with the "
        "interpreter masked, held-out evaluation (config: training.itool.config.IToolRunConfig).",
    ),
    "verl": (
        "training.verl.launch",
        "PPO or GRPO at scale through verl (multi-turn tool agent loop, our sandbox): writes verl's config from "
        "the recipe and prints the launch command, or runs it with --run (config: training.verl.config.VerlRecipe).",
    ),
}

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _stage_command(stage: str, module: str):
    def command(ctx: typer.Context) -> None:
        require_config_file(ctx.args)
        importlib.import_module(module).cli(list(ctx.args), prog=f"retool-data train {stage}")

    return command


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(
        help="Train on the cold-start data: `retool-data train STAGE --config configs/STAGE_*.yaml [--field value]`.",
        no_args_is_help=True,
    )
    for stage, (module, help_text) in TRAIN_STAGES.items():
        train_app.command(
            stage,
            help=f"{help_text} Run with --help for every option.",
            context_settings=_PASSTHROUGH,
            add_help_option=False,  # --help goes to the stage's own parser, which lists every config field
        )(_stage_command(stage, module))
    app.add_typer(train_app, name="train")
