"""Token-exact SFT rows from multi-turn tool-calling chats (the Hermes protocol, `retool_data.tool_protocol`).

A Hermes row is ``[user, assistant, tool, assistant, ..., assistant]``: each assistant turn ends in a
``<tool_call>`` and the ``tool`` turn after it holds the interpreter output. What the model writes is trained, what
the environment writes is not, as for ReTool traces (`training.sft.tokenization`):

* **prompt** (weight 0): ``apply_chat_template(messages[:first assistant], add_generation_prompt=True, tools=...)``.
* **model** (weight 1): each assistant turn's text, its ``<tool_call>`` included.
* **end of turn** (weight 1): the template's end-of-turn after an assistant turn (``<|im_end|>``), so the model
  learns to stop after a tool call and at the end.
* **env** (weight 0): everything the template writes between an assistant turn's end-of-turn and the next
  assistant header: the ``tool`` turn, its role header and wrapper (``<tool_response>`` for Qwen), the next
  ``<|im_start|>assistant``.

Each turn's text is the difference between the chat rendered up to that turn and up to the one before, so the
pieces concatenate to exactly what the template renders for the whole chat (a template for which a prefix of the
chat does not render as a prefix is refused: ``template_not_prefix``). Pieces are tokenized on their own.
"""

from __future__ import annotations

import json
from typing import Any

from training.sft.tokenization import TokenSpan, TraceMaskError, _special_tokens

ENV_ROLES = frozenset({"tool", "user"})  # turns the environment writes after the first assistant turn


def has_tool_turns(messages: list[dict[str, Any]] | None) -> bool:
    return bool(messages) and any(m.get("role") == "tool" for m in messages)


def parse_tools(tools: Any) -> list[dict[str, Any]] | None:
    """The ``tools`` column: a JSON string (how the export stores it), a list of schemas, or None."""
    if tools is None or tools == "":
        return None
    return json.loads(tools) if isinstance(tools, str) else list(tools)


def _render(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, generation: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tools=tools, add_generation_prompt=generation, tokenize=False
    )


def _span(tokenizer: Any, owner: str, text: str, check_roundtrip: bool) -> TokenSpan:
    ids = tuple(tokenizer.encode(text, add_special_tokens=False))
    if check_roundtrip:
        decoded = tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if decoded != text:
            raise TraceMaskError("tokenizer_roundtrip", f"{text[:60]!r} decodes as {decoded[:60]!r}")
    return TokenSpan(owner, text, ids)  # type: ignore[arg-type]


def _split_end_of_turn(delta: str, content: str, specials: list[str]) -> tuple[str, str, str]:
    """(model text, end-of-turn, what follows) of one rendered assistant turn: the end-of-turn is the first special
    token after the content (the content itself holds none: checked before)."""
    # a template that rewrites the content (found < 0): search for the end-of-turn from the start
    found = delta.rfind(content) if content else -1
    start = found + len(content) if found >= 0 else 0
    hits = [(delta.find(tok, start), tok) for tok in specials if tok and delta.find(tok, start) >= 0]
    if not hits:
        return delta, "", ""
    pos, tok = min(hits, key=lambda h: (h[0], -len(h[1])))
    return delta[:pos], tok, delta[pos + len(tok) :]


def tokenize_conversation(
    tokenizer: Any,
    messages: list[dict[str, Any]],
    tools: Any = None,
    *,
    check_roundtrip: bool = True,
) -> list[TokenSpan]:
    """Prompt, then model / end-of-turn / env spans of every later turn (see the module docstring). Raises
    TraceMaskError (stable ``code``) when the mask cannot be exact."""
    tools = parse_tools(tools)
    msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
    first = next((i for i, m in enumerate(msgs) if m["role"] == "assistant"), None)
    if first is None or first == 0 or msgs[-1]["role"] != "assistant":
        raise TraceMaskError("no_assistant_turn")
    specials = [t for t in _special_tokens(tokenizer) if t]
    for m in msgs[first:]:
        found = next((t for t in specials if t in (m["content"] or "")), None)
        if found is not None:
            raise TraceMaskError("special_token_in_trace", f"a {m['role']} turn contains {found!r}")
    prompt_ids = tokenizer.apply_chat_template(
        msgs[:first], tools=tools, add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]
    spans = [TokenSpan("prompt", "", tuple(prompt_ids))]
    for i in range(first, len(msgs)):
        role = msgs[i]["role"]
        if role not in ENV_ROLES | {"assistant"}:
            raise TraceMaskError(
                "no_assistant_turn", f"unexpected {role!r} turn after the first assistant turn"
            )
        next_is_assistant = i + 1 < len(msgs) and msgs[i + 1]["role"] == "assistant"
        before = _render(tokenizer, msgs[:i], tools, generation=role == "assistant")
        after = _render(tokenizer, msgs[: i + 1], tools, generation=role != "assistant" and next_is_assistant)
        if not after.startswith(before):
            raise TraceMaskError(
                "template_not_prefix", f"the chat template renders turn {i} by rewriting earlier turns"
            )
        delta = after[len(before) :]
        if role != "assistant":
            spans.append(_span(tokenizer, "env", delta, check_roundtrip))
            continue
        model, eot, rest = _split_end_of_turn(delta, msgs[i]["content"], specials)
        spans.append(_span(tokenizer, "model", model, check_roundtrip))
        if eot:
            spans.append(_span(tokenizer, "end_of_turn", eot, check_roundtrip))
        if rest and i + 1 < len(msgs):  # the newline after <|im_end|> belongs to the next (env) turn
            spans.append(_span(tokenizer, "env", rest, check_roundtrip))
    return [s for s in spans if s.token_ids or s.owner == "prompt"]
