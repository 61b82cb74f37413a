"""Ingestion throughput: synthetic OpenThoughts-114k `metadata` rows in the Hub layout, read like the Hub.

    python benchmarks/sources_ingest.py [--rows 5000] [--reasoning-chars 8000]

Prints rows/s for the streaming Hub reader, the non-streaming one, and `read_local` on the written parquet and on
the same rows as one jsonl file (read as bytes line by line: the path hostile local files take).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retool_data.sources import read_local, read_openthoughts
from tests.retool_data.hub_layout import ot114k_row, write_openthoughts_114k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--reasoning-chars", type=int, default=8000)
    args = parser.parse_args()
    filler = "Let me check that again: 12 \\times 7 = 84. " * (args.reasoning_chars // 42)
    rows = [
        ot114k_row(f"Problem {i}: what is {i} + {i}?", domain="math" if i % 5 else "code",
                   deepseek_reasoning=filler + f"So {i} + {i} = {2 * i}.")
        for i in range(args.rows)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_openthoughts_114k(Path(tmp) / "OpenThoughts-114k", rows, shards=4)
        jsonl = Path(tmp) / "rows.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        for label, fn in [
            ("hub reader, streaming", lambda: read_openthoughts(path=str(repo), cache_dir=f"{tmp}/cache")),
            ("hub reader, --no-streaming", lambda: read_openthoughts(path=str(repo), streaming=False,
                                                                     cache_dir=f"{tmp}/cache2")),
            ("read_local (one parquet shard)", lambda: read_local(next((repo / "metadata").glob("*.parquet")))),
            ("read_local (jsonl, all rows)", lambda: read_local(jsonl)),
        ]:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            print(f"{label:32s} rows_in={result.rows_in:6d} kept={result.kept.height:6d} "
                  f"{elapsed:6.2f} s  {result.rows_in / elapsed:8.0f} rows/s")


if __name__ == "__main__":
    main()
