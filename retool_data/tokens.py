"""Token counting for length limits, with a cheap default that needs no download.

``"regex"`` (the default) counts each run of letters, each digit and each other symbol as one token: a
tokenizer-free estimate that runs anywhere. Digits count singly because the tokenizers of the models this recipe
trains (Qwen2.5) split numbers into digits; BPE also splits long or rare words, so the estimate usually
*under*-counts prose: set limits with a margin, or pass ``"hf:<path or Hub id>"`` (a `transformers` tokenizer,
loaded once, offline when the path is local) or any callable ``str -> int`` for exact counts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

TokenCounter = Callable[[str], int]
_APPROX_TOKEN_RE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")


def count_regex_tokens(text: str) -> int:
    return len(_APPROX_TOKEN_RE.findall(text))


@lru_cache(maxsize=4)
def _hf_counter(name_or_path: str) -> TokenCounter:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return count


def make_token_counter(spec: str | TokenCounter | None) -> TokenCounter:
    """``None``/``"regex"`` -> the regex estimate; ``"hf:NAME"`` -> a transformers tokenizer; a callable as is."""
    if spec is None or spec == "regex":
        return count_regex_tokens
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec.startswith("hf:"):
        return _hf_counter(spec[3:])
    raise ValueError(f"unknown tokenizer {spec!r}: use 'regex', 'hf:<path or id>' or a callable")
