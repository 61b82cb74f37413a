"""Where Dagster keeps its state: a project-local DAGSTER_HOME that users never have to set up.

`retool-data run` and `retool-data ui` call `ensure_dagster_home()` first. When DAGSTER_HOME is set, it is
used as is (a deployment owns its instance). Otherwise the instance lives in ``<project>/.dagster_home``
(git-ignored), and the project's ``dagster.yaml`` (the repo root's) is copied there whenever it changed, so
the run queue, pools and SQLite settings of the checkout are the ones in force.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

INSTANCE_YAML = "dagster.yaml"
LOCAL_HOME = ".dagster_home"


def project_dir() -> Path:
    """The folder holding the project's ``dagster.yaml``: the working directory when it has one, else the
    checkout this package was imported from, else the working directory (Dagster's defaults then apply)."""
    cwd = Path.cwd()
    if (cwd / INSTANCE_YAML).is_file():
        return cwd
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / INSTANCE_YAML).is_file():
        return checkout
    return cwd


def ensure_dagster_home(project: Path | None = None) -> Path:
    """Return DAGSTER_HOME, creating ``<project>/.dagster_home`` with the project's dagster.yaml if unset."""
    configured = os.environ.get("DAGSTER_HOME")
    if configured:
        home = Path(configured).expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home
    project = project or project_dir()
    home = (project / LOCAL_HOME).resolve()
    install_instance_yaml(home, project / INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def install_instance_yaml(home: Path, source: Path) -> None:
    """Copy ``source`` to ``home/dagster.yaml`` when missing or different (a copy, not a link: a link
    would break when the checkout moves, and Windows users would need privileges to create it)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / INSTANCE_YAML
    if not source.is_file():
        return
    if target.is_file() and target.read_bytes() == source.read_bytes():
        return
    tmp = target.with_name(f".{INSTANCE_YAML}.tmp-{os.getpid()}")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
