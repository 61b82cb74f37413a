"""`retool-data train verl --algorithm ppo|grpo --config configs/verl_*.yaml`: verl's config from our recipe.

Writes into ``--out`` (default ``outputs/verl``):

* ``tool_config.yaml`` - verl's SandboxFusionTool pointed at ``retool-data sandbox serve`` (`tool_config`);
* ``<algorithm>.overrides`` - the Hydra overrides of verl's ``ppo_trainer`` config, one per line (`config`);
* ``<algorithm>.sh`` - the launch command, ``python3 -m verl.trainer.main_ppo`` with those overrides (through
  ``ray job submit`` when ``--ray-address`` names a cluster),

prints the command, and runs it with ``--run`` (verl needs GPUs, vLLM and a Ray cluster: docs/training.md). Any
further ``key=value`` argument is one more Hydra override, appended last.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from training.verl.config import ALGORITHMS, VerlRecipe, hydra_overrides
from training.verl.tool_config import ToolSettings, write_tool_config

VERL_ENTRY = ["python3", "-m", "verl.trainer.main_ppo"]


@dataclass
class VerlLaunch:
    command: list[str]
    overrides: list[str]
    tool_config: Path
    script: Path
    returncode: int | None = None  # set when the command ran (--run)


def _shell(part: str) -> str:
    # Hydra list values hold single quotes: double-quote those (readable) when nothing in them expands
    if "'" in part and not any(c in part for c in '"$`\\!'):
        return f'"{part}"'
    return shlex.quote(part)


def format_command(command: list[str], overrides: list[str]) -> str:
    """The command as a shell line per override (the head, e.g. ``python3 -m verl.trainer.main_ppo``, on one)."""
    head = command[: len(command) - len(overrides)]
    return " \\\n    ".join([" ".join(_shell(p) for p in head), *(_shell(o) for o in overrides)])


def launch_command(overrides: list[str], ray_address: str | None = None) -> list[str]:
    if ray_address:
        return ["ray", "job", "submit", f"--address={ray_address}", "--", *VERL_ENTRY, *overrides]
    return [*VERL_ENTRY, *overrides]


def prepare(
    recipe: VerlRecipe,
    algorithm: str,
    out_dir: str | Path,
    *,
    extra_overrides: list[str] | None = None,
    ray_address: str | None = None,
) -> VerlLaunch:
    """Write the tool config, the overrides and the launch script for ``algorithm``; run nothing."""
    out = Path(out_dir)
    tool_path = write_tool_config(
        out / "tool_config.yaml",
        ToolSettings(
            sandbox_url=recipe.sandbox_url,
            num_workers=recipe.sandbox_workers,
            rate_limit=recipe.sandbox_rate_limit,
            timeout_s=recipe.sandbox_timeout_s,
            memory_limit_mb=recipe.sandbox_memory_mb,
        ),
    )
    # verl reads the tool config on its workers: an absolute path, like the recipe's data paths
    overrides = hydra_overrides(recipe, algorithm, tool_path.resolve()) + list(extra_overrides or [])
    (out / f"{algorithm}.overrides").write_text("\n".join(overrides) + "\n", encoding="utf-8")
    command = launch_command(overrides, ray_address)
    script = out / f"{algorithm}.sh"
    body = format_command(command, overrides)
    script.write_text(
        f'#!/usr/bin/env bash\n# written by retool-data train verl\nset -euo pipefail\n{body} "$@"\n'
    )
    script.chmod(0o755)
    return VerlLaunch(command, overrides, tool_path, script)


def parse_args(argv: list[str], prog: str | None = None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Write verl's PPO/GRPO config from a recipe (configs/verl_*.yaml), print the launch command, "
        "and run it with --run. Extra key=value arguments are appended as Hydra overrides.",
    )
    parser.add_argument("--algorithm", choices=ALGORITHMS, required=True, help="ppo (GAE + critic) or grpo")
    parser.add_argument(
        "--config", required=True, help="recipe YAML (fields: training.verl.config.VerlRecipe)"
    )
    parser.add_argument(
        "--out", default="outputs/verl", help="where tool_config.yaml, the overrides and the script go"
    )
    parser.add_argument(
        "--ray-address", default=None, help="submit to this Ray cluster with `ray job submit`"
    )
    parser.add_argument("--run", action="store_true", help="run the command (needs verl, vLLM and GPUs)")
    args, extra = parser.parse_known_args(argv)
    bad = [a for a in extra if "=" not in a or a.startswith("-")]
    if bad:
        parser.error(f"unrecognized arguments {bad} (Hydra overrides are key=value)")
    return args, extra


def cli(argv: list[str] | None = None, prog: str | None = None) -> VerlLaunch:
    args, extra = parse_args(argv if argv is not None else sys.argv[1:], prog)
    recipe = VerlRecipe.from_yaml(args.config)
    launch = prepare(recipe, args.algorithm, args.out, extra_overrides=extra, ray_address=args.ray_address)
    print(f"# tool config: {launch.tool_config}\n# launch script: {launch.script}")
    print(format_command(launch.command, launch.overrides))
    if args.run:
        # this interpreter runs verl locally (the script says python3: the cluster's own environment)
        command = [sys.executable, *launch.command[1:]] if launch.command[0] == "python3" else launch.command
        launch.returncode = subprocess.run(command, check=False).returncode
        if launch.returncode:
            raise SystemExit(launch.returncode)
    return launch


if __name__ == "__main__":
    cli()
