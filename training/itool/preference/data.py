"""Preference pairs -> token ids with the interpreter masked from the preference loss.

A pair (`training.itool.preference.pairs`) is tokenized the way SFT tokenizes a trace (`training.sft.tokenization`): the
chat prompt with the assistant header, then every model span and every interpreter block on its own, so no BPE
merge crosses a model/environment boundary:

* ``prompt_ids``: the chat prompt + the shared prefix (its model and interpreter spans): context only;
* ``chosen_ids`` / ``rejected_ids``: the two continuations, with ``chosen_mask`` / ``rejected_mask`` 1 on what the
  model wrote (text, code, tags, answer, and the end-of-turn when the continuation ends the turn) and 0 on every
  interpreter block (``format_interpreter_block(output)``).

The trainers in `training.itool.preference.train` turn the masks into the loss mask (DPO's ``completion_mask``, CPO/SimPO's
``-100`` labels), so the preference loss never sees a token the interpreter wrote. Rows that cannot be exact are
dropped and counted by reason (`sft_tokenize.MASK_ERROR_CODES`, ``overlong``, ``no_trainable_tokens``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from training.sft.tokenization import (
    TokenSpan,
    TraceMaskError,
    end_of_turn_text,
    prompt_token_ids,
    tokenize_pieces,
)

PREFERENCE_COLUMNS = ("prompt_ids", "chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask")


@dataclass
class PreferenceDataStats:
    pairs_in: int = 0
    pairs_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    loss_tokens: int = 0  # weight-1 tokens, chosen + rejected
    interpreter_tokens: int = 0  # weight-0 tokens in chosen + rejected (interpreter blocks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _flatten(spans: list[TokenSpan]) -> tuple[list[int], list[int]]:
    ids, mask = [], []
    for span in spans:
        ids.extend(span.token_ids)
        mask.extend([span.weight] * len(span.token_ids))
    return ids, mask


def tokenize_pair(
    tokenizer: Any, pair: dict[str, Any], *, end_of_turn: str | None = None
) -> dict[str, list[int]]:
    """``prompt_ids``, ``chosen_ids``/``chosen_mask``, ``rejected_ids``/``rejected_mask`` of one pair (see the
    module docstring). Raises `TraceMaskError` when a mask cannot be exact."""
    prompt = list(prompt_token_ids(tokenizer, pair["prompt"]))
    for span in tokenize_pieces(tokenizer, pair.get("prefix") or "", partial=True):
        prompt.extend(span.token_ids)
    eot = end_of_turn if end_of_turn is not None else end_of_turn_text(tokenizer, pair["prompt"])
    out: dict[str, list[int]] = {"prompt_ids": prompt}
    for side in ("chosen", "rejected"):
        spans = tokenize_pieces(tokenizer, pair[side], partial=True)
        if pair.get(f"{side}_ends_turn"):
            spans.append(
                TokenSpan("end_of_turn", eot, tuple(tokenizer.encode(eot, add_special_tokens=False)))
            )
        out[f"{side}_ids"], out[f"{side}_mask"] = _flatten(spans)
    return out


def prepare_preference_dataset(
    pairs: Iterable[dict[str, Any]], tokenizer: Any, *, max_length: int | None = None
) -> tuple[Any, PreferenceDataStats]:
    """A `datasets.Dataset` with `PREFERENCE_COLUMNS` (+ ``pair_id``) and the counts; rows longer than
    ``max_length`` (prompt + the longer side) are dropped, never truncated."""
    from datasets import Dataset

    stats, dropped, rows = PreferenceDataStats(), Counter(), []
    eot_cache: dict[str, str] = {}
    for pair in pairs:
        stats.pairs_in += 1
        key = repr(pair["prompt"][:-1])  # the end-of-turn depends on the template, not on the user's text
        try:
            if key not in eot_cache:
                eot_cache[key] = end_of_turn_text(tokenizer, pair["prompt"])
            row = tokenize_pair(tokenizer, pair, end_of_turn=eot_cache[key])
        except TraceMaskError as err:
            dropped[err.code] += 1
            continue
        longest = max(len(row["chosen_ids"]), len(row["rejected_ids"]))
        if max_length is not None and len(row["prompt_ids"]) + longest > max_length:
            dropped["overlong"] += 1
            continue
        if 1 not in row["chosen_mask"] or 1 not in row["rejected_mask"]:
            dropped["no_trainable_tokens"] += 1
            continue
        for side in ("chosen", "rejected"):
            stats.loss_tokens += sum(row[f"{side}_mask"])
            stats.interpreter_tokens += row[f"{side}_mask"].count(0)
        rows.append({"pair_id": pair.get("pair_id", ""), **row})
    stats.pairs_kept = len(rows)
    stats.dropped = dict(sorted(dropped.items()))
    columns = {c: [r[c] for r in rows] for c in ("pair_id", *PREFERENCE_COLUMNS)}
    return Dataset.from_dict(columns), stats
