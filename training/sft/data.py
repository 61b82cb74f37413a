"""Load the exported cold-start dataset and turn it into masked, length-checked SFT rows.

Every input row ends up kept, truncated (``overlong_policy="truncate"``) or dropped with a stable reason
(`sft_tokenize.MASK_ERROR_CODES`, ``overlong``, ``no_trainable_tokens``); the counts travel with the run.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retool_data.templates import build_prompt_messages
from training.sft.tokenization import (
    TraceMaskError,
    end_of_turn_text,
    flatten_spans,
    tokenize_spans,
    truncate_spans,
)
from training.sft.turns import has_tool_turns, tokenize_conversation

DROP_REASONS = ("overlong", "no_trainable_tokens", "no_assistant_turn")


@dataclass
class SFTDataStats:
    rows_in: int = 0
    rows_kept: int = 0
    rows_truncated: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    total_tokens: int = 0
    loss_tokens: int = 0
    prompt_tokens: int = 0
    interpreter_tokens: int = 0

    @property
    def masked_token_share(self) -> float:
        """Share of tokens with loss weight 0 (prompt + interpreter blocks)."""
        return 1.0 - self.loss_tokens / self.total_tokens if self.total_tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "masked_token_share": self.masked_token_share}


def load_sft_dataset(name_or_path: str, split: str = "train", max_samples: int | None = None) -> Any:
    """A `datasets.Dataset` from a save_to_disk dir, parquet file/dir, jsonl/json file, or a Hub id."""
    from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

    path = Path(name_or_path)
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        ds = load_from_disk(str(path))
        if isinstance(ds, DatasetDict):
            if split not in ds:
                raise ValueError(f"{path} has splits {list(ds)}; set dataset_split to one of them")
            ds = ds[split]
    elif path.is_dir() and (shards := _parquet_shards(path, split)):
        ds = load_dataset("parquet", data_files=shards, split="train")
    elif path.suffix == ".parquet":
        ds = load_dataset("parquet", data_files=str(path), split="train")
    elif path.suffix in (".jsonl", ".json"):
        ds = load_dataset("json", data_files=str(path), split="train")
    elif path.exists():
        raise ValueError(f"cannot read {path}: expected a save_to_disk dir, parquet, or jsonl")
    else:
        ds = load_dataset(name_or_path, split=split)
    assert isinstance(ds, Dataset)
    if max_samples is not None:
        ds = ds.select(range(min(max_samples, ds.num_rows)))
    return ds


def _parquet_shards(path: Path, split: str) -> list[str]:
    """Parquet files directly in `path` or in its `data/` (Hub layout), restricted to `split`-* files if named so.
    Not recursive: an export directory may hold other parquet files (e.g. the verl copy) with another schema."""
    files = sorted(path.glob("*.parquet")) or sorted((path / "data").glob("*.parquet"))
    of_split = [f for f in files if f.name.startswith(split)]
    return [str(f) for f in (of_split or files)]


def row_chat(row: dict[str, Any], messages_column: str = "messages") -> tuple[list[dict[str, str]], str]:
    """(prompt messages, assistant trace) of one row: from `messages`, else from `problem` + `trace`."""
    messages = row.get(messages_column)
    if messages:
        msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
        if msgs[-1]["role"] != "assistant" or len(msgs) < 2:
            raise TraceMaskError("no_assistant_turn")
        return msgs[:-1], msgs[-1]["content"]
    if row.get("problem") and row.get("trace"):
        return build_prompt_messages(row["problem"]), row["trace"]
    raise TraceMaskError("no_assistant_turn", f"row has no {messages_column!r} nor problem + trace")


def _encode_row(
    row: dict[str, Any],
    tokenizer: Any,
    max_length: int | None,
    overlong_policy: str,
    messages_column: str,
    end_of_turn: str | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_ids": [],
        "assistant_masks": [],
        "drop_reason": "",
        "truncated": False,
        "n_prompt": 0,
        "n_env": 0,
    }
    try:
        if has_tool_turns(row.get(messages_column)):  # Hermes rows: tool turns masked, turn by turn
            spans = tokenize_conversation(tokenizer, row[messages_column], row.get("tools"))
        else:
            prompt, trace = row_chat(row, messages_column)
            spans = tokenize_spans(tokenizer, prompt, trace, end_of_turn=end_of_turn)
    except TraceMaskError as err:
        return {**out, "drop_reason": err.code}
    if max_length is not None and sum(len(s.token_ids) for s in spans) > max_length:
        cut = truncate_spans(spans, max_length) if overlong_policy == "truncate" else None
        if cut is None:
            return {**out, "drop_reason": "overlong"}
        spans, out["truncated"] = cut, True
    flat = flatten_spans(spans)
    if 1 not in flat["assistant_masks"]:
        return {**out, "drop_reason": "no_trainable_tokens"}
    by_owner = Counter()
    for span in spans:
        by_owner[span.owner] += len(span.token_ids)
    return {**out, **flat, "n_prompt": by_owner["prompt"], "n_env": by_owner["env"]}


def prepare_sft_dataset(
    dataset: Any,
    tokenizer: Any,
    *,
    max_length: int | None,
    overlong_policy: str = "drop",
    messages_column: str = "messages",
    end_of_turn: str | None = None,
    num_proc: int | None = None,
) -> tuple[Any, SFTDataStats]:
    """(dataset with only `input_ids` + `assistant_masks`, stats) - what SFTTrainer consumes pre-tokenized."""
    if end_of_turn is None and dataset.num_rows:  # resolve once, not per row
        try:
            end_of_turn = end_of_turn_text(tokenizer, row_chat(dataset[0], messages_column)[0])
        except TraceMaskError:
            pass
    from datasets import Features, Sequence, Value

    features = Features(
        {
            "input_ids": Sequence(Value("int32")),
            "assistant_masks": Sequence(Value("int8")),
            "drop_reason": Value("string"),
            "truncated": Value("bool"),
            "n_prompt": Value("int64"),
            "n_env": Value("int64"),
        }
    )
    encoded = dataset.map(
        _encode_row,
        features=features,
        fn_kwargs={
            "tokenizer": tokenizer,
            "max_length": max_length,
            "overlong_policy": overlong_policy,
            "messages_column": messages_column,
            "end_of_turn": end_of_turn,
        },
        remove_columns=dataset.column_names,
        num_proc=num_proc,
        desc="Tokenizing traces with interpreter masks",
    )
    stats = SFTDataStats(rows_in=dataset.num_rows)
    stats.dropped = dict(sorted(Counter(r for r in encoded["drop_reason"] if r).items()))
    kept = encoded.filter(lambda r: r == "", input_columns="drop_reason")
    stats.rows_kept = kept.num_rows
    stats.rows_truncated = sum(kept["truncated"])
    for masks, n_prompt, n_env in zip(kept["assistant_masks"], kept["n_prompt"], kept["n_env"], strict=True):
        stats.total_tokens += len(masks)
        stats.loss_tokens += sum(masks)
        stats.prompt_tokens += n_prompt
        stats.interpreter_tokens += n_env
    return kept.select_columns(["input_ids", "assistant_masks"]), stats


def dataset_fingerprint(dataset: Any, source: str, messages_column: str = "messages") -> dict[str, Any]:
    """Identity of the data a run trained on: source, row count, the `datasets` fingerprint, and a sha256 of the
    chat contents (stable across machines and file formats, unlike the `datasets` fingerprint)."""
    digest = hashlib.sha256()
    cols = [c for c in (messages_column, "problem", "trace") if c in dataset.column_names]
    for batch in dataset.select_columns(cols).iter(batch_size=1000):
        for i in range(len(batch[cols[0]])):
            digest.update(
                json.dumps({c: batch[c][i] for c in cols}, sort_keys=True, ensure_ascii=False).encode()
            )
            digest.update(b"\n")
    return {
        "source": source,
        "num_rows": dataset.num_rows,
        "columns": sorted(dataset.column_names),
        "datasets_fingerprint": getattr(dataset, "_fingerprint", None),
        "content_sha256": digest.hexdigest(),
    }
