"""Our function-call verifier against BFCL's own AST checker on every non-live BFCL case (not only the test's
slice): agreement on each case's gold answer and on its one-call / one-argument corruptions, and the time each
takes per judgement. Needs bfcl-eval (`make install`).

    python benchmarks/fc_verifier.py [--per-category N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

from training.itool import bfcl
from training.itool.envs.tool_calls import gold_from_bfcl, parse_tool_calls, render_calls, verify_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = {}
    for category in bfcl.AST_CATEGORIES:
        cases = bfcl.load_bfcl(category, args.per_category)
        ours_s = theirs_s = parse_s = 0.0
        judged = disagree = 0
        examples = []
        for case in cases:
            tools, gold = case.tools, gold_from_bfcl(case.possible_answer)
            base = bfcl.gold_calls(case)
            for pred in [base, *bfcl.corruptions(base, tools)]:
                clock = time.perf_counter()
                parsed = parse_tool_calls(render_calls(pred))  # the round trip a model's text takes
                parse_s += time.perf_counter() - clock
                assert parsed.calls == pred or not pred
                clock = time.perf_counter()
                ours = verify_calls(pred, gold, tools).valid
                ours_s += time.perf_counter() - clock
                clock = time.perf_counter()
                theirs = bfcl.bfcl_verdict(case, pred)["valid"]
                theirs_s += time.perf_counter() - clock
                judged += 1
                if ours != theirs:
                    disagree += 1
                    examples.append({"id": case.id, "pred": pred, "ours": ours, "bfcl": theirs})
        rows[category] = {"cases": len(cases), "judgements": judged, "disagreements": disagree,
                          "ours_us": 1e6 * ours_s / judged, "bfcl_us": 1e6 * theirs_s / judged,
                          "render_parse_us": 1e6 * parse_s / judged, "examples": examples[:5]}  # fmt: skip
        r = rows[category]
        print(f"{category:18s} cases {r['cases']:4d} judgements {judged:6d} disagreements {disagree:3d} "
              f"ours {r['ours_us']:.1f} us  bfcl {r['bfcl_us']:.1f} us  render+parse {r['render_parse_us']:.1f} us")  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
