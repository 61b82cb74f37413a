"""Build the bundled sample (`retool_data/data/sample_problems.jsonl`) and its manifest, deterministically.

The rows are written by hand in `scripts/sample_problems/*.py` (one module per topic, plus the malformed rows)
in the OpenThoughts-114k `metadata` schema. This script orders them (a seeded shuffle of the content rows, the
malformed rows at fixed positions after the rows they duplicate) and writes:

- `retool_data/data/sample_problems.jsonl`: one upstream record per line (what `read_sample` ingests);
- `retool_data/data/sample_manifest.json`: per line, its kind (ok, wrong_answer, no_boxed, ...), why, and the
  quarantine reason ingestion must give (tests hold the data to it).

Usage:
    python scripts/build_sample_problems.py            # (re)write both files
    python scripts/build_sample_problems.py --check    # exit 1 if the committed files are out of date
    python scripts/build_sample_problems.py --markdown # print the manifest table for docs/sources.md
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retool_data.schema import problem_id
from scripts.sample_problems import algebra, arithmetic, counting, geometry, malformed, number_theory

DATA_DIR = ROOT / "retool_data" / "data"
SAMPLE = DATA_DIR / "sample_problems.jsonl"
MANIFEST = DATA_DIR / "sample_manifest.json"
SEED = 20250416  # fixed: the order is part of the data (source_id is the line number)
# Where the malformed rows go, as a fraction of the way through the file, in malformed.ROWS order.
MALFORMED_AT = (0.05, 0.2, 0.3, 0.45, 0.5, 0.65, 0.8, 0.9, 0.35, 0.6, 0.97)


def ordered_rows() -> list[dict]:
    content = arithmetic.ROWS + algebra.ROWS + number_theory.ROWS + counting.ROWS + geometry.ROWS
    content = list(content)
    random.Random(SEED).shuffle(content)
    total = len(content) + len(malformed.ROWS)
    slots = sorted(zip((round(f * (total - 1)) for f in MALFORMED_AT), range(len(malformed.ROWS)), strict=True))
    rows = list(content)
    for position, index in slots:
        rows.insert(position, malformed.ROWS[index])
    return rows


def manifest_entry(line: int, item: dict) -> dict:
    problem = item["record"].get("problem") if isinstance(item["record"], dict) else None
    return {
        "line": line,
        "problem_id": problem_id(problem) if isinstance(problem, str) and problem.strip() else None,
        **item["meta"],
    }


def render() -> tuple[str, str]:
    rows = ordered_rows()
    lines = [json.dumps(item["record"], ensure_ascii=False) for item in rows]
    entries = [manifest_entry(i, item) for i, item in enumerate(rows)]
    first_seen: dict[str, int] = {}
    for entry in entries:
        pid = entry["problem_id"]
        if entry["expect_reject"] == "duplicate_response" or entry["kind"] == "second_response":
            assert pid in first_seen, f"line {entry['line']}: a second response must come after its original"
        elif pid is not None:
            assert pid not in first_seen, f"line {entry['line']}: unintended duplicate of {first_seen[pid]}"
            first_seen[pid] = entry["line"]
    manifest = {"seed": SEED, "rows": entries}
    return "\n".join(lines) + "\n", json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"


def markdown(manifest: dict) -> str:
    out = ["| line | kind | flaw / quarantine reason | why |", "|---:|---|---|---|"]
    for e in manifest["rows"]:
        if e["kind"] == "ok":
            continue
        label = e["flaw"] or e["expect_reject"] or ""
        out.append(f"| {e['line']} | {e['kind']} | {label} | {e['why']} |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed files differ")
    parser.add_argument("--markdown", action="store_true", help="print the manifest table")
    args = parser.parse_args()
    sample_text, manifest_text = render()
    if args.markdown:
        print(markdown(json.loads(manifest_text)))
        return 0
    if args.check:
        stale = [p.name for p, t in ((SAMPLE, sample_text), (MANIFEST, manifest_text)) if p.read_text() != t]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python scripts/build_sample_problems.py", file=sys.stderr)
            return 1
        return 0
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    SAMPLE.write_text(sample_text, encoding="utf-8")
    MANIFEST.write_text(manifest_text, encoding="utf-8")
    print(f"wrote {SAMPLE.relative_to(ROOT)} ({sample_text.count(chr(10))} rows) and {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
