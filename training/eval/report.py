"""Evaluation reports: ``report.json`` + ``report.md`` + ``plots/`` for one run, and the comparison of two runs.

A report is always rebuilt from ``samples.jsonl`` and ``eval_config.json`` (`report_from_run`), so any number in
it can be traced to the samples behind it: ``problems.jsonl`` has each problem's count of correct samples, its
pass@k and its majority answer; ``samples.jsonl`` has every sample's trace, answer and behaviour fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.eval.metrics import ProblemResult, avg_key, problem_results, summarize
from training.eval.store import CONFIG_FILE, SAMPLES_FILE, read_samples

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
PROBLEMS_FILE = "problems.jsonl"
PLOTS_DIR = "plots"

# (metric, column title, format) of the behaviour table and plots; ReTool §3.4's analysis
BEHAVIOUR = (
    ("response_length", "response length (tokens)", "{:.0f}"),
    ("code_ratio", "code ratio", "pct"),
    ("tool_calls", "code blocks / response", "{:.2f}"),
    ("code_success_rate", "code pass rate", "pct"),
    ("first_call_position", "first call (tokens)", "{:.0f}"),
    ("first_call_ratio", "first call (share)", "pct"),
    ("truncation_rate", "truncated", "pct"),
    ("answered_rate", "answered", "pct"),
)
RUN_FIELDS = (
    "model",
    "backend",
    "endpoint",
    "tokenizer",
    "use_tools",
    "max_tool_calls",
    "num_samples",
    "temperature",
    "top_p",
    "top_k",
    "max_completion_tokens",
    "seed",
)


def _clean(value: Any) -> Any:
    """NaN -> None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(eval_config.json, the samples in the run's scope: its benchmarks' problems, sample index < num_samples)."""
    run = Path(run_dir)
    if not (run / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run} is not an evaluation run (no {CONFIG_FILE})")
    payload = json.loads((run / CONFIG_FILE).read_text(encoding="utf-8"))
    scope = {(b, str(p)) for b, ids in payload["problems"].items() for p in ids}
    k = int(payload["config"]["num_samples"])
    records = [
        r
        for r in read_samples(run / SAMPLES_FILE)
        if (r["benchmark"], str(r["problem_id"])) in scope and int(r["sample_index"]) < k
    ]
    return payload, records


def build_report(
    payload: Mapping[str, Any], records: Sequence[Mapping[str, Any]], label: str
) -> tuple[dict[str, Any], list[ProblemResult]]:
    config = payload["config"]
    ks = config.get("pass_ks")
    problems = problem_results(records)
    order = {b: {str(p): i for i, p in enumerate(ids)} for b, ids in payload["problems"].items()}
    problems.sort(key=lambda p: (list(order).index(p.benchmark), order[p.benchmark].get(p.problem_id, 0)))
    benchmarks: dict[str, Any] = {}
    for bench, ids in payload["problems"].items():
        mine = [p for p in problems if p.benchmark == bench]
        samples = [r for r in records if r["benchmark"] == bench]
        benchmarks[bench] = {**summarize(mine, samples, ks), "problems_in_scope": len(ids)}
    expected = sum(len(ids) for ids in payload["problems"].values()) * int(config["num_samples"])
    report = {
        "run": {
            "label": label,
            **{k: config.get(k) for k in RUN_FIELDS},
            "template": payload["fingerprint"]["prompt_template"],
        },
        "complete": len(records) == expected,
        "samples": len(records),
        "samples_expected": expected,
        "benchmarks": benchmarks,
        "overall": summarize(problems, records, ks),
        "training_overlap": payload.get("training_overlap", []),  # evaluated problems close to training rows
        "files": {"samples": "samples.jsonl", "problems": PROBLEMS_FILE, "markdown": REPORT_MD},
    }
    return _clean(report), problems


def report_from_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Path]]:
    """Rebuild and write the report of a run directory; returns (report, written files)."""
    run = Path(run_dir)
    payload, records = load_run(run)
    label = payload["config"].get("label") or run.resolve().name
    report, problems = build_report(payload, records, label)
    files = {"json": run / REPORT_JSON, "markdown": run / REPORT_MD, "problems": run / PROBLEMS_FILE}
    with files["problems"].open("w", encoding="utf-8") as fh:
        for p in problems:  # the k values its benchmark reports
            ks = [int(k.split("@")[1]) for k in report["benchmarks"][p.benchmark] if k.startswith("pass@")]
            fh.write(json.dumps(_clean(p.to_dict(ks)), ensure_ascii=False) + "\n")
    plots = run / PLOTS_DIR
    files["accuracy_plot"] = plot_accuracy(report, plots / "accuracy.png")
    files["behaviour_plot"] = plot_behaviour(report, plots / "behaviour.png")
    files["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    files["markdown"].write_text(render_markdown(report), encoding="utf-8")
    return report, files


# ------------------------------------------------------------------------------------------------ markdown


def fmt_value(value: Any, how: str = "pct") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if how == "pct":
        return f"{100 * float(value):.1f}%"
    return how.format(float(value))


def accuracy_keys(metrics: Mapping[str, Any]) -> list[str]:
    avg = avg_key(metrics)
    pass_ks = [k for k in metrics if k.startswith("pass@")]
    maj_ks = [k for k in metrics if k.startswith("maj@")]
    return ([avg] if avg else []) + pass_ks + maj_ks


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def render_markdown(report: Mapping[str, Any]) -> str:
    run = report["run"]
    benches = report["benchmarks"]
    tools = f"code interpreter on (max {run['max_tool_calls']} calls)" if run["use_tools"] else "text only"
    lines = [
        f"# Evaluation: {run['label']}",
        "",
        f"- model `{run['model']}` on backend `{run['backend']}`"
        + (f" ({run['endpoint']})" if run.get("endpoint") else ""),
        f"- {tools}, template `{run['template']}`",
        f"- {run['num_samples']} samples per problem, temperature {run['temperature']}, top-p {run['top_p']}, "
        f"budget {run['max_completion_tokens']} tokens, seed {run['seed']}",
        f"- samples: {report['samples']} of {report['samples_expected']}"
        + ("" if report["complete"] else " (**incomplete run**: metrics cover the samples saved so far)"),
        *(
            [
                f"- **warning**: {len(report['training_overlap'])} evaluated problem(s) close to a training row: "
                + ", ".join(
                    f"{h['benchmark']}/{h['problem_id']} ({h['reason']}, {h['dataset']} row {h['training_row']})"
                    for h in report["training_overlap"][:10]
                )
            ]
            if report.get("training_overlap")
            else []
        ),  # fmt: skip
        "",
        "## Accuracy",
        "",
    ]
    keys = list(dict.fromkeys(k for m in benches.values() for k in accuracy_keys(m)))
    rows = [[b, str(m.get("problems", 0)), *(fmt_value(m.get(k)) for k in keys)] for b, m in benches.items()]
    rows.append(
        [
            "**all**",
            str(report["overall"].get("problems", 0)),
            *(fmt_value(report["overall"].get(k)) for k in keys),
        ]
    )
    lines += md_table(["benchmark", "problems", *keys], rows)
    lines += ["", "![accuracy](plots/accuracy.png)", "", "## Behaviour", ""]
    rows = [[b, *(fmt_value(m.get(k), how) for k, _, how in BEHAVIOUR)] for b, m in benches.items()]
    rows.append(["**all**", *(fmt_value(report["overall"].get(k), how) for k, _, how in BEHAVIOUR)])
    lines += md_table(["benchmark", *(title for _, title, _ in BEHAVIOUR)], rows)
    lines += [
        "",
        "![behaviour](plots/behaviour.png)",
        "",
        "## Files",
        "",
        "- `samples.jsonl`: every sample (trace, tool calls, answer, correctness, behaviour fields), keyed by "
        "(benchmark, problem_id, sample_index)",
        "- `problems.jsonl`: per problem: samples n, correct c, pass@k, majority answer, maj@k",
        "- metric definitions: docs/evaluation.md",
        "",
    ]
    return "\n".join(lines)


def summary_line(report: Mapping[str, Any], *, generated: int, output_dir: str) -> str:
    parts = []
    for bench, m in report["benchmarks"].items():
        avg = avg_key(m)
        if avg:
            parts.append(f"{bench} {avg} {fmt_value(m[avg])}")
    return (
        f"eval {report['run']['label']}: {'; '.join(parts)} ({generated} samples generated) -> {output_dir}"
    )


# ------------------------------------------------------------------------------------------------ plots


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_groups(
    ax: Any, groups: Sequence[str], series: Mapping[str, Sequence[float | None]], pct: bool
) -> None:
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        ys = [float("nan") if v is None else (100 * v if pct else v) for v in values]
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(range(len(groups)), groups)
    ax.grid(axis="y", alpha=0.3)


def save_figure(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_accuracy(report: Mapping[str, Any], path: str | Path) -> Path:
    """Bars per benchmark: avg@n, pass@n and maj@n."""
    plt = pyplot()
    benches = report["benchmarks"]
    names = list(benches)
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    try:
        series: dict[str, list[float | None]] = {}
        for kind in ("avg", "pass", "maj"):
            keys = [
                max(
                    (k for k in m if k.startswith(kind + "@")),
                    key=lambda k: int(k.split("@")[1]),
                    default=None,
                )
                for m in benches.values()
            ]
            label = kind + "@" + "/".join(sorted({k.split("@")[1] for k in keys if k}))
            series[label] = [benches[b].get(k) if k else None for b, k in zip(names, keys, strict=True)]
        bar_groups(ax, names, series, pct=True)
        ax.set_ylabel("% of problems")
        ax.set_ylim(0, 100)
        ax.set_title(f"Accuracy: {report['run']['label']}")
        ax.legend()
        return save_figure(fig, Path(path))
    finally:
        plt.close(fig)


def plot_behaviour(
    report: Mapping[str, Any], path: str | Path, runs: Mapping[str, Mapping[str, Any]] | None = None
) -> Path:
    """One panel per behaviour metric, bars per benchmark (one colour per run when comparing)."""
    plt = pyplot()
    runs = runs or {report["run"]["label"]: report}
    names = list(dict.fromkeys(b for r in runs.values() for b in r["benchmarks"]))
    metrics = BEHAVIOUR[:6]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6), dpi=100)
    try:
        for ax, (key, title, how) in zip(axes.flat, metrics, strict=True):
            series = {
                label: [r["benchmarks"].get(b, {}).get(key) for b in names] for label, r in runs.items()
            }
            bar_groups(ax, names, series, pct=how == "pct")
            ax.set_title(title + (" (%)" if how == "pct" else ""), fontsize=10)
        if len(runs) > 1:
            axes.flat[0].legend(fontsize=8)
        fig.suptitle("Behaviour: " + " vs ".join(runs))
        return save_figure(fig, Path(path))
    finally:
        plt.close(fig)
