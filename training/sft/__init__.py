"""Cold-start SFT with TRL on ReTool traces, interpreter output masked from the loss.

`train` (entry point: ``python -m training.sft``), `config` (`SFTRunConfig`), `tokenization` (trace -> token ids
+ loss mask), `data` (the exported dataset -> SFT rows), `curriculum` (easy-to-hard order for iTool's warm-up).
"""

from typing import TYPE_CHECKING

from training._lazy import lazy_exports

if TYPE_CHECKING:
    from training.sft.config import SFTRunConfig
    from training.sft.tokenization import tokenize_trace
    from training.sft.train import run_sft

__all__ = ["SFTRunConfig", "run_sft", "tokenize_trace"]
__getattr__ = lazy_exports(
    __name__, {"SFTRunConfig": "config", "run_sft": "train", "tokenize_trace": "tokenization"}
)
