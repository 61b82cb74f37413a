"""`retool-data train <stage> --config recipe.yaml [--field value ...]`: the training entry points.

Each stage is a module with `parse_config(argv, prog)` (its TRL-style config: YAML `--config` plus command-line
overrides of any field) and `main(config)`; `recipe_cli.run_recipe` checks the arguments first, so a mistake is a
one-line usage error. `--help` on a stage prints the recipe's own fields (one screen), `--help-all` every field.
Adding a stage is one entry in TRAIN_STAGES.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import typer

from retool_data.cli.bad_input import require_config_file
from retool_data.cli.recipe_cli import run_recipe


class TrainStage(NamedTuple):
    module: str  # exposes parse_config(argv, prog) and main(config); a passthrough stage: cli(argv, prog)
    help: str
    config: str | None = None  # module:Class of its TRL-style config (None: the module parses its own args)
    example: str | None = None  # the CPU recipe
    docs_url: str | None = None  # the TRL config it extends (its inherited fields)


TRAIN_STAGES: dict[str, TrainStage] = {
    "sft": TrainStage(
        "training.sft.train",
        "Cold-start SFT with TRL, interpreter output masked from the loss.",
        config="training.sft.config:SFTRunConfig",
        example="configs/sft_cpu_smoke.yaml",
        docs_url="https://huggingface.co/docs/trl/sft_trainer#trl.SFTConfig",
    ),
    "grpo": TrainStage(
        "training.grpo.train",
        "ReTool RL: GRPO with the multi-turn code-interpreter rollout, interpreter tokens masked.",
        config="training.grpo.config:GRPORunConfig",
        example="configs/grpo_cpu_smoke.yaml",
        docs_url="https://huggingface.co/docs/trl/grpo_trainer#trl.GRPOConfig",
    ),
    "itool": TrainStage(
        "training.itool.run",
        "iTool rounds: deficiency mining, step-level MCTS, fragment preference pairs, DPO/SimPO with the "
        "interpreter masked, held-out evaluation.",
        config="training.itool.config:IToolRunConfig",
        example="configs/itool_cpu_smoke.yaml",
    ),
    "verl": TrainStage(
        "training.verl.launch",
        "PPO or GRPO at scale through verl (multi-turn tool agent loop, our sandbox): writes verl's config from "
        "the recipe and prints the launch command, or runs it with --run (config: training.verl.config.VerlRecipe).",
    ),
}

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def load_config_class(spec: str) -> type:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _stage_command(stage: str, spec: TrainStage):
    def command(ctx: typer.Context) -> None:
        module = importlib.import_module(spec.module)
        prog = f"retool-data train {stage}"
        if spec.config is None:  # its own argparse parser: usage errors and --help are its own
            require_config_file(ctx.args)
            module.cli(list(ctx.args), prog=prog)
            return
        run_recipe(
            list(ctx.args),
            prog=prog,
            config_cls=load_config_class(spec.config),
            parse_config=module.parse_config,
            run=module.main,
            example=spec.example or "RECIPE.yaml",
            docs_url=spec.docs_url,
        )

    return command


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(
        help="Train on the cold-start data: `retool-data train STAGE --config configs/STAGE_*.yaml [--field value]`.",
        no_args_is_help=True,
    )
    for stage, spec in TRAIN_STAGES.items():
        train_app.command(
            stage,
            help=f"{spec.help} Run with --help for its options.",
            context_settings=_PASSTHROUGH,
            add_help_option=False,  # --help is the recipe's own short help (run_recipe)
        )(_stage_command(stage, spec))
    app.add_typer(train_app, name="train")
