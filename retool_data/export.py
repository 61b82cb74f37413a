"""Export the curated frame as a Hugging Face dataset, parquet shards, a dataset card and a verl RL parquet.

Layout of ``out_dir`` (rewritten whole on every run, so re-running is safe)::

    README.md                         dataset card (YAML metadata + provenance, stage counts, histograms)
    data/train-00000-of-0000N.parquet SFT rows, Hub layout (the card's `default` config)
    verl/train.parquet                verl RL rows (the card's `verl` config), for verl's tool agent loop
    hf_dataset/                       the same SFT rows via `datasets.Dataset.save_to_disk`

`push_to_hub` uploads README.md, data/ and verl/ in one commit (hf_dataset/ is a local convenience).

``tool_protocol`` picks how the SFT rows write tool calls (`retool_data.tool_protocol`): ReTool tags in one
assistant turn (``retool``, the default) or Hermes ``<tool_call>`` turns with ``tool`` turns and a ``tools`` schema
(``hermes``, what verl's ReTool recipe trains on). The verl RL parquet is always Hermes: verl's tool agent loop
parses Hermes tool calls (``multi_turn.format=hermes``), not ``<code>`` tags.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from retool_data.answer_forms import reference_form
from retool_data.card import config_hash, portable_paths, render_card
from retool_data.stages.quality import score_traces
from retool_data.templates import PROMPT_TEMPLATE_ID, RL_TEMPLATE, build_prompt_messages
from retool_data.tool_protocol import (
    HERMES_TEMPLATE,
    check_protocol,
    code_interpreter_schema,
    hermes_messages,
)
from retool_data.trace_quality import QUALITY_COLUMNS

STRING_COLUMNS = (
    "id",
    "problem_id",
    "problem",
    "answer",
    "trace",
    "source",
    "source_id",
    "dataset",
    "final_answer",
    "verify_verdict",
    "verify_method",
    "consistency_verdict",
    "answer_verdict",
    "rewrite_backend",
    "rewrite_template",
    "prompt_template",
)
INT_COLUMNS = ("num_code_blocks", "trace_tokens", "dedup_cluster_size", "response_index")
HF_DATASET_DIR = "hf_dataset"  # the save_to_disk copy inside the export folder (what training reads)
MANAGED = ("README.md", "data", "verl", HF_DATASET_DIR)


@dataclass
class ExportResult:
    out_dir: Path
    rows: int
    shards: list[Path]
    verl_path: Path
    card_path: Path
    dataset_dir: Path
    config_hash: str
    extra: dict[str, Any] = field(default_factory=dict)


def reference_answer(row: dict[str, Any]) -> str | None:
    """The answer a row is graded against: gold, else the verified teacher answer, else the trace's own; spelled
    by `answer_forms.reference_form` (no unit, no digit-group separators), as the heuristic's traces box it."""
    if row.get("gold_answer"):
        return reference_form(row["gold_answer"])
    if row.get("verify_verdict") == "correct" and row.get("teacher_answer"):
        return reference_form(row["teacher_answer"])
    return reference_form(row.get("final_answer"))


def sft_features() -> Any:
    from datasets import Features, List, Value

    turn = {"role": Value("string"), "content": Value("string")}
    feats: dict[str, Any] = {"messages": List(turn)}
    feats.update({c: Value("string") for c in STRING_COLUMNS})
    feats.update({c: Value("int64") for c in INT_COLUMNS})
    feats["tool_protocol"] = Value("string")  # retool | hermes (retool_data.tool_protocol)
    feats["tools"] = tools_feature()  # hermes rows: [code_interpreter schema]; null for retool rows
    feats["format_warnings"] = List(Value("string"))
    feats["decontam_score"] = Value("float64")
    feats["difficulty"] = Value("float64")  # the source's rating (OpenThoughts3), for iTool's curriculum
    feats.update(quality_features())
    return Features(feats)


def tools_feature() -> Any:
    """The ``tools`` column: a list of OpenAI function schemas (`tool_protocol.code_interpreter_schema`), stored as
    structs, so TRL and verl's multi-turn SFT dataset pass it to the chat template as it is (no JSON decoding)."""
    from datasets import List, Value

    text = Value("string")
    parameters = {
        "type": text,
        "properties": {"code": {"type": text, "description": text}},
        "required": List(text),
    }
    return List({"type": text, "function": {"name": text, "description": text, "parameters": parameters}})


def quality_features() -> dict[str, Any]:
    """The trace-quality columns (`retool_data.trace_quality.QUALITY_COLUMNS`) as dataset features."""
    from datasets import List, Value

    return {
        "tool_use_score": Value("float64"),
        "useful_block_share": Value("float64"),
        "block_labels": List(Value("string")),
    }


def sft_rows(df: pl.DataFrame, tool_protocol: str = "retool") -> list[dict[str, Any]]:
    """The SFT rows; ``messages`` written in ``tool_protocol`` (see the module docstring)."""
    check_protocol(tool_protocol)
    rows = []
    for row in df.iter_rows(named=True):
        out = {c: (None if row.get(c) is None else str(row[c])) for c in STRING_COLUMNS}
        out.update({c: row.get(c) for c in INT_COLUMNS})
        out["answer"] = reference_answer(row)
        out["prompt_template"] = PROMPT_TEMPLATE_ID
        out["format_warnings"] = list(row.get("format_warnings") or [])
        out["decontam_score"] = row.get("decontam_score")
        out["difficulty"] = None if row.get("difficulty") is None else float(row["difficulty"])
        out.update({c: row.get(c) for c in QUALITY_COLUMNS})
        out["tool_protocol"] = tool_protocol
        if tool_protocol == "hermes":
            out["prompt_template"] = HERMES_TEMPLATE.id
            out["tools"] = [code_interpreter_schema()]
            out["messages"] = hermes_messages(row["problem"], row["trace"])
        else:
            out["tools"] = None
            # the prompt SFT trains on is the one GRPO, eval and iTool use (templates.build_prompt_messages)
            out["messages"] = [
                *build_prompt_messages(row["problem"]),
                {"role": "assistant", "content": row["trace"]},
            ]
        rows.append(out)
    return rows


def verl_rows(
    df: pl.DataFrame, data_source: str = "lighteval/MATH", split: str = "train"
) -> list[dict[str, Any]]:
    """verl's RL layout for its tool agent loop (verl's ReTool recipe, `recipe/retool/retool_dataset_utils.py`): one
    user turn in `HERMES_TEMPLATE`, ``agent_name: tool_agent`` (without it verl runs the row single-turn, with no
    tools), and a rule reward on the answer.

    verl routes rewards by `data_source`; ``lighteval/MATH`` selects its last-``\\boxed{}`` math scorer, which is
    how the template asks for the answer (`training.verl.reward.compute_score` replaces it in our launch config).
    The upstream source stays in ``extra_info.source``. One row per problem: several kept responses to one problem
    (`problem_id`) are one RL prompt.
    """
    if "problem_id" in df.columns and df.height:
        df = df.filter(pl.col("problem_id").is_null() | pl.col("problem_id").is_first_distinct())
    return [
        {
            "data_source": data_source,
            # verl's tool agent loop speaks Hermes: the prompt of the Hermes SFT rows, by the same builder
            "prompt": build_prompt_messages(row["problem"], template=HERMES_TEMPLATE),
            "ability": "math",
            "agent_name": "tool_agent",
            "reward_model": {"style": "rule", "ground_truth": str(reference_answer(row) or "")},
            "extra_info": {
                "split": split,
                "index": i,
                "id": str(row.get("id") or ""),
                "source": str(row.get("source") or ""),
                "source_id": str(row.get("source_id") or ""),
                "question": row["problem"],
            },
        }
        for i, row in enumerate(df.iter_rows(named=True))
    ]


def verl_features() -> Any:
    from datasets import Features, List, Value

    return Features(
        {
            "data_source": Value("string"),
            "prompt": List({"role": Value("string"), "content": Value("string")}),
            "ability": Value("string"),
            "agent_name": Value("string"),
            "reward_model": {"style": Value("string"), "ground_truth": Value("string")},
            "extra_info": {
                "split": Value("string"),
                "index": Value("int64"),
                "id": Value("string"),
                "source": Value("string"),
                "source_id": Value("string"),
                "question": Value("string"),
            },
        }
    )


def _dataset(rows: list[dict[str, Any]], features: Any) -> Any:
    """A `datasets.Dataset` of `rows`; no rows still gives every column (``from_list([])`` has none)."""
    from datasets import Dataset

    if rows:
        return Dataset.from_list(rows, features=features)
    return Dataset.from_dict({name: [] for name in features}, features=features)


def export_dataset(
    df: pl.DataFrame,
    out_dir: str | Path,
    *,
    config: dict[str, Any] | None = None,
    stage_summary: list[dict[str, Any]] | None = None,
    rejects: pl.DataFrame | None = None,
    source_revision: str | None = None,
    rows_per_shard: int = 50_000,
    pretty_name: str = "ReTool cold-start traces",
    license: str = "apache-2.0",
    verl_data_source: str = "lighteval/MATH",
    benchmarks: list[dict[str, Any]] | None = None,
    tool_protocol: str = "retool",
) -> ExportResult:
    """Write the SFT dataset (save_to_disk + parquet shards), the verl parquet and the card into `out_dir`.

    ``benchmarks``: what decontamination checked against (`BenchmarkSet.provenance()` of each), for the card.
    ``tool_protocol``: ``retool`` or ``hermes``, how the SFT rows write tool calls (`retool_data.tool_protocol`).
    No rows is a valid export (every file written, with the schema and zero rows; the card says why)."""
    check_protocol(tool_protocol)
    missing = [c for c in ("problem", "trace") if c not in df.columns]
    if missing:
        raise ValueError(f"cannot export: input frame lacks columns {missing}")
    empty = df.filter(
        pl.col("problem").is_null() | pl.col("trace").is_null() | (pl.col("trace").str.strip_chars() == "")
    )
    if empty.height:
        ids = empty["id"].head(5).to_list() if "id" in empty.columns else []
        raise ValueError(
            f"cannot export {empty.height} rows without a problem or trace (ids {ids}); filter first"
        )
    if "block_labels" not in df.columns:  # a frame that skipped the quality stage: score it here
        df = score_traces(df).kept
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in MANAGED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    config = portable_paths(dict(config or {}), out)  # the card's config names no folder of this machine
    config.setdefault(
        "export",
        {
            "rows_per_shard": rows_per_shard,
            "verl_data_source": verl_data_source,
            "tool_protocol": tool_protocol,
        },
    )

    ds = _dataset(sft_rows(df, tool_protocol), sft_features())
    # an empty dataset saved with the default sharding has no arrow file at all and cannot be loaded back
    ds.save_to_disk(str(out / HF_DATASET_DIR), **({"num_shards": 1} if len(ds) == 0 else {}))
    num_shards = max(1, math.ceil(len(ds) / rows_per_shard))
    shards = []
    (out / "data").mkdir()
    for i in range(num_shards):
        path = out / "data" / f"train-{i:05d}-of-{num_shards:05d}.parquet"
        ds.shard(num_shards=num_shards, index=i, contiguous=True).to_parquet(str(path))
        shards.append(path)
    (out / "verl").mkdir()
    verl_path = out / "verl" / "train.parquet"
    _dataset(verl_rows(df, verl_data_source), verl_features()).to_parquet(str(verl_path))
    card = render_card(
        df,
        pretty_name=pretty_name,
        license=license,
        config=config,
        source_revision=source_revision,
        stage_summary=stage_summary,
        rejects=rejects,
        benchmarks=benchmarks,
        export_dir=out,
        tool_protocol=tool_protocol,
    )
    card_path = out / "README.md"
    card_path.write_text(card, encoding="utf-8")
    return ExportResult(out, len(ds), shards, verl_path, card_path, out / HF_DATASET_DIR, config_hash(config))


def _question_from_prompt(content: str) -> str:
    """The problem inside a `HERMES_TEMPLATE` or `RL_TEMPLATE` user turn (the whole turn when in neither)."""
    for template in (HERMES_TEMPLATE, RL_TEMPLATE):
        question = template.unwrap(content)
        if question is not None:
            return question
    return content


def exported_problems(out_dir: str | Path) -> dict[str, list[tuple[str, str, str | None]]]:
    """(id, problem, answer) of every exported row, read back from the written files: ``sft`` from the parquet
    shards' ``problem``, ``verl`` from the RL parquet's user turn (what verl trains on, template removed)."""
    out = Path(out_dir)
    shards = sorted((out / "data").glob("*.parquet"))
    verl = out / "verl" / "train.parquet"
    if not shards or not verl.exists():
        raise FileNotFoundError(f"{out} holds no export (data/*.parquet and verl/train.parquet)")
    sft = pl.concat([pl.read_parquet(p, columns=["id", "problem", "answer"]) for p in shards])
    rl = pl.read_parquet(verl, columns=["prompt", "reward_model", "extra_info"])
    return {
        "sft": [(str(r["id"]), r["problem"] or "", r["answer"]) for r in sft.iter_rows(named=True)],
        "verl": [
            (
                str((r["extra_info"] or {}).get("id") or ""),
                _question_from_prompt(r["prompt"][-1]["content"]),
                (r["reward_model"] or {}).get("ground_truth") or None,
            )
            for r in rl.iter_rows(named=True)
        ],
    }


def push_to_hub(
    out_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = True,
    endpoint: str | None = None,
    commit_message: str = "Upload ReTool cold-start dataset",
) -> str:
    """Create (if needed) the dataset repo and commit README.md, data/ and verl/ in one commit; returns its URL.

    The token comes from the argument or the ``HF_TOKEN`` environment variable, never from a file we write.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    token = token or os.environ.get("HF_TOKEN")
    if not token:
        raise RuntimeError("push_to_hub needs a token: set HF_TOKEN (a write token for the target namespace)")
    out = Path(out_dir)
    files = [
        out / "README.md",
        *sorted((out / "data").glob("*.parquet")),
        *sorted((out / "verl").glob("*.parquet")),
    ]
    absent = [str(f) for f in files if not f.exists()]
    if absent or not (out / "data").is_dir():
        raise FileNotFoundError(
            f"{out} is not an export directory (run export_dataset first): missing {absent}"
        )
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    ops = [
        CommitOperationAdd(path_in_repo=f.relative_to(out).as_posix(), path_or_fileobj=str(f)) for f in files
    ]
    info = api.create_commit(repo_id, ops, commit_message=commit_message, repo_type="dataset")
    return info.commit_url
