"""Compare two evaluation runs (SFT vs RL, tools vs text-only): ``compare.json``, ``compare.md`` and plots.

Both reports are rebuilt from their samples first (`training.eval.report.report_from_run`). For every benchmark
of either run: each accuracy metric both runs report (``avg@n`` is matched by name, so compare runs with the
same number of samples for an exact avg@k; otherwise each run's own avg is shown), and every behaviour metric,
with B - A.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training.eval.metrics import avg_key
from training.eval.report import (
    BEHAVIOUR,
    accuracy_keys,
    bar_groups,
    fmt_value,
    md_table,
    plot_behaviour,
    pyplot,
    report_from_run,
    save_figure,
)

COMPARE_JSON = "compare.json"
COMPARE_MD = "compare.md"


def _delta(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else float(b) - float(a)


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """{"a": label, "b": label, "benchmarks": {bench: {metric: {"a", "b", "delta"}}}} over shared metrics."""
    out: dict[str, Any] = {
        "a": a["run"]["label"],
        "b": b["run"]["label"],
        "runs": {"a": a["run"], "b": b["run"]},
    }
    benches: dict[str, Any] = {}
    names = list(dict.fromkeys([*a["benchmarks"], *b["benchmarks"]]))
    for bench in names:
        ma, mb = a["benchmarks"].get(bench, {}), b["benchmarks"].get(bench, {})
        row: dict[str, Any] = {}
        ka, kb = avg_key(ma), avg_key(mb)
        if ka or kb:
            av, bv = ma.get(ka) if ka else None, mb.get(kb) if kb else None
            row["avg@k"] = {"a": av, "b": bv, "delta": _delta(av, bv), "a_key": ka, "b_key": kb}
        shared = [k for k in accuracy_keys(ma) if k in mb and not k.startswith("avg@")]
        for key in shared + [k for k, _, _ in BEHAVIOUR]:
            row[key] = {"a": ma.get(key), "b": mb.get(key), "delta": _delta(ma.get(key), mb.get(key))}
        benches[bench] = row
    out["benchmarks"] = benches
    return out


def render_compare_markdown(cmp: Mapping[str, Any]) -> str:
    a, b = cmp["a"], cmp["b"]
    lines = [f"# Comparison: {a} (A) vs {b} (B)", ""]
    for side in ("a", "b"):
        run = cmp["runs"][side]
        tools = "tools" if run["use_tools"] else "text only"
        lines.append(
            f"- {side.upper()} `{run['label']}`: `{run['model']}` ({run['backend']}, {tools}, "
            f"{run['num_samples']} samples, T={run['temperature']}, top-p {run['top_p']})"
        )
    lines += ["", "![accuracy](plots/compare_accuracy.png)", "![behaviour](plots/compare_behaviour.png)", ""]
    pct = {k for k, _, how in BEHAVIOUR if how == "pct"}
    for bench, row in cmp["benchmarks"].items():
        lines += [f"## {bench}", ""]
        rows = []
        for key, v in row.items():
            how = "pct" if key in pct or "@" in key else next(h for k, _, h in BEHAVIOUR if k == key)
            delta = v["delta"]
            d = "–" if delta is None else ("+" if delta >= 0 else "") + fmt_value(delta, how)
            rows.append([key, fmt_value(v["a"], how), fmt_value(v["b"], how), d])
        lines += md_table(["metric", f"A {a}", f"B {b}", "B - A"], rows) + [""]
    return "\n".join(lines)


def plot_compare_accuracy(cmp: Mapping[str, Any], path: Path) -> Path:
    plt = pyplot()
    names = list(cmp["benchmarks"])
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    try:
        series = {
            cmp[side]: [cmp["benchmarks"][n].get("avg@k", {}).get(side) for n in names] for side in ("a", "b")
        }
        bar_groups(ax, names, series, pct=True)
        ax.set_ylabel("avg@k (% of problems)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{cmp['a']} vs {cmp['b']}")
        ax.legend()
        return save_figure(fig, path)
    finally:
        plt.close(fig)


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    output_dir: str | Path,
    labels: tuple[str | None, str | None] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Rebuild both reports, compare them and write ``compare.json``, ``compare.md`` and ``plots/`` into
    ``output_dir``; returns (comparison, written files)."""
    report_a, _ = report_from_run(run_a)
    report_b, _ = report_from_run(run_b)
    for report, label in zip((report_a, report_b), labels or (None, None), strict=True):
        if label:
            report["run"]["label"] = label
    if report_a["run"]["label"] == report_b["run"]["label"]:
        report_b["run"]["label"] += " (B)"
    cmp = compare_reports(report_a, report_b)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / COMPARE_JSON, "markdown": out / COMPARE_MD}
    files["accuracy_plot"] = plot_compare_accuracy(cmp, out / "plots" / "compare_accuracy.png")
    runs = {report_a["run"]["label"]: report_a, report_b["run"]["label"]: report_b}
    files["behaviour_plot"] = plot_behaviour(report_a, out / "plots" / "compare_behaviour.png", runs=runs)
    files["json"].write_text(json.dumps(cmp, indent=2, ensure_ascii=False), encoding="utf-8")
    files["markdown"].write_text(render_compare_markdown(cmp), encoding="utf-8")
    return cmp, files


def compare_summary(cmp: Mapping[str, Any]) -> str:
    """One line per benchmark: avg@k of A and B and the difference."""
    lines = [f"{cmp['a']} (A) vs {cmp['b']} (B)"]
    for bench, row in cmp["benchmarks"].items():
        v = row.get("avg@k")
        if v:
            d = "–" if v["delta"] is None else f"{100 * v['delta']:+.1f} pts"
            lines.append(f"  {bench}: avg@k {fmt_value(v['a'])} -> {fmt_value(v['b'])} ({d})")
    return "\n".join(lines)
