"""ReTool RL: TRL's GRPOTrainer with the multi-turn code-interpreter rollout, interpreter tokens masked.

`train` (entry point: ``python -m training.grpo``), `config` (`GRPORunConfig`), `rollout_func` (the
`rollout_func` TRL calls, over the shared rollout in `training.rollout`).
"""

from typing import TYPE_CHECKING

from training._lazy import lazy_exports

if TYPE_CHECKING:
    from training.grpo.config import GRPORunConfig
    from training.grpo.train import run_grpo

__all__ = ["GRPORunConfig", "run_grpo"]
__getattr__ = lazy_exports(__name__, {"GRPORunConfig": "config", "run_grpo": "train"})
