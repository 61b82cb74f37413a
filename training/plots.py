"""Training plots (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def plot_loss_curve(
    loss_history: Sequence[tuple[int, float]], path: str | Path, title: str = "SFT loss"
) -> Path:
    """Write a PNG of (step, loss) pairs to `path` and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not loss_history:
        raise ValueError("no loss values to plot: set logging_steps so that training logs at least once")
    steps, losses = zip(*loss_history, strict=True)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    try:
        ax.plot(steps, losses, marker="o" if len(steps) < 50 else None, linewidth=1.5)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss (masked NLL per trained token)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out
