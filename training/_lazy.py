"""Lazy re-exports for the subpackages' front doors (PEP 562 module ``__getattr__``).

`from training.sft import run_sft` stays short, while importing a light submodule (`training.sft.tokenization`,
used by iTool) does not pay for the heavy one beside it (`training.sft.config` imports TRL, hence torch: ~5 s).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for `package` that imports each name of `exports` from ``package.<submodule>``
    on first access."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__
