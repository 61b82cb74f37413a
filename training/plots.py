"""Training plots (matplotlib, headless): SFT's loss curve and GRPO's behaviour curves, one PNG per metric, read
from the trainer's log history (the same numbers the run's tracker, e.g. TensorBoard, receives)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# GRPO's curves: file stem -> (log-history key, y-axis label). "reward" is TRL's weighted sum of the rewards.
GRPO_CURVES: dict[str, tuple[str, str]] = {
    "reward": ("reward", "mean reward"),
    "code_ratio": ("retool/code_ratio", "share of rollouts with a tool call"),
    "tool_calls": ("retool/tool_calls", "tool calls per rollout"),
    "response_length": ("retool/response_length", "completion tokens (interpreter included)"),
    "truncation_rate": ("retool/truncation_rate", "share of rollouts out of budget"),
}


def _plot_series(series: Sequence[tuple[int, float]], path: str | Path, title: str, ylabel: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, values = zip(*series, strict=True)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    try:
        ax.plot(steps, values, marker="o" if len(steps) < 50 else None, linewidth=1.5)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out


def plot_loss_curve(
    loss_history: Sequence[tuple[int, float]], path: str | Path, title: str = "SFT loss"
) -> Path:
    """Write a PNG of (step, loss) pairs to `path` and return it."""
    if not loss_history:
        raise ValueError("no loss values to plot: set logging_steps so that training logs at least once")
    return _plot_series(loss_history, path, title, "loss (masked NLL per trained token)")


def metric_series(history: Sequence[Mapping[str, Any]], key: str) -> list[tuple[int, float]]:
    """(step, value) of one logged metric; NaN values (a rate with no denominator) are skipped."""
    out = []
    for h in history:
        value = h.get(key)
        if "step" in h and isinstance(value, (int, float)) and value == value:
            out.append((int(h["step"]), float(value)))
    return out


def plot_metric_curves(
    history: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    curves: Mapping[str, tuple[str, str]] = GRPO_CURVES,
    title_prefix: str = "GRPO",
) -> dict[str, str]:
    """One PNG per curve with values (``out_dir/<name>.png``); returns name -> path of those written."""
    written = {}
    for name, (key, ylabel) in curves.items():
        series = metric_series(history, key)
        if series:
            path = _plot_series(
                series, Path(out_dir) / f"{name}.png", f"{title_prefix} {name.replace('_', ' ')}", ylabel
            )
            written[name] = str(path)
    return written


def tensorboard_dir(output_dir: str | Path) -> str | None:
    """Where transformers' TensorBoard callback wrote this run's event files (``$TENSORBOARD_LOGGING_DIR``, else
    ``output_dir/runs``), or None when there are none."""
    import os

    runs = Path(os.environ.get("TENSORBOARD_LOGGING_DIR") or Path(output_dir) / "runs")
    return str(runs) if any(runs.glob("**/events.out.tfevents.*")) else None
