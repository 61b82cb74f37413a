"""Build the decontamination evaluation set (``evalset.jsonl.gz`` beside this file) from the benchmark files.

    python benchmarks/decontam_eval/build.py --benchmarks-dir DIR [--champ PATH/v0.json]

Rows (one JSON object each): ``kind`` is what decontamination must say:

* ``copy``: a benchmark item restated (the red team's hand rewordings in `redteam.py`, and scripted transforms:
  sentence reordering, renamed people and objects, figure code dropped, LaTeX written as Unicode, synonyms,
  and all of these at once); expected reason ``benchmark_contamination`` naming that item.
* ``variant``: the item's template with other numbers (hand-made with the new answer, and scripted with every
  number changed and no answer); expected reason ``template_variant``.
* ``clean``: problems from other sets (GSM8K, OlympiadBench, CHAMP, the bundled sample); expected: kept.

``split`` is ``tune`` or ``test``, by a hash of the benchmark item (all rows made from one item fall in the same
half) or of the clean problem's text: thresholds are chosen on ``tune`` only. Deterministic: the same files give
the same bytes. The sources and their sha256 are recorded in ``evalset.manifest.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from redteam import REWORDINGS, VARIANTS  # noqa: E402

from retool_data.benchmark_sets import load_benchmark  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "evalset.jsonl.gz"
MANIFEST = HERE / "evalset.manifest.json"
BENCHMARKS = ("aime24", "aime25", "amc23", "math500")
MATH500_SAMPLE = 150  # scripted copies of this many MATH-500 items (all AIME/AMC items are used)

FIGURE_RE = re.compile(r"\[asy\].*?\[/asy\]|\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
SENTENCE_RE = re.compile(r"(?<=[.?!])\$?\s+(?=[A-Z])")
NAMES = ["Maya", "Omar", "Priya", "Diego", "Lena", "Tariq", "Nora", "Felix", "Ines", "Kofi", "Hana", "Ravi"]
PEOPLE = {
    "Aya",
    "Alice",
    "Bob",
    "Jen",
    "Janet",
    "Maureen",
    "Carlos",
    "Flora",
    "Jackson",
    "Silas",
    "Alex",
    "Paul",
    "Jesse",
    "Alicia",
    "Beth",
    "Pierre",
    "Rosa",
    "Thomas",
    "Ringo",
    "Jones",
    "Xenia",
    "Sergey",
    "John",
    "Mary",
}
OBJECTS = {
    "coffee shop": "bakery",
    "tokens": "pebbles",
    "token": "pebble",
    "chips": "counters",
    "chip": "counter",
    "marbles": "beads",
    "pizza": "pie",
    "orange": "apple",
    "glasses": "cups",
    "glass": "cup",
    "chairs": "seats",
    "books": "novels",
    "coins": "tokens",
    "dice": "cubes",
    "lottery": "raffle",
    "baseball": "soccer",
    "ice cream": "frozen yogurt",
    "paintbrush": "roller",
    "quiz": "test",
    "shoes": "boots",
    "frog": "rabbit",
}
SYNONYMS = {
    "Find": "Determine",
    "find": "determine",
    "Compute": "Calculate",
    "compute": "calculate",
    "What is": "Give",
    "How many": "What is the number of",
    "the number of": "the count of",
    "positive integers": "positive whole numbers",
    "positive integer": "positive whole number",
    "real numbers": "reals",
    "probability": "chance",
    "relatively prime": "coprime",
    "Suppose": "Assume",
    "Let": "Take",
    "such that": "so that",
    "exactly": "precisely",
    "greatest": "largest",
    "least": "smallest",
    "divisible by": "a multiple of",
    "can be written as": "equals",
    "expressed as": "written as",
}
UNICODE = [
    (r"\\[dt]?frac\{([^{}]+)\}\{([^{}]+)\}", r"(\1)/(\2)"),
    (r"\\sqrt\{([^{}]+)\}", r"√(\1)"),
    (r"\^\{?\\circ\}?", "°"),
    (r"\^2(?!\d)", "²"),
    (r"\^\{2\}", "²"),
    (r"\^3(?!\d)", "³"),
    (r"\^\{3\}", "³"),
    (r"\\leq?(?![a-z])", "≤"),
    (r"\\geq?(?![a-z])", "≥"),
    (r"\\neq?(?![a-z])", "≠"),
    (r"\\pi(?![a-z])", "π"),
    (r"\\cdot(?![a-z])", "·"),
    (r"\\times(?![a-z])", "×"),
    (r"\\angle(?![a-z])", "∠"),
    (r"\\triangle(?![a-z])", "△"),
    (r"\\omega(?![a-z])", "ω"),
    (r"\\theta(?![a-z])", "θ"),
    (r"\\alpha(?![a-z])", "α"),
    (r"\\infty(?![a-z])", "∞"),
    (r"\\(?:l|c)?dots(?![a-z])", "…"),
    (r"\\overline\{([^{}]+)\}", r"\1"),
    (r"\\(?:left|right)(?![a-z])", ""),
    (r"\$", ""),
]


def split_of(key: str) -> str:
    return "tune" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "test"


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_RE.split(text.strip()) if s]


def reorder(text: str) -> str | None:
    """Conditions in reverse order, the question (last sentence) kept last."""
    parts = sentences(text)
    if len(parts) < 3:
        return None
    return " ".join([*parts[:-1][::-1], parts[-1]])


def rename(text: str, rng: random.Random) -> str | None:
    names = dict(zip(sorted(PEOPLE), rng.sample(NAMES * 2, len(PEOPLE)), strict=False))
    out = re.sub(r"\b(" + "|".join(sorted(PEOPLE)) + r")\b", lambda m: names[m.group(1)], text)
    for a, b in OBJECTS.items():
        out = re.sub(r"\b" + re.escape(a) + r"\b", b, out)
    return out if out != text else None


def drop_figure(text: str) -> str | None:
    out = FIGURE_RE.sub(" ", text)
    return re.sub(r"[ \t]+", " ", out).strip() if out != text else None


def to_unicode(text: str) -> str | None:
    out = text
    for pattern, repl in UNICODE:
        out = re.sub(pattern, repl, out)
    return out if out != text else None


def synonyms(text: str) -> str | None:
    out = text
    for a, b in SYNONYMS.items():
        out = re.sub(r"\b" + re.escape(a) + r"\b", b, out)
    return out if out != text else None


def heavy(text: str, rng: random.Random) -> str | None:
    """Everything at once: what a careless paraphrasing pipeline produces."""
    out = drop_figure(text) or text
    for step in (synonyms, reorder, to_unicode):
        out = step(out) or out
    out = rename(out, rng) or out
    return out if out != text else None


def change_numbers(text: str, rng: random.Random) -> str | None:
    """Every integer >= 2 outside figure code replaced by another (a scripted template variant)."""
    body = FIGURE_RE.sub(" ", text)
    nums = [m for m in re.finditer(r"(?<![\\\w.])\d+(?![\w.]*\d)", body) if int(m.group()) >= 2]
    if len(nums) < 2:
        return None
    return re.sub(
        r"(?<![\\\w.])\d+(?![\w.]*\d)",
        lambda m: str(int(m.group()) + rng.choice([1, 2, 3, 5, 7])) if int(m.group()) >= 2 else m.group(),
        body,
    )


def copies(bench: dict[str, list[dict]], rng: random.Random) -> list[dict]:
    rows = []
    for name, idx, text in REWORDINGS:
        rows.append(row("copy", "hand_reword", name, idx, text, bench[name][idx]["answer"]))
    math_sample = set(rng.sample(range(len(bench["math500"])), MATH500_SAMPLE))
    for name, items in bench.items():
        for i, item in enumerate(items):
            if name == "math500" and i not in math_sample:
                continue
            p = item["problem"]
            made = {
                "reorder": reorder(p),
                "rename": rename(p, rng),
                "drop_figure": drop_figure(p),
                "unicode": to_unicode(p),
                "synonyms": synonyms(p),
                "heavy": heavy(p, rng),
            }
            if name == "math500":  # one scripted copy of each sampled MATH-500 item, plus the combined one
                keys = [k for k in made if made[k] and k != "heavy"]
                made = {k: made[k] for k in ([rng.choice(keys)] if keys else []) + ["heavy"]}
            rows += [row("copy", k, name, i, t, item["answer"]) for k, t in made.items() if t]
    return rows


def variants(bench: dict[str, list[dict]], rng: random.Random) -> list[dict]:
    rows = [row("variant", "hand_numbers", n, i, t, a) for n, i, t, a in VARIANTS]
    for name, items in bench.items():
        for i, item in enumerate(items):
            if name == "math500" and rng.random() > 0.1:
                continue
            if len(item["problem"].split()) >= 20 and (t := change_numbers(item["problem"], rng)):
                rows.append(row("variant", "scripted_numbers", name, i, t, None))
    return rows


def clean(bdir: Path, champ: Path | None) -> list[dict]:
    rows = []
    for name in ("gsm8k", "olympiadbench"):
        rows += [
            row("clean", name, None, None, r["problem"], None) for r in load_benchmark(name, bdir / name)
        ]
    if champ is not None:
        problems = json.loads(champ.read_text(encoding="utf-8"))["problems"]
        rows += [row("clean", "champ", None, None, p["_text"], None) for p in problems.values()]
    sample = HERE.parents[1] / "retool_data" / "data" / "sample_problems.jsonl"
    for line in sample.read_text(encoding="utf-8").splitlines():
        record = json.loads(line) if line.strip().startswith("{") else None  # the sample has malformed rows
        problem = record.get("problem") if isinstance(record, dict) else None
        if isinstance(problem, str) and problem.strip():
            rows.append(row("clean", "sample", None, None, problem, None))
    return rows


def row(
    kind: str, transform: str, bench: str | None, index: int | None, text: str, answer: str | None
) -> dict:
    key = f"{bench}:{index}" if bench else text
    return {
        "split": split_of(key),
        "kind": kind,
        "transform": transform,
        "benchmark": bench,
        "index": index,
        "problem": text,
        "answer": answer,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--benchmarks-dir", type=Path, required=True, help="Holds aime24/ ... gsm8k/ olympiadbench/"
    )
    ap.add_argument("--champ", type=Path, help="CHAMP's v0.json (PyPI package champ-dataset), optional")
    args = ap.parse_args()
    rng = random.Random(20250416)
    bench = {n: load_benchmark(n, args.benchmarks_dir / n) for n in BENCHMARKS}
    rows = copies(bench, rng) + variants(bench, rng) + clean(args.benchmarks_dir, args.champ)
    seen, unique = set(), []
    for r in rows:  # a transform that changed nothing another already made is one row
        if (r["kind"], r["problem"]) not in seen:
            seen.add((r["kind"], r["problem"]))
            unique.append(r)
    blob = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in unique).encode()
    OUT.write_bytes(gzip.compress(blob, mtime=0))
    sources = {
        n: str(args.benchmarks_dir / n / "test.jsonl") for n in (*BENCHMARKS, "gsm8k", "olympiadbench")
    }
    manifest = {
        "rows": len(unique),
        "counts": {
            f"{k}/{s}": sum(r["kind"] == k and r["split"] == s for r in unique)
            for k in ("copy", "variant", "clean")
            for s in ("tune", "test")
        },  # fmt: skip
        "sources_sha256": {
            n: hashlib.sha256(Path(p).read_bytes()).hexdigest()
            for n, p in sources.items()
            if Path(p).exists()
        },
        "champ_sha256": hashlib.sha256(args.champ.read_bytes()).hexdigest() if args.champ else None,
        "evalset_sha256": hashlib.sha256(OUT.read_bytes()).hexdigest(),
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest["counts"]), f"-> {OUT.name} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
