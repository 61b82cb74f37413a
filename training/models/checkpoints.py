"""Which checkpoint a run resumes from (`resume_from_checkpoint` of the SFT and GRPO configs).

The newest ``checkpoint-*`` is found by transformers' `get_last_checkpoint`; this only reads the setting, whose
'auto' (start fresh when there is none, so re-running a command is safe) transformers' ``True`` does not offer.
"""

from __future__ import annotations

import os
from typing import Any

RESUME_AUTO = "auto"  # resume from the newest checkpoint in output_dir if there is one, else start fresh
RESUME_LAST = ("last", "latest", "true")  # resume from the newest checkpoint in output_dir; error if none


def resolve_resume(value: str | bool | None, output_dir: str) -> str | None:
    """The checkpoint to resume from: 'auto', 'last', a checkpoint path, or unset (None: start fresh)."""
    from transformers.trainer_utils import get_last_checkpoint

    if value is None or str(value).lower() in ("", "none", "false"):
        return None
    last = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
    if str(value).lower() == RESUME_AUTO:
        return last
    if str(value).lower() in RESUME_LAST:
        if last is None:
            raise ValueError(
                f"resume_from_checkpoint={value!r} but {output_dir} holds no checkpoint-*: set it to 'auto' "
                "to start fresh when none exists, or to a checkpoint path."
            )
        return last
    if not os.path.isdir(str(value)):
        raise ValueError(
            f"resume_from_checkpoint={value!r} is not a checkpoint directory; set 'auto' or a path."
        )
    return str(value)


def recipe_dict(args: Any) -> dict[str, Any]:
    """Every field of a `TrainingArguments` subclass as a YAML mapping its `--config` reads back: `to_dict` masks
    all ``*_token`` fields, so the real ones (eos/pad tokens) are restored and secrets like ``hub_token`` left out."""
    out = args.to_dict()
    for key in [k for k in out if k.endswith("_token")]:
        value = getattr(args, key, None)
        if key == "hub_token" or value is None:
            del out[key]
        else:
            out[key] = value
    return out
