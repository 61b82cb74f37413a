"""A policy as a base model plus a chain of LoRA adapters (one per training round), so every round's artifact is a
small adapter and any round's policy can be rebuilt: load the base, then merge each adapter in order.

`PolicyRef` is JSON-safe (it is what round reports and the Dagster partitions pass along); `load_policy` loads
it for training or the transformers backend; `merge_policy` writes a plain checkpoint (for vLLM, which serves a
directory, or to start a new chain).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PolicyRef:
    base: str  # Hub id, directory, .gguf or pkg:<package>/<file>.gguf (see training.models.loading)
    adapters: tuple[str, ...] = field(default_factory=tuple)  # LoRA adapter directories, merged in order

    def then(self, adapter_or_model: str, *, is_adapter: bool) -> PolicyRef:
        """The policy after one more round: its adapter appended, or a fully trained model replacing the chain."""
        if is_adapter:
            return PolicyRef(self.base, (*self.adapters, str(adapter_or_model)))
        return PolicyRef(str(adapter_or_model))

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "adapters": list(self.adapters)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyRef:
        return cls(str(data["base"]), tuple(str(a) for a in data.get("adapters", ())))


_GGUF_BASES: dict[tuple[str, str], Any] = {}


def _load_base(base: str, **init_kwargs: Any) -> Any:
    """``load_causal_lm``; a GGUF base is dequantized once per process and copied after that (dequantizing
    SmolLM2-135M takes ~20 s on a loaded CPU; a round loads its policy three times)."""
    import copy

    from training.models.loading import load_causal_lm, pretrained_source

    source, extra = pretrained_source(base)
    if "gguf_file" not in extra:
        return load_causal_lm(base, **init_kwargs)
    key = (str(source) + "/" + extra["gguf_file"], repr(sorted(init_kwargs.items())))
    if key not in _GGUF_BASES:
        _GGUF_BASES[key] = load_causal_lm(base, **init_kwargs)
    return copy.deepcopy(_GGUF_BASES[key])


def load_policy(ref: PolicyRef, **init_kwargs: Any) -> Any:
    """The policy as one plain causal LM: the base with every adapter merged into its weights, in order."""
    model = _load_base(ref.base, **init_kwargs)
    for adapter in ref.adapters:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model


def merge_policy(ref: PolicyRef, out_dir: str | Path, tokenizer: Any = None) -> Path:
    """Save the merged policy as a plain checkpoint directory (what vLLM loads); the tokenizer too if given."""
    out = Path(out_dir)
    model = load_policy(ref)
    model.save_pretrained(out)
    if tokenizer is not None:
        tokenizer.save_pretrained(out)
    return out


__all__ = ["PolicyRef", "load_policy", "merge_policy"]
