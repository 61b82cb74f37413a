"""The commands that run a recipe (`retool-data train sft|grpo|itool`, `retool-data eval run`): their arguments go to
the stage's TRL-style parser, after checks that turn every mistake a user can make on the command line into a
one-line usage error (exit 2, no traceback), and a `--help` that fits on a screen.

* no ``--config``; a recipe file that does not exist, is not YAML, or names an input path that does not exist
  (relative paths in a recipe are read from its folder: `retool_data.recipe_paths`); an input path on the command
  line that does not exist; a field value the config rejects (its ``__post_init__`` says what to set instead);
  an unknown field: all usage errors.
* ``--help``: the recipe's own fields (those this project declares) with one line each; the inherited fields of
  TRL's ``SFTConfig``/``GRPOConfig`` (i.e. ``transformers.TrainingArguments``) summarized, with a pointer to TRL's
  documentation. ``--help-all`` prints the parser's full list.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import textwrap
from collections.abc import Callable
from typing import Any

import typer

try:  # typer >= 0.17 carries its own copy of click; its exceptions are the ones it reports as usage errors
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer on the click package
    from click.exceptions import UsageError

from retool_data.cli.bad_input import require_config_file
from retool_data.recipe_paths import RecipeError, config_path, resolve_recipe_argv

OWN_MODULES = ("training.", "retool_data.")
# inherited TrainingArguments/TRL fields worth naming in the short help (only those the config really has)
COMMON_INHERITED = ("output_dir", "max_steps", "num_train_epochs", "learning_rate", "per_device_train_batch_size",
                    "gradient_accumulation_steps", "bf16", "activation_checkpointing", "save_strategy", "logging_steps",
                    "report_to", "seed", "max_length", "num_generations", "max_completion_length", "loss_type", "beta")  # fmt: skip
GROUP_ABOVE = 30  # more own fields than this: fields sharing a prefix (mcts_, sandbox_...) share a line


def own_fields(config_cls: type) -> list[dataclasses.Field]:
    """The fields this project declares (in the config class or its project mixins), in declaration order."""
    own: set[str] = set()
    for cls in config_cls.__mro__:
        if cls.__module__.startswith(OWN_MODULES):
            own.update(cls.__dict__.get("__annotations__", {}))
    return [f for f in dataclasses.fields(config_cls) if f.name in own]


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return "" if f.default is None else f" [{f.default}]"
    return ""


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.\s", text)  # "(e.g. x)" does not end a sentence
    return text if end is None else text[: end.start() + 1]


def short_help(
    config_cls: type, prog: str, example: str, docs_url: str | None, width: int | None = None
) -> str:
    width = width or min(shutil.get_terminal_size((100, 40)).columns, 120)
    lines = [
        f"Usage: {prog} --config RECIPE.yaml [--field value ...]",
        f"  e.g. {prog} --config {example}",
        "",
    ]
    lines += ["Options (in the recipe as `field: value`, or on the command line, which wins):"]
    lines.append("  --config PATH  the recipe YAML; its relative paths are read from its folder")
    fields = own_fields(config_cls)
    groups: dict[str, list[dataclasses.Field]] = {}
    for f in fields:
        prefix = f.name.split("_", 1)[0] if len(fields) > GROUP_ABOVE and "_" in f.name else f.name
        groups.setdefault(prefix, []).append(f)
    for members in groups.values():
        if len(members) >= 3:
            names = " ".join(f"--{m.name}" for m in members)  # full names: each one greppable
            lines += textwrap.wrap(names, width, initial_indent="  ", subsequent_indent="    ")
            continue
        for f in members:
            entry = f"--{f.name}{_default(f)}  {_first_sentence(f.metadata.get('help', ''))}"
            lines.append("  " + textwrap.shorten(entry, width - 2, placeholder="..."))
    names = {f.name for f in dataclasses.fields(config_cls)}
    inherited = [n for n in COMMON_INHERITED if n in names and n not in {f.name for f in fields}]
    if docs_url:
        base = next(c for c in config_cls.__mro__[1:] if not c.__module__.startswith(OWN_MODULES))
        text = (
            f"Also every field of {base.__module__.split('.')[0]}'s {base.__name__} (transformers' TrainingArguments): "
            f"{', '.join('--' + n for n in inherited)}, ... See {docs_url}"
        )
        lines += [""] + textwrap.wrap(text, width)
    lines += ["", "--help-all lists every field with its full help."]
    return "\n".join(lines)


def run_recipe(
    args: list[str],
    *,
    prog: str,
    config_cls: type,
    parse_config: Callable[[list[str], str], Any],
    run: Callable[[Any], Any],
    example: str,
    docs_url: str | None = None,
) -> None:
    if "--help-all" in args:
        parse_config(["--help"], prog)  # the parser's own help; exits
        return
    if "--help" in args or "-h" in args:
        typer.echo(short_help(config_cls, prog, example, docs_url))
        raise typer.Exit(0)
    if config_path(args) is None:
        raise UsageError(f"Missing option '--config': a recipe YAML, e.g. --config {example}")
    require_config_file(args)
    try:
        resolve_recipe_argv(args, check_inputs=True)  # checks only: parse_config resolves again, the same way
        config = parse_config(args, prog)
    except RecipeError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except ValueError as exc:  # the config's own checks ("Set ... instead") and fields TRL does not know
        raise typer.BadParameter(" ".join(str(exc).split())) from exc
    run(config)
