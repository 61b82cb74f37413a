"""Offline stand-ins for real checkpoints: a byte-level BPE ChatML tokenizer trained in-process, and a tiny
random-init Qwen2 causal LM. Used by tests and CPU benchmarks (no Hub access needed); not for real training.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

_DEFAULT_CORPUS = [
    (
        "Let me compute this step by step.\n<code>\n```python\nprint(12 * 7)\n```\n</code>\n<interpreter>\n84\n"
        "</interpreter>\nSo the answer is <answer>\\boxed{84}</answer>"
    ),
    "def f(x):\n    return x ** 2 + 3 * x - 1\nfor i in range(10):\n    print(i, f(i))",
    "The sum of the first n integers is n(n+1)/2, and we verify it numerically.",
    "import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve(x**2 - 4, x))",
    "Traceback (most recent call last): ZeroDivisionError: division by zero",
]


def tiny_chatml_tokenizer(corpus: Iterable[str] = (), vocab_size: int = 512) -> Any:
    """A `PreTrainedTokenizerFast` (byte-level BPE, GPT-2 style pre-tokenizer) with a ChatML chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator([*_DEFAULT_CORPUS, *corpus], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        unk_token=None,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def tiny_qwen2(
    vocab_size: int, hidden_size: int = 64, layers: int = 2, seed: int = 0, **overrides: Any
) -> Any:
    """A random-init `Qwen2ForCausalLM` with a few small layers (float32)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        **overrides,
    )
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config)


def save_tiny_checkpoint(
    path: str, corpus: Iterable[str] = (), hidden_size: int = 64, layers: int = 2
) -> str:
    """Write a tiny tokenizer + model to `path` (loadable by `from_pretrained`) and return the path."""
    tokenizer = tiny_chatml_tokenizer(corpus)
    model = tiny_qwen2(len(tokenizer), hidden_size=hidden_size, layers=layers)
    model.config.eos_token_id = tokenizer.eos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
