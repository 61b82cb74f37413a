"""The iTool run report: one row per round (deficiency set, pairs, held-out pass rate, behaviour metrics) as
``report.json``, ``report.md`` and a plot across rounds (``rounds.png``). Rewritten after every round."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.itool.round import RoundResult

BEHAVIOUR_COLUMNS = ("code_ratio", "tool_calls", "code_success_rate", "response_length", "truncation_rate")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def round_rows(rounds: Sequence[RoundResult], baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Flat per-round rows (the baseline, if any, first as round -1: the starting policy on held-out problems)."""
    rows = []
    if baseline is not None:
        rows.append({"round": -1, "heldout_pass_rate": baseline["pass_rate"], "heldout_pass_at_k": baseline["pass_at_k"],
                     **{k: baseline["behaviour"].get(k) for k in BEHAVIOUR_COLUMNS}})  # fmt: skip
    for r in rounds:
        held = r.heldout or {}
        rows.append(
            {
                "round": r.round,
                "deficient": r.deficient,
                "problems": r.problems,
                "mining_pass_rate": r.mining_pass_rate,
                "searched": r.searched,
                "nodes": r.nodes,
                "fragment_pairs": r.fragment_pairs,
                "trace_pairs": r.trace_pairs,
                "pairs_trained": r.pairs_trained,
                "train_steps": r.train_steps,
                "final_loss": r.final_loss,
                "heldout_pass_rate": held.get("pass_rate"),
                "heldout_pass_at_k": held.get("pass_at_k"),
                **{k: (held.get("behaviour") or {}).get(k) for k in BEHAVIOUR_COLUMNS},
                "stop": r.stop,
            }
        )
    return rows


def write_report(
    out_dir: str | Path,
    rounds: Sequence[RoundResult],
    baseline: dict[str, Any] | None,
    config: dict[str, Any],
) -> dict[str, str]:
    out = Path(out_dir)
    rows = round_rows(rounds, baseline)
    report = {
        "rounds": [asdict(r) for r in rounds],
        "table": rows,
        "baseline": baseline,
        "stop": next((r.stop for r in reversed(rounds) if r.stop), None),
        "final_policy": rounds[-1].policy_out if rounds else None,
        "config": config,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    columns = ["round", "deficient", "mining_pass_rate", "searched", "nodes", "fragment_pairs", "trace_pairs",
               "pairs_trained", "train_steps", "final_loss", "heldout_pass_rate", "heldout_pass_at_k",
               *BEHAVIOUR_COLUMNS, "stop"]  # fmt: skip
    lines = [
        "# iTool run",
        "",
        "Round -1 is the starting policy on the held-out problems. `deficient`: training problems whose pass rate "
        "was below the threshold at the start of the round; `heldout_*` and the behaviour columns: the round's "
        "trained policy on the held-out problems (avg@k, pass@k).",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |" for row in rows),
        "",
        f"Stop: {report['stop'] or 'rounds exhausted'}",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = {"json": str(out / "report.json"), "markdown": str(out / "report.md")}
    files["plot"] = str(plot_rounds(rows, out / "rounds.png"))
    return files


def plot_rounds(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(key: str) -> tuple[list[int], list[float]]:
        pts = [(r["round"], r[key]) for r in rows if r.get(key) is not None and not math.isnan(float(r[key]))]
        return [p[0] for p in pts], [float(p[1]) for p in pts]

    panels = [
        ("deficiency set", ["deficient"]),
        ("preference pairs", ["fragment_pairs", "trace_pairs", "pairs_trained"]),
        ("held-out pass rate", ["heldout_pass_rate", "heldout_pass_at_k"]),
        ("behaviour (held-out)", ["code_ratio", "tool_calls", "code_success_rate"]),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), dpi=100)
    try:
        for ax, (title, keys) in zip(axes.flat, panels, strict=True):
            for key in keys:
                xs, ys = series(key)
                if xs:
                    ax.plot(xs, ys, marker="o", label=key)
            ax.set_title(title)
            ax.set_xlabel("round")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
