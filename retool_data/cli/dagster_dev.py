"""`dagster dev` as `retool-data ui` runs it: Dagster's own CLI, minus one false warning.

`retool-data ui` keeps the instance in ``<project>/.dagster_home`` with a copy of the project's ``dagster.yaml``
(`pipelines.instance.ensure_dagster_home`). `dagster dev`, started in the project folder, sees a ``dagster.yaml``
there and a DAGSTER_HOME elsewhere and warns that the file "will not be used to configure Dagster", which is not
so: the same settings are in force. The warning is dropped only when DAGSTER_HOME holds an identical copy; with
a DAGSTER_HOME of the user's own and another configuration, it is true and still shown.

    python -m retool_data.cli.dagster_dev dev -m pipelines.definitions ...
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

WARNING_TEXT = "will not be used to configure Dagster"


class SameInstanceYamlFilter(logging.Filter):
    """Drops Dagster's "dagster.yaml in the current folder will not be used" when it is not true."""

    def filter(self, record: logging.LogRecord) -> bool:
        if WARNING_TEXT not in record.getMessage():
            return True
        home = os.environ.get("DAGSTER_HOME")
        here, there = Path.cwd() / "dagster.yaml", Path(home or ".") / "dagster.yaml"
        same = (
            home is not None
            and here.is_file()
            and there.is_file()
            and here.read_bytes() == there.read_bytes()
        )
        return not same


def main() -> int:
    from dagster._cli import main as dagster_main  # the `dagster` console script's entry point

    # a filter on the logger survives `dagster dev`'s logging.config.dictConfig (which replaces handlers only)
    logging.getLogger("dagster").addFilter(SameInstanceYamlFilter())
    sys.argv[0] = "dagster"
    return dagster_main()


if __name__ == "__main__":
    sys.exit(main())
