"""Decontamination accuracy on the shipped evaluation set (`benchmarks/decontam_eval/`), both halves.

    python benchmarks/decontam_accuracy.py [--benchmarks-dir DIR] [--layers exact,ngram,fuzzy,semantic]
    python benchmarks/decontam_accuracy.py --tune      # threshold sweep on the tune half only

Prints, per half (``tune`` chose the thresholds, ``test`` did not take part): recall on rephrased copies (found,
with the right benchmark item, as ``benchmark_contamination``; a copy reported as ``template_variant`` is counted
apart), how number-changed variants were reported, and false positives on the clean problems (any flag).
Targets: recall >= 0.95, false positives <= 1%, variants reported as ``template_variant``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retool_data.benchmark_sets import load_benchmark  # noqa: E402
from retool_data.stages.decontam import REASON, TEMPLATE_REASON, Decontaminator  # noqa: E402

EVALSET = Path(__file__).resolve().parent / "decontam_eval" / "evalset.jsonl.gz"
NAMES = ("aime24", "aime25", "amc23", "math500")


def load_evalset(path: Path = EVALSET) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def load_bench(bdir: Path | None) -> tuple[dict[str, list[str]], dict[str, list[str | None]]]:
    from retool_data.benchmark_sets import resolve_benchmark_paths

    paths = resolve_benchmark_paths(NAMES, bdir)
    rows = {n: load_benchmark(n, p) for n, p in paths.items()}
    return {n: [r["problem"] for r in rs] for n, rs in rows.items()}, {
        n: [r["answer"] for r in rs] for n, rs in rows.items()
    }


def score(rows: list[dict], matches: list) -> dict[str, dict]:
    """Per split: copies found (right item), variants as template_variant, clean rows flagged."""
    out: dict[str, dict] = {}
    for split in ("tune", "test"):
        c: Counter[str] = Counter()
        by_transform: dict[str, Counter] = defaultdict(Counter)
        for r, m in zip(rows, matches, strict=True):
            if r["split"] != split:
                continue
            hit = m is not None and m.reason is not None
            right = hit and (m.benchmark, m.index) == (r["benchmark"], r["index"])
            c[r["kind"]] += 1
            if r["kind"] == "copy":
                c["copy_found"] += right and m.reason == REASON
                c["copy_as_variant"] += right and m.reason == TEMPLATE_REASON
                by_transform[r["transform"]]["n"] += 1
                by_transform[r["transform"]]["found"] += right and m.reason == REASON
            elif r["kind"] == "variant":
                c["variant_ok"] += right and m.reason == TEMPLATE_REASON
                c["variant_as_copy"] += right and m.reason == REASON
                by_transform[r["transform"]]["n"] += 1
                by_transform[r["transform"]]["found"] += right and m.reason == TEMPLATE_REASON
            else:
                c["clean_flagged"] += hit
                if hit:
                    c[f"clean_flagged_{r['transform']}"] += 1
            if hit:
                c[f"layer_{m.layer}"] += 1
        out[split] = {"counts": dict(c), "by_transform": {k: dict(v) for k, v in by_transform.items()}}
        out[split]["recall"] = c["copy_found"] / max(1, c["copy"])
        out[split]["variant_rate"] = c["variant_ok"] / max(1, c["variant"])
        out[split]["fp_rate"] = c["clean_flagged"] / max(1, c["clean"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks-dir", type=Path, default=None, help="default: the bundled/Hub benchmarks")
    ap.add_argument("--layers", default="exact,ngram,fuzzy,semantic")
    ap.add_argument("--min-cosine", type=float, default=None)
    ap.add_argument("--candidate-tfidf", type=float, default=None)
    ap.add_argument(
        "--tune", action="store_true", help="sweep thresholds on the tune half (see tune_thresholds)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    rows = load_evalset()
    problems, answers = load_bench(args.benchmarks_dir)
    if args.tune:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from decontam_eval.tune import tune_thresholds

        tune_thresholds([r for r in rows if r["split"] == "tune"], problems, answers)
        return
    options = {
        k: v
        for k, v in (("min_cosine", args.min_cosine), ("candidate_tfidf", args.candidate_tfidf))
        if v is not None
    }
    t0 = time.perf_counter()
    dc = Decontaminator(problems, answers=answers, layers=tuple(args.layers.split(",")), **options)
    matches = dc.nearest_many([r["problem"] for r in rows], [r["answer"] for r in rows])
    took = time.perf_counter() - t0
    result = score(rows, matches)
    print(
        f"{len(rows)} rows in {took:.1f} s ({dc.stats.get('embedded', 0)} embedded); config {json.dumps(dc.config())}"
    )
    for split, r in result.items():
        c = r["counts"]
        print(
            f"{split:>5}: recall {r['recall']:.3f} ({c.get('copy_found', 0)}/{c.get('copy', 0)}; "
            f"{c.get('copy_as_variant', 0)} called template_variant) | variants as template_variant "
            f"{r['variant_rate']:.3f} ({c.get('variant_ok', 0)}/{c.get('variant', 0)}; {c.get('variant_as_copy', 0)} "
            f"called copies) | clean flagged {r['fp_rate']:.4f} ({c.get('clean_flagged', 0)}/{c.get('clean', 0)})"
        )
        print(
            "       per transform (found/n): "
            + ", ".join(f"{k} {v.get('found', 0)}/{v['n']}" for k, v in sorted(r["by_transform"].items()))
        )
        print(
            "       flags by layer: "
            + ", ".join(f"{k[6:]} {v}" for k, v in sorted(c.items()) if k.startswith("layer_"))
        )
    if args.json:
        args.json.write_text(json.dumps({"config": dc.config(), "seconds": took, **result}, indent=2))


if __name__ == "__main__":
    main()
