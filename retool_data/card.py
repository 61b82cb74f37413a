"""The dataset card (README.md) of an exported dataset: YAML metadata plus how the data was made.

A receiving team should be able to answer from the card alone: what is in a row, which pipeline version,
templates and configuration produced it (``config_hash`` identifies the exact thresholds), from which source
revision, how many rows each stage dropped and why, and what the kept rows look like (histograms).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl
import yaml

from retool_data import PIPELINE_VERSION
from retool_data.templates import PROMPT_TEMPLATE_ID
from retool_data.tool_protocol import HERMES_TEMPLATE

TOKEN_BINS = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768)


def config_hash(config: dict[str, Any]) -> str:
    """12 hex digits identifying a configuration (canonical JSON, keys sorted)."""
    blob = json.dumps(config, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def portable_paths(value: Any, export_dir: str | Path | None = None) -> Any:
    """``value`` with every absolute path string made machine-independent, so a published card names no folder
    of the machine that built it: a path inside the export becomes relative to it, one inside the installed
    project (the bundled sample) relative to the project's root (``retool_data/data/...``), any other its
    file name alone. Dicts and lists are walked; other values pass through."""
    if isinstance(value, dict):
        return {k: portable_paths(v, export_dir) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [portable_paths(v, export_dir) for v in value]
    if not isinstance(value, str) or not PurePosixPath(value).is_absolute() or "\n" in value:
        return value
    path = Path(value)
    project = Path(__file__).resolve().parents[1]
    for base in [Path(export_dir).resolve()] if export_dir is not None else []:
        if path.resolve().is_relative_to(base):
            return path.resolve().relative_to(base).as_posix() or "."
    if path.resolve().is_relative_to(project):
        return path.resolve().relative_to(project).as_posix()
    return path.name


def benchmark_table(benchmarks: list[dict[str, Any]] | None) -> str:
    """What decontamination checked against: each benchmark's source, origin, rows and sha256."""
    if not benchmarks:
        return "No benchmark list was recorded for this export (decontamination settings unknown).\n"
    lines = ["| benchmark | source | rows | sha256 | origin |", "|---|---|---:|---|---|"]
    for b in benchmarks:
        lines.append(f"| {b['name']} | {b['source']} | {b['rows']} | `{b['sha256'][:16]}` | {b['origin']} |")
    return "\n".join(lines) + "\n"


def decontam_method(config: dict[str, Any]) -> str:
    """How decontamination checked (layers and thresholds), read from the filter settings in ``config``."""
    f = config.get("filter") or config.get("filters") or {}
    if not isinstance(f, dict) or "decontam_layers" not in f:
        return ""
    layers = list(f["decontam_layers"]) + (["judge"] if f.get("decontam_judge") else [])
    parts = []
    if "ngram" in layers and f.get("decontam_min_containment") is not None:
        parts.append(
            f"ngram: >= {f['decontam_min_containment']} of an item's {f.get('decontam_ngram')}-grams"
        )
    if "fuzzy" in layers and f.get("decontam_min_ratio") is not None:
        parts.append(f"fuzzy: ratio >= {f['decontam_min_ratio']}")
    if "semantic" in layers and f.get("decontam_min_cosine") is not None:
        parts.append(
            f"semantic: cosine >= {f['decontam_min_cosine']} ({f.get('decontam_embedding_model')}, problems with "
            f"TF-IDF cosine >= {f.get('decontam_candidate_tfidf')})"
        )
    if "judge" in layers:
        parts.append(f"judge: LLM on pairs with cosine >= {f.get('decontam_judge_min_cosine')}")
    policy = f.get("decontam_template_policy", "remove")
    return (
        f"Checked with layers `{', '.join(layers)}`: "
        + "; ".join(["exact: canonical text", *parts])
        + f". Template variants (same item, other numbers and answer): {policy}.\n"
    )


def size_category(n: int) -> str:
    for bound, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < bound:
            return label
    return "1M<n<10M"


def _bar_table(title: str, counts: list[tuple[str, int]], width: int = 30) -> str:
    if not counts:
        return f"**{title}**: no rows\n"
    top = max(c for _, c in counts) or 1
    lines = [f"**{title}**\n", f"| {title} | rows | |", "|---|---:|---|"]
    lines += [
        f"| {label} | {c} | {'█' * max(1 if c else 0, round(width * c / top))} |" for label, c in counts
    ]
    return "\n".join(lines) + "\n"


def _token_bins(values: list[int]) -> list[tuple[str, int]]:
    edges = [*TOKEN_BINS, None]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        label = f"{lo}-{hi - 1}" if hi is not None else f">={lo}"
        out.append((label, sum(1 for v in values if v >= lo and (hi is None or v < hi))))
    while out and out[-1][1] == 0:
        out.pop()
    return out


def histograms(df: pl.DataFrame) -> str:
    parts = []
    if "num_code_blocks" in df.columns:
        blocks = Counter(v for v in df["num_code_blocks"].to_list() if v is not None)
        parts.append(_bar_table("code blocks per trace", [(str(k), blocks[k]) for k in sorted(blocks)]))
    if "trace_tokens" in df.columns:
        parts.append(
            _bar_table(
                "trace tokens", _token_bins([v for v in df["trace_tokens"].to_list() if v is not None])
            )
        )
    for column, title in (("source", "source"), ("rewrite_backend", "rewrite backend")):
        if column in df.columns:
            counts = Counter(str(v) for v in df[column].to_list())
            parts.append(_bar_table(title, counts.most_common()))
    return "\n".join(parts)


def stage_table(stage_summary: list[dict[str, Any]] | None, rejects: pl.DataFrame | None) -> str:
    lines = ["| stage | rows in | kept | rejected | reasons |", "|---|---:|---:|---:|---|"]
    if stage_summary:
        for s in stage_summary:
            reasons = ", ".join(f"`{r}` {n}" for r, n in sorted(s.get("reasons", {}).items())) or "-"
            lines.append(f"| {s['stage']} | {s['rows_in']} | {s['kept']} | {s['rejected']} | {reasons} |")
    elif rejects is not None and rejects.height:
        counts = rejects.group_by("stage", "reason").len().sort("stage", "reason")
        for stage in counts["stage"].unique(maintain_order=True).to_list():
            sub = counts.filter(pl.col("stage") == stage)
            reasons = ", ".join(f"`{r}` {n}" for r, n in zip(sub["reason"], sub["len"], strict=True))
            lines.append(f"| {stage} | | | {int(sub['len'].sum())} | {reasons} |")
    else:
        return "No stage accounting was provided to the export (run `retool-data filter` first).\n"
    return "\n".join(lines) + "\n"


def quality_section(df: pl.DataFrame) -> str:
    """How the traces use the tool (`retool_data.trace_quality`), from the rows' quality columns."""
    if "block_labels" not in df.columns or "tool_use_score" not in df.columns:
        return ""
    from retool_data.trace_quality import summarize_labels

    q = summarize_labels(df["block_labels"].to_list(), df["tool_use_score"].to_list())
    purposes = ", ".join(f"{k} {v}" for k, v in sorted(q["useful_purposes"].items())) or "-"
    return f"""## Trace quality (how the code does the work)

Every code block is labelled by `retool_data.trace_quality` (columns `tool_use_score`, `useful_block_share`,
`block_labels`): useful when it solves, enumerates, checks, simplifies or computes something the text does not
redo by hand; otherwise trivial, re-derived by the text after it, contradicted by it, or placed before its
motivation.

| figure | value |
|---|---:|
| traces / code blocks | {q["traces"]} / {q["blocks"]} |
| mean tool-use score | {q["mean_tool_use_score"]:.3f} |
| useful blocks | {q["useful_block_share"]:.1%} ({purposes}) |
| re-derived by hand / trivial | {q["rederived_share"]:.1%} / {q["trivial_share"]:.1%} |
| placed before their motivation / contradicted | {q["premature_share"]:.1%} / {q["contradicted_share"]:.1%} |

"""


def _messages_text(hermes: bool) -> str:
    if hermes:
        return f"""Each row's `messages` is Hermes tool calling: a user turn (template `{HERMES_TEMPLATE.id}`), then assistant
turns that end in `<tool_call>{{"name": "code_interpreter", "arguments": {{"code": ...}}}}</tool_call>`, each
followed by a `tool` turn with the interpreter output, and a final assistant turn with `\\boxed{{...}}`; the `tools`
column holds the JSON schema of `code_interpreter` (pass it as `tools=` to the chat template; verl's multi-turn SFT
dataset reads `messages` and `tools` as they are). When training, mask
the `tool` turns out of the loss."""
    return f"""Each row's `messages` is `[user, assistant]`: the user turn is the problem inside template
`{PROMPT_TEMPLATE_ID}` (the same prompt GRPO, evaluation and iTool use; no system turn, so a chat template adds its
own default), and the assistant turn the trace (`<code>` blocks, `<interpreter>` outputs, and a final
`<answer>\\boxed{{...}}</answer>`). When training, mask the `<interpreter>` spans out of the loss. Program output
that looks like a tag is escaped inside `<interpreter>` (`</interpreter>` is written `&lt;/interpreter>`), so a
printed tag never closes a block."""


def render_card(
    df: pl.DataFrame,
    *,
    pretty_name: str,
    license: str,
    config: dict[str, Any],
    source_revision: str | None,
    stage_summary: list[dict[str, Any]] | None = None,
    rejects: pl.DataFrame | None = None,
    benchmarks: list[dict[str, Any]] | None = None,
    export_dir: str | Path | None = None,
    tool_protocol: str = "retool",
) -> str:
    """README.md text: YAML front matter (Hub metadata + provenance keys) and a markdown body. Paths in
    ``config`` and the rows' ``dataset`` names go through `portable_paths` (relative to ``export_dir``)."""
    config = portable_paths(config, export_dir)
    chash = config_hash(config)
    datasets_used = (
        sorted({str(portable_paths(str(v), export_dir)) for v in df["dataset"].to_list()})
        if "dataset" in df.columns
        else []
    )
    rewrite_templates = (
        sorted({str(v) for v in df["rewrite_template"].drop_nulls().to_list()})
        if ("rewrite_template" in df.columns)
        else []
    )
    hermes = tool_protocol == "hermes"
    prompt_template = HERMES_TEMPLATE.id if hermes else PROMPT_TEMPLATE_ID
    templates = {"prompt": prompt_template, "rl_prompt": HERMES_TEMPLATE.id, "rewrite": rewrite_templates}
    meta = {
        "license": license,
        "language": ["en"],
        "pretty_name": pretty_name,
        "task_categories": ["text-generation"],
        "tags": ["math", "reasoning", "tool-use", "code-interpreter", "retool", "sft"],
        "size_categories": [size_category(df.height)],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": "train", "path": "data/train-*"}],
                "default": True,
            },
            {"config_name": "verl", "data_files": [{"split": "train", "path": "verl/train.parquet"}]},
        ],
        "retool_data": {
            "pipeline_version": PIPELINE_VERSION,
            "config_hash": chash,
            "source_revision": source_revision or "unknown",
            "source_datasets": datasets_used,
            "templates": templates,
            "tool_protocol": tool_protocol,
            "num_rows": df.height,
            "decontaminated_against": [
                {k: b[k] for k in ("name", "source", "rows", "sha256")} for b in benchmarks or []
            ],
        },
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    body = f"""# {pretty_name}

Code-interleaved math reasoning traces for cold-start supervised fine-tuning, built with the ReTool recipe
(arXiv 2504.11536) by `retool-data` {PIPELINE_VERSION}: teacher reasoning whose answers were verified, rewritten
so that calculations run as Python code with their real interpreter output, then filtered (execution consistency,
format, answer, length, dedup, benchmark decontamination).

## Use

```python
from datasets import load_dataset
sft = load_dataset("<this repo>", split="train")            # `messages`: user / assistant
rl = load_dataset("<this repo>", "verl", split="train")     # verl RL parquet layout
```

{_messages_text(hermes)}

## Provenance

| what | value |
|---|---|
| pipeline version | `{PIPELINE_VERSION}` |
| config hash | `{chash}` |
| source revision | `{source_revision or "unknown"}` |
| source datasets | {", ".join(f"`{d}`" for d in datasets_used) or "-"} |
| tool protocol | `{tool_protocol}` |
| SFT prompt template | `{prompt_template}` |
| RL prompt template (verl) | `{HERMES_TEMPLATE.id}` |
| rewrite template(s) | {", ".join(f"`{t}`" for t in rewrite_templates) or "-"} |
| rows | {df.height} |

<details><summary>Full configuration</summary>

```json
{json.dumps(config, indent=2, sort_keys=True, default=str)}
```
</details>

## Benchmarks checked (decontamination)

{benchmark_table(benchmarks)}
{decontam_method(config)}
## Rows dropped, per stage and reason

{stage_table(stage_summary, rejects)}
{quality_section(df)}
## Histograms (kept rows)

{histograms(df)}
## Files

- `data/train-*.parquet`: the SFT rows (this card's `default` config); also saved with `datasets.save_to_disk`.
- `verl/train.parquet`: verl RL layout (`data_source`, `prompt`, `ability`, `agent_name`, `reward_model`,
  `extra_info`), the user turn built with `{HERMES_TEMPLATE.id}`, `agent_name: tool_agent` (verl's multi-turn tool
  agent loop, Hermes tool calls) and `reward_model = {{style: "rule", ground_truth: answer}}`.
"""
    return f"---\n{front}---\n\n{body}"
