"""In-process stand-ins for the GRPO tests: a Qwen2-style byte-level BPE tokenizer trained here (no Hub), a tiny
random-init Qwen2, and `ScriptedQwen2`, the fake at the generation edge: a real Qwen2 whose ``generate`` follows
a script (one list of model turns per rollout), while every training forward is the real random model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

# Qwen2's pre-tokenizer split: punctuation runs keep their trailing newlines, so ">\n" can be one token and a
# stop string can end inside a token (the case the rollout's stop rule handles).
QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
ASSISTANT_HEADER = "<|im_start|>assistant\n"
_CORPUS = [
    "Let me compute it.\n<code>\n```python\nprint(12 * 7)\n```\n</code>\n<interpreter>\n84\n</interpreter>\n",
    "So the answer is 84.\n<answer>\\boxed{84}</answer>",
    "import hashlib\nsecret = hashlib.sha256(b'x').hexdigest()\nprint(secret[:16])\n",
    "Solve the following problem step by step. The final answer goes here.",
]


def qwen2_style_tokenizer(vocab_size: int = 600) -> PreTrainedTokenizerFast:
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(_CORPUS * 20, trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    tok.chat_template = CHATML
    return tok


def tiny_qwen2_config(vocab_size: int, hidden_size: int = 32, layers: int = 2) -> Qwen2Config:
    return Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
    )


class ScriptedQwen2(Qwen2ForCausalLM):
    """A real random-init Qwen2 whose ``generate`` writes scripted turns.

    ``scripts[s]`` is the list of model turns of script ``s`` (text; the last turn is followed by EOS); row ``r``
    of a generate batch follows script ``r % len(scripts)``. The next token is found from the decoded context:
    the number of ``\\n</interpreter>\\n`` block ends after the assistant header says which turn is being written, and the
    text written since the last one says how far into it. Only the logits of generate's forwards are overridden.
    """

    def set_script(self, tokenizer: Any, scripts: Sequence[Sequence[str]]) -> None:
        self._tok = tokenizer
        self._turn_ids = []
        for turns in scripts:
            ids = [list(tokenizer.encode(t, add_special_tokens=False)) for t in turns]
            ids[-1].append(tokenizer.eos_token_id)
            self._turn_ids.append(ids)
        self._scripting = False
        self._context: torch.Tensor | None = None

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self._scripting, self._context = True, None
        try:
            return super().generate(*args, **kwargs)
        finally:
            self._scripting, self._context = False, None

    def _next_token(self, row: int, ids: list[int]) -> int:
        text = self._tok.decode(ids, skip_special_tokens=False)
        completion = text.split(ASSISTANT_HEADER)[-1]
        # a block's own closing line (the code itself may mention the tag, as the reward-hacking tests' does)
        turn = completion.count("\n</interpreter>\n")
        written = completion.rsplit("\n</interpreter>\n", 1)[-1] if turn else completion
        script = self._turn_ids[row % len(self._turn_ids)]
        if turn >= len(script):
            return self._tok.eos_token_id
        target = script[turn]
        for j in range(len(target)):
            if self._tok.decode(target[:j], skip_special_tokens=False) == written:
                return target[j]
        return self._tok.eos_token_id

    def forward(self, input_ids: torch.LongTensor | None = None, **kwargs: Any) -> Any:
        out = super().forward(input_ids=input_ids, **kwargs)
        if not getattr(self, "_scripting", False) or input_ids is None:
            return out
        self._context = input_ids if self._context is None else torch.cat([self._context, input_ids], dim=1)
        forced = torch.full_like(out.logits[:, -1, :], -1e4)
        for row, ids in enumerate(self._context.tolist()):
            forced[row, self._next_token(row, ids)] = 1e4
        out.logits[:, -1, :] = forced
        return out


def scripted_model(tokenizer: Any, scripts: Sequence[Sequence[str]], seed: int = 0) -> ScriptedQwen2:
    torch.manual_seed(seed)
    model = ScriptedQwen2(tiny_qwen2_config(len(tokenizer)))
    model.config.eos_token_id = tokenizer.eos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.set_script(tokenizer, scripts)
    return model


def code_turn(code: str, before: str = "Let me compute.\n", after: str = "") -> str:
    """A model turn that ends with a code block (``after`` follows ``</code>`` in the same turn)."""
    return f"{before}<code>\n```python\n{code}\n```\n</code>{after}"


def chat_prompt_ids(tokenizer: Any, text: str) -> list[int]:
    out = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True, return_dict=True
    )
    return list(out["input_ids"])
