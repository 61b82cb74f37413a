"""Token-exact SFT rows from ReTool traces: what the model writes has loss weight 1, everything else 0.

The rule (the same split the RL rollout makes, so SFT and the rollout's env mask agree token for token):

* **prompt** (weight 0): ``apply_chat_template(prompt_messages, add_generation_prompt=True)`` - the system and
  user turns plus the assistant header, tokenized exactly as at inference.
* **model spans** (weight 1): everything the model writes - reasoning text, ``<code>``, the fences, the code,
  ``</code>``, ``<answer>...</answer>``.
* **environment spans** (weight 0): for each tool call, exactly ``format_interpreter_block(output)`` =
  ``"\\n<interpreter>\\n{output}\\n</interpreter>\\n"`` - the characters the rollout appends after the model
  stops at ``</code>``. The trace is canonicalised at each tool boundary to make that true: whitespace the trace
  has between ``</code>`` and ``<interpreter>`` is replaced by the block's leading newline, and one newline after
  ``</interpreter>`` (if present) is the block's trailing newline; any further text is the model's.
* **end of turn** (weight 1): the chat template's end-of-turn (e.g. ``<|im_end|>``), so the model learns to stop.

Each span is tokenized on its own (``add_special_tokens=False``) and the ids are concatenated, so no BPE merge
crosses a model/environment boundary and no character offset through the chat template is ever used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from retool_data.trace import format_interpreter_block, parse_trace

SpanOwner = Literal["prompt", "model", "env", "end_of_turn"]
TRAINED_OWNERS = frozenset({"model", "end_of_turn"})
_SENTINEL = "RETOOLSFTSENTINEL7F3A"

# Stable reasons a row cannot be turned into a masked SFT example (also the drop reasons in dataset stats).
MASK_ERROR_CODES: dict[str, str] = {
    "no_assistant_turn": "the chat does not end with an assistant message holding the trace",
    "interpreter_without_code": "an <interpreter> block not directly after a </code>",
    "text_between_code_and_interpreter": "non-whitespace text between </code> and <interpreter>",
    "unclosed_block": "a <code> or <interpreter> block that is never closed",
    "special_token_in_trace": "the trace contains a tokenizer special token (e.g. the end-of-turn) as text",
    "tokenizer_roundtrip": "a span does not decode back to its own text, so the mask boundary is unsafe",
    "template_not_prefix": "the chat template renders a turn by rewriting earlier turns (multi-turn rows)",
}


class TraceMaskError(ValueError):
    """A trace whose masks cannot be built exactly; ``code`` is a key of MASK_ERROR_CODES."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        super().__init__(f"{code}: {detail or MASK_ERROR_CODES[code]}")


@dataclass(frozen=True)
class TokenSpan:
    owner: SpanOwner
    text: str
    token_ids: tuple[int, ...]

    @property
    def weight(self) -> int:
        return 1 if self.owner in TRAINED_OWNERS else 0


def split_trace(trace: str, *, partial: bool = False) -> list[tuple[SpanOwner, str]]:
    """The assistant turn as alternating ("model", text) / ("env", interpreter block) spans, canonical at tool
    boundaries (see the module docstring). ``"".join`` of the texts is the text the model is trained on.
    ``partial``: the text is a piece of a turn cut mid-step (a search-tree prefix), so it may end inside an
    unclosed ``<code>`` block."""
    spans: list[tuple[SpanOwner, str]] = []
    model_text = ""
    after_env = False
    for seg in parse_trace(trace).segments:
        if seg.kind == "interpreter":
            if not seg.closed:
                raise TraceMaskError("unclosed_block", "<interpreter> is never closed")
            written = model_text.rstrip()
            if not written.endswith("</code>"):
                between = written[written.rfind("</code>") + len("</code>") :] if "</code>" in written else ""
                code = "text_between_code_and_interpreter" if between.strip() else "interpreter_without_code"
                raise TraceMaskError(code)
            spans.append(("model", written))
            spans.append(("env", format_interpreter_block(seg.content)))
            model_text, after_env = "", True
            continue
        if seg.kind == "code" and not seg.closed and not partial:
            raise TraceMaskError("unclosed_block", "<code> is never closed")
        raw = seg.raw
        if after_env and raw.startswith("\n"):
            raw = raw[1:]  # the environment block already ends with this newline
        after_env = False
        model_text += raw
    spans.append(("model", model_text))
    return [(owner, text) for owner, text in spans if text]


def end_of_turn_text(tokenizer: Any, prompt_messages: list[dict[str, str]]) -> str:
    """What ends an assistant turn: the template's text after the assistant content up to and including its first
    special token (``<|im_end|>``, ``<|eot_id|>``, ...); the tokenizer's eos_token if the template writes none."""
    rendered = tokenizer.apply_chat_template(
        [*prompt_messages, {"role": "assistant", "content": _SENTINEL}], tokenize=False
    )
    suffix = rendered[rendered.rfind(_SENTINEL) + len(_SENTINEL) :] if _SENTINEL in rendered else ""
    hits = [(suffix.find(tok), tok) for tok in _special_tokens(tokenizer) if tok and tok in suffix]
    if hits:
        pos, tok = min(hits, key=lambda h: (h[0], -len(h[1])))
        return suffix[: pos + len(tok)]
    if not tokenizer.eos_token:
        raise ValueError("the chat template writes no end-of-turn token and the tokenizer has no eos_token")
    return tokenizer.eos_token


def prompt_token_ids(tokenizer: Any, prompt_messages: list[dict[str, str]]) -> list[int]:
    out = tokenizer.apply_chat_template(
        prompt_messages, add_generation_prompt=True, tokenize=True, return_dict=True
    )
    return list(out["input_ids"])


def tokenize_pieces(
    tokenizer: Any, trace: str, *, check_roundtrip: bool = True, partial: bool = False
) -> list[TokenSpan]:
    """The model/env spans of (part of) an assistant turn (`split_trace`), each tokenized on its own. Also used
    for preference pairs, whose prefix, chosen and rejected steps are tokenized separately."""
    specials = [t for t in _special_tokens(tokenizer) if t]
    pieces = split_trace(trace, partial=partial)
    for _, text in pieces:
        found = next((t for t in specials if t in text), None)
        if found is not None:
            raise TraceMaskError("special_token_in_trace", f"the trace contains {found!r}")
    spans = []
    for owner, text in pieces:
        ids = tuple(tokenizer.encode(text, add_special_tokens=False))
        if check_roundtrip:
            decoded = tokenizer.decode(
                list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False
            )
            if decoded != text:
                raise TraceMaskError("tokenizer_roundtrip", f"{text[:60]!r} decodes as {decoded[:60]!r}")
        spans.append(TokenSpan(owner, text, ids))
    return spans


def tokenize_spans(
    tokenizer: Any,
    prompt_messages: list[dict[str, str]],
    trace: str,
    *,
    end_of_turn: str | None = None,
    check_roundtrip: bool = True,
) -> list[TokenSpan]:
    """Prompt, model/env spans and end-of-turn, each tokenized separately (see the module docstring)."""
    pieces = tokenize_pieces(tokenizer, trace, check_roundtrip=check_roundtrip)
    eot = end_of_turn if end_of_turn is not None else end_of_turn_text(tokenizer, prompt_messages)
    prompt = TokenSpan("prompt", "", tuple(prompt_token_ids(tokenizer, prompt_messages)))
    eot_span = TokenSpan("end_of_turn", eot, tuple(tokenizer.encode(eot, add_special_tokens=False)))
    return [prompt, *pieces, eot_span]


def flatten_spans(spans: list[TokenSpan]) -> dict[str, list[int]]:
    input_ids: list[int] = []
    masks: list[int] = []
    for span in spans:
        input_ids.extend(span.token_ids)
        masks.extend([span.weight] * len(span.token_ids))
    return {"input_ids": input_ids, "assistant_masks": masks}


def truncate_spans(spans: list[TokenSpan], max_length: int) -> list[TokenSpan] | None:
    """The longest prefix within ``max_length`` that ends where a rollout pauses: right after a model span that
    closes a tool call (``</code>``; for multi-turn rows the assistant turn's end-of-turn after its ``<tool_call>``),
    before the environment's block. None when even the first tool call does not fit."""
    total, best, kept = 0, None, []
    for i, span in enumerate(spans):
        total += len(span.token_ids)
        if total > max_length:
            break
        kept.append(span)
        next_is_env = i + 1 < len(spans) and spans[i + 1].owner == "env"
        if span.owner in TRAINED_OWNERS and next_is_env:
            best = list(kept)
    return best


def tokenize_trace(
    tokenizer: Any,
    prompt_messages: list[dict[str, str]],
    trace: str,
    *,
    end_of_turn: str | None = None,
    check_roundtrip: bool = True,
) -> dict[str, list[int]]:
    """``{"input_ids": [...], "assistant_masks": [...]}`` for one chat prompt and its assistant trace.

    ``assistant_masks`` is 1 exactly on the tokens the model writes (text, code blocks with their tags and fences,
    the answer, the end-of-turn) and 0 on the prompt and on every interpreter block the environment contributes.
    Raises TraceMaskError (a ValueError with a stable ``code``) for traces whose mask cannot be exact.
    """
    spans = tokenize_spans(
        tokenizer, prompt_messages, trace, end_of_turn=end_of_turn, check_roundtrip=check_roundtrip
    )
    return flatten_spans(spans)


def _special_tokens(tokenizer: Any) -> list[str]:
    tokens = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(added, "special", False):
            tokens.add(str(added))
    return sorted(tokens)
