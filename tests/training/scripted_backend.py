"""`ScriptedBackend`: a generation backend that writes scripted text (the fake at the generation edge).

The script maps a *branch point* (the completion text so far) to the full remainders the policy may write from
there (interpreter blocks included, exactly as the sandbox will print them). For a request, the backend decodes
the context, takes the completion after the last assistant header, and lists the remainders consistent with it
(``branch + remainder`` starts with the completion) under the longest branch point that is a prefix of it. The
j-th request with the same completion within one ``generate`` call writes alternative ``j mod n``: a lone request
(a simulation) follows alternative 0, an expansion of n samples sees alternatives 0..n-1. The remainder is encoded,
followed by EOS, and cut by `finish_continuation` like any backend's output, so stop strings, step boundaries and
the sandbox are all real.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from training.rollout.generation import Continuation, GenerationRequest, finish_continuation

ASSISTANT_HEADER = "<|im_start|>assistant\n"


class OffScript(AssertionError):
    pass


class ScriptedBackend:
    def __init__(self, tokenizer: Any, script: Mapping[str, Sequence[str]]) -> None:
        self.tokenizer = tokenizer
        self.script = {k: list(v) for k, v in script.items()}
        self.eos = int(tokenizer.eos_token_id)
        self.requests: list[str] = []  # the completion text of every request, in order (for assertions)

    def remainder(self, completion: str, j: int) -> str:
        for branch in sorted((k for k in self.script if completion.startswith(k)), key=len, reverse=True):
            options = [a for a in self.script[branch] if (branch + a).startswith(completion)]
            if options:
                return (branch + options[j % len(options)])[len(completion) :]
        raise OffScript(f"no scripted continuation of {completion!r}")

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Continuation]:
        seen: Counter[str] = Counter()
        out = []
        for req in requests:
            text = self.tokenizer.decode(req.context_ids, skip_special_tokens=False)
            completion = text.rsplit(ASSISTANT_HEADER, 1)[-1]
            self.requests.append(completion)
            rest = self.remainder(completion, seen[completion])
            seen[completion] += 1
            ids = [*self.tokenizer.encode(rest, add_special_tokens=False), self.eos]
            out.append(finish_continuation(ids, self.tokenizer, req, [self.eos], [0.0] * len(ids)))
        return out


def chat_prompt(tokenizer: Any, problem: str) -> tuple[list[dict[str, str]], list[int]]:
    messages = [{"role": "user", "content": problem}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    return messages, list(ids["input_ids"])
