"""Trace quality of the rewriters on real text reasoning nobody wrote for this project (issue 17's acceptance).

    python benchmarks/trace_quality.py --benchmarks-dir ../shared/data/benchmarks --split heldout

The worked solutions of MATH-500 and Minerva-Math are used as the ``reasoning`` of source rows (gold answer: the
set's answer, else the solution's box). The rows go through verification (rules), the rewrite (heuristic by
default; ``--endpoint`` for an OpenAI-compatible rewriter such as `retool-data serve-local`) and the filter chain
without dedup and decontamination (these problems *are* benchmark items, and dedup is about problem identity, not
trace quality): format/length/answer rules, the execution consistency check in the sandbox, then the trace-quality
stage. Printed: how many verified problems reach the export, why the others were dropped, and the scorer's figures
(`retool_data.trace_quality.summarize`): re-derived, trivial, contradicted and premature block shares, useful
share, traces opening with code, traces with exactly one boxed answer.

The set is split by problem id: ``heldout`` (one third, ``int(id, 16) % 3 == 0``) gives the reported figures;
``tune`` is what the rewriter was developed on. ``--rewrite-only OUT`` stops after the rewrite and writes the
frame (this works in a checkout without the scorer, to get "before" traces); ``--score FILE`` scores the traces
of a parquet written that way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from retool_data.answers import extract_answer  # noqa: E402
from retool_data.schema import PROBLEM_SCHEMA, conform, problem_id  # noqa: E402
from retool_data.stages.verify import verify  # noqa: E402

SETS = ("math500", "minerva_math")


def source_rows(benchmarks_dir: Path, sets: tuple[str, ...], split: str) -> pl.DataFrame:
    rows: list[dict[str, Any]] = []
    for name in sets:
        with open(benchmarks_dir / name / "test.jsonl", encoding="utf-8") as f:
            for i, line in enumerate(f):
                item = json.loads(line)
                pid = problem_id(item["problem"])
                held = int(pid, 16) % 3 == 0
                if (split == "heldout" and not held) or (split == "tune" and held):
                    continue
                rows.append(
                    {
                        "id": pid,
                        "dataset": name,
                        "source": name,
                        "source_id": str(i),
                        "problem": item["problem"],
                        "reasoning": item["solution"],
                        "solution": None,
                        "gold_solution": item["solution"],
                        "gold_answer": item.get("answer") or extract_answer(item["solution"]),
                        "domain": "math",
                        "difficulty": None,
                    }
                )
    df = conform(
        pl.DataFrame(rows, schema_overrides=PROBLEM_SCHEMA, infer_schema_length=None), PROBLEM_SCHEMA
    )
    return df.unique("id", keep="first", maintain_order=True)


def rewrite(df: pl.DataFrame, sandbox: Any, args: argparse.Namespace) -> Any:
    if args.scripted_llm:
        return scripted_rewrite(df, sandbox)
    if args.endpoint:
        from retool_data.llm import make_chat_backend
        from retool_data.stages.rewrite import DEFAULT_REWRITE_PARAMS
        from retool_data.stages.rewrite import rewrite as llm_rewrite

        chat = make_chat_backend(
            "openai", model=args.model, endpoint=args.endpoint, concurrency=args.concurrency, use_cache=False
        )
        params = {**DEFAULT_REWRITE_PARAMS, "max_tokens": args.max_tokens}
        return llm_rewrite(df, chat, params=params)
    from retool_data.stages.heuristic_rewrite import heuristic_rewrite

    return heuristic_rewrite(df, sandbox)


def scripted_rewrite(df: pl.DataFrame, sandbox: Any) -> Any:
    """The LLM rewrite stage against the fault-injecting test server (`benchmarks/scripted_rewriter.py`)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scripted_rewriter import make_responder, reply_kind

    from retool_data.llm import make_chat_backend
    from retool_data.stages.heuristic_rewrite import heuristic_rewrite
    from retool_data.stages.rewrite import rewrite as llm_rewrite
    from tests.retool_data.llm.fake_openai import FakeOpenAIServer

    heuristic = heuristic_rewrite(df, sandbox).kept
    working = dict(zip(heuristic["problem"], heuristic["trace"], strict=True))
    rows = [{**r, "answer": r["gold_answer"]} for r in df.to_dicts()]
    with FakeOpenAIServer(make_responder(rows, working)) as server:
        chat = make_chat_backend(
            "openai", model="scripted", endpoint=server.base_url, concurrency=8, max_retries=3,
            timeout_s=5.0, use_cache=False, progress=False,
        )  # fmt: skip
        result = llm_rewrite(df, chat)
        result.stats["server_requests"] = len(server.records())
    kinds = [
        reply_kind(p) if reply_kind(p) != "working" or p in working else "decorating" for p in df["problem"]
    ]
    result.stats["reply_kinds"] = dict(zip(df["problem"].to_list(), kinds, strict=True))
    return result


def score(frame: pl.DataFrame) -> dict[str, Any]:
    try:
        from retool_data.trace_quality import score_trace, summarize
    except ImportError:  # a checkout before the scorer: --dump the rows, then --score them from this one
        return {"unavailable": "no retool_data.trace_quality in this checkout"}

    return summarize(score_trace(t) for t in frame["trace"].to_list())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks-dir", type=Path, default=Path("../shared/data/benchmarks"))
    ap.add_argument("--sets", nargs="+", default=list(SETS))
    ap.add_argument("--split", choices=("tune", "heldout", "all"), default="heldout")
    ap.add_argument("--limit", type=int, default=None, help="first N rows of the split")
    ap.add_argument("--endpoint", default=None, help="OpenAI-compatible rewriter (else the heuristic)")
    ap.add_argument(
        "--scripted-llm", action="store_true", help="the LLM path against the test server's script"
    )
    ap.add_argument("--model", default="rewriter")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=2048)
    ap.add_argument("--rewrite-only", type=Path, default=None, help="write the rewritten frame here and stop")
    ap.add_argument("--score", type=Path, default=None, help="score the traces of this parquet and stop")
    ap.add_argument("--dump", type=Path, default=None, help="also write the exported rows here")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    if args.score:
        print(json.dumps(score(pl.read_parquet(args.score).filter(pl.col("trace").is_not_null())), indent=1))
        return
    from sandbox import Sandbox

    df = source_rows(args.benchmarks_dir, tuple(args.sets), args.split)
    if args.limit:
        df = df.head(args.limit)
    verified = verify(df)
    report: dict[str, Any] = {"split": args.split, "rows": df.height, "verified": verified.kept.height}
    with Sandbox(workers=2, timeout_s=10.0) as sb:
        t0 = time.perf_counter()
        rewritten = rewrite(verified.kept, sb, args)
        report["rewrite_s"] = round(time.perf_counter() - t0, 2)
        report["rewrite_rows_per_s"] = round(verified.kept.height / report["rewrite_s"], 1)
        report["rewrite_rejects"] = rewritten.reject_counts()
        if "final_checks" in rewritten.stats:  # the heuristic: which final checks were planned, which dropped
            report["final_checks"] = rewritten.stats["final_checks"]
            report["blocks_dropped"] = rewritten.stats["blocks_dropped"]
        if args.rewrite_only:
            rewritten.kept.write_parquet(args.rewrite_only)
            print(json.dumps(report, indent=1))
            return
        from retool_data.filtering import FilterConfig, run_filters

        config = FilterConfig(near_dup_threshold=None, benchmarks=())
        t0 = time.perf_counter()
        kept, quarantine = run_filters(rewritten.kept, config, sandbox=sb, dedup_enabled=False)
        report["filters_s"] = round(time.perf_counter() - t0, 2)
    report["exported"] = kept.height
    report["reach"] = round(kept.height / max(1, verified.kept.height), 4)
    report["filter_rejects"] = {s["stage"]: s["reasons"] for s in quarantine.summary() if s["reasons"]}
    report["by_set"] = {
        name: {
            "verified": verified.kept.filter(pl.col("dataset") == name).height,
            "exported": kept.filter(pl.col("dataset") == name).height,
        }
        for name in args.sets
    }
    if args.dump:
        kept.write_parquet(args.dump)
    report["quality"] = score(kept)
    report["quality_rewritten"] = score(rewritten.kept)
    kinds = rewritten.stats.get("reply_kinds")
    if kinds:  # the scripted LLM: the figures per kind of reply
        report["server_requests"] = rewritten.stats["server_requests"]
        kept_kind = kept.with_columns(kind=pl.col("problem").replace_strict(kinds, default=None))
        report["by_reply_kind"] = {
            kind: {"sent": sum(v == kind for v in kinds.values()), "exported": sub.height, **score(sub)}
            for kind in sorted(set(kinds.values()))
            for sub in [kept_kind.filter(pl.col("kind") == kind)]
        }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
