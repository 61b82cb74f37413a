"""Guided rollouts: a rollout that follows a reference trace's model turns (teacher forcing) through the real loop.

Off-policy guidance in the manner of LUFFY (Yan et al., 2025): one rollout of a group replays a curated trace's
model turns instead of sampling them, while the code of each turn still runs in the sandbox and the interpreter
block appended is the sandbox's real output, masked like any other. The group then holds a correct, tool-using
trace beside the policy's own samples, so the advantage is non-zero even when the policy cannot solve the problem
yet (a small model at the start of RL; the CPU smoke run).

Forced tokens are the policy's turn (``env_mask`` 1: they are trained, as the off-policy trace is) but were not
sampled: their log-probs are NaN, which TRL's vLLM importance-sampling correction treats as "no correction".
"""

from __future__ import annotations

from typing import Any

from retool_data.trace import parse_trace
from training.rollout.generation import CODE_STOP, Continuation, GenerationRequest, finish_continuation


def guide_turns(trace: str) -> list[str]:
    """The model turns of a ReTool trace: each turn up to and including its ``</code>``, then the rest (the
    newlines around an interpreter block belong to the block, as `format_interpreter_block` writes them)."""
    turns: list[str] = []
    current, after_block = "", False
    for segment in parse_trace(trace).segments:
        if segment.kind == "interpreter":
            end = current.rfind(CODE_STOP)
            turns.append(current[: end + len(CODE_STOP)] if end >= 0 else current)
            current, after_block = "", True
            continue
        raw = segment.raw
        if after_block and raw.startswith("\n"):
            raw = raw[1:]
        current, after_block = current + raw, False
    turns.append(current)
    return turns


def guide_turn_ids(trace: str, tokenizer: Any, eos_token_id: int) -> list[list[int]]:
    """`guide_turns` tokenized turn by turn (as SFT tokenizes spans), the last one followed by EOS."""
    ids = [list(tokenizer.encode(t, add_special_tokens=False)) for t in guide_turns(trace)]
    ids[-1].append(int(eos_token_id))
    return ids


def forced_continuation(
    turn_ids: list[int], last: bool, tokenizer: Any, request: GenerationRequest
) -> Continuation:
    """One forced turn as a backend would return it: cut by the same stop rule and budget, log-probs NaN."""
    eos = [turn_ids[-1]] if last and turn_ids else []
    out = finish_continuation(turn_ids, tokenizer, request, eos, None)
    return Continuation(out.token_ids, out.text, out.finish_reason, [float("nan")] * len(out.token_ids))
