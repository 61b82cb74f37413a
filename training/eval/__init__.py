"""Tool-integrated evaluation: k samples per benchmark problem through the shared rollout, scored and reported.

`run` (`run_eval`, the ``retool-data eval run`` entry point), `config` (`EvalConfig`), `backends` (which
generation backend), `store` (the resumable ``samples.jsonl``), `metrics` (avg@k, pass@k, maj@k), `report` and
`compare` (``report.*``, ``compare.*``).
"""

from typing import TYPE_CHECKING

from training._lazy import lazy_exports

if TYPE_CHECKING:
    from training.eval.config import EvalConfig
    from training.eval.run import run_eval

__all__ = ["EvalConfig", "run_eval"]
__getattr__ = lazy_exports(__name__, {"EvalConfig": "config", "run_eval": "run"})
