"""Materialization metadata people read to decide whether a run is good: counts, reasons, previews, plots.

Every stage asset reports the same keys (`stage_metadata`), so the UI, the checks and `retool-data run`'s
summary read them the same way: ``rows_in``, ``kept``, ``rejected``, ``rejects_by_reason`` (JSON), plus
``llm/*`` (requests, cache hits, tokens, cost, errors) for the stages that call an LLM. Plots are
matplotlib PNGs embedded in Markdown (the UI renders them inline).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

PREVIEW_ROWS = 10
PREVIEW_CHARS = 160
USAGE_KEYS = (
    "requests",
    "cached",
    "sent",
    "retries",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "saved_usd",
)


def reject_counts(rejected: pl.DataFrame) -> dict[str, int]:
    if rejected.height == 0:
        return {}
    counts = rejected.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))


def stage_metadata(rows_in: int, kept: pl.DataFrame, rejected: pl.DataFrame) -> dict[str, Any]:
    return stage_counts(rows_in, kept.height, rejected)


def stage_counts(rows_in: int, kept: int, rejected: pl.DataFrame) -> dict[str, Any]:
    """`stage_metadata` for kept rows that are counted, not held (a streamed source)."""
    return {
        "rows_in": MetadataValue.int(rows_in),
        "kept": MetadataValue.int(kept),
        "rejected": MetadataValue.int(rejected.height),
        "rejects_by_reason": MetadataValue.json(reject_counts(rejected)),
    }


def usage_metadata(usage: Mapping[str, Any] | None, backend: str) -> dict[str, Any]:
    """``llm/*`` keys from a `UsageLedger.as_dict()` (zeros when the role ran without an LLM)."""
    usage = usage or {}
    meta: dict[str, Any] = {"llm/backend": MetadataValue.text(backend)}
    for key in USAGE_KEYS:
        value = usage.get(key, 0) or 0
        meta[f"llm/{key}"] = (
            MetadataValue.float(float(value)) if key.endswith("_usd") else MetadataValue.int(int(value))
        )
    return meta


def _clip(value: Any) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def preview_table(df: pl.DataFrame, columns: Sequence[str], n: int = PREVIEW_ROWS) -> MetadataValue:
    """The first ``n`` rows of ``columns`` (those present), long text clipped to one line."""
    cols = [c for c in columns if c in df.columns]
    schema = TableSchema(columns=[TableColumn(c, "string") for c in cols])
    records = [
        TableRecord({c: _clip(row[c]) for c in cols}) for row in df.head(n).select(cols).iter_rows(named=True)
    ]
    return MetadataValue.table(records=records, schema=schema)


def _png_markdown(fig: Any, title: str) -> MetadataValue:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})")


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=True)  # no display; safe in worker threads and run processes
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(5.5, 3.0))


def histogram_plot(
    values: Sequence[float], title: str, xlabel: str, integer_bins: bool = False
) -> MetadataValue:
    fig, ax = _figure()
    values = [v for v in values if v is not None]
    if values and integer_bins:
        lo, hi = int(min(values)), int(max(values))
        ax.hist(values, bins=[b - 0.5 for b in range(lo, hi + 2)], color="#4c72b0", edgecolor="white")
    elif values:
        ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#4c72b0", edgecolor="white")
    ax.set(title=f"{title} (n={len(values)})", xlabel=xlabel, ylabel="traces")
    return _png_markdown(fig, title)


def bar_plot(counts: Mapping[str, int], title: str) -> MetadataValue:
    fig, ax = _figure()
    labels = list(counts)[::-1]
    ax.barh(labels, [counts[k] for k in labels], color="#c44e52")
    ax.set(title=title, xlabel="rows")
    ax.tick_params(axis="y", labelsize=7)
    return _png_markdown(fig, title)


def trace_plots(df: pl.DataFrame) -> dict[str, MetadataValue]:
    """Code blocks per trace and trace length (characters, and tokens when the filters counted them)."""
    plots = {}
    if "num_code_blocks" in df.columns:
        plots["plot/code_blocks_per_trace"] = histogram_plot(
            df["num_code_blocks"].to_list(), "Code blocks per trace", "code blocks", integer_bins=True
        )
    if "trace" in df.columns:
        length = df["trace_tokens"] if "trace_tokens" in df.columns else df["trace"].str.len_chars()
        unit = "tokens" if "trace_tokens" in df.columns else "characters"
        plots["plot/trace_length"] = histogram_plot(length.to_list(), "Trace length", unit)
    plots.update(quality_plots(df))
    return plots


def quality_plots(df: pl.DataFrame) -> dict[str, MetadataValue]:
    """Tool-use score per trace and the label of every code block (`retool_data.trace_quality`), when scored."""
    if "tool_use_score" not in df.columns or "block_labels" not in df.columns:
        return {}
    from collections import Counter

    labels = Counter(b for row in df["block_labels"].to_list() for b in (row or []))
    return {
        "plot/tool_use_score": histogram_plot(
            df["tool_use_score"].to_list(), "Tool-use score", "useful blocks / blocks"
        ),
        "plot/block_labels": bar_plot(dict(labels.most_common()), "Code blocks by label"),
    }


def json_default(value: Any) -> Any:
    return str(value)


def compact_json(stats: Mapping[str, Any]) -> MetadataValue:
    """Stage stats as JSON metadata (values the JSON encoder does not know become strings)."""
    return MetadataValue.json(json.loads(json.dumps(dict(stats), default=json_default)))


DECONTAM_PANELS = (  # (column, threshold key in the Decontaminator config, label, scale)
    ("decontam_containment", "min_containment", "n-gram containment", 1.0),
    ("decontam_ratio", "min_ratio", "fuzzy ratio / 100", 0.01),
    ("decontam_cosine", "min_cosine", "embedding cosine", 1.0),
)


def decontam_scores_plot(
    kept: pl.DataFrame, rejected: pl.DataFrame, config: Mapping[str, Any]
) -> MetadataValue:
    """Per layer, the kept rows' best score against any item (blue) and the rejected rows' (red), with the
    layer's threshold drawn: how far the closest kept rows are from being removed."""
    import matplotlib.pyplot as plt

    _figure()  # selects the Agg backend
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    removed = [json.loads(r) for r in rejected["row"].to_list()] if "row" in rejected.columns else []
    for ax, (col, key, label, scale) in zip(axes, DECONTAM_PANELS, strict=True):
        values = [v for v in kept[col].to_list() if v is not None] if col in kept.columns else []
        hits = [r[col] for r in removed if r.get(col) is not None]
        bins = [i / 40 for i in range(41)]
        ax.hist(
            [v * scale for v in values], bins=bins, color="#4c72b0", label=f"kept ({len(values)})", log=True
        )
        if hits:
            ax.hist(
                [v * scale for v in hits],
                bins=bins,
                color="#c44e52",
                alpha=0.8,
                label=f"removed ({len(hits)})",
                log=True,
            )
        if config.get(key) is not None:
            ax.axvline(
                float(config[key]) * scale, color="black", linestyle="--", label=f"threshold {config[key]}"
            )
        ax.set(title=label, xlabel="score", ylabel="rows")
        ax.legend(fontsize=7)
    return _png_markdown(fig, "Decontamination scores")


def closest_kept_table(kept: pl.DataFrame, n: int = 20) -> MetadataValue:
    """The kept rows nearest to a benchmark item, for review: score, nearest item, per-layer scores, problem."""
    cols = ["decontam_score", "decontam_nearest", "decontam_reason", "decontam_containment", "decontam_ratio",
            "decontam_cosine", "id", "problem"]  # fmt: skip
    if "decontam_score" not in kept.columns:
        return preview_table(kept.head(0), cols)
    return preview_table(kept.sort("decontam_score", descending=True, nulls_last=True), cols, n=n)
