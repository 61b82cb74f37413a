"""Local copies of the Open-Thoughts Hub repositories, in their exact schema and layout (the machine has no Hub).

`datasets.load_dataset(<folder>, <config>)` reads these through the same code path as the Hub ids: the README's
`configs:` block maps config names to parquet shards, as on the Hub.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# open-thoughts/OpenThoughts-114k, config "metadata": every column is a string.
SCHEMA_114K = pa.schema(
    [(name, pa.string()) for name in (
        "problem", "deepseek_reasoning", "deepseek_solution", "ground_truth_solution",
        "domain", "source", "test_cases", "starter_code",
    )]
)
# open-thoughts/OpenThoughts3-1.2M, config "default".
SCHEMA_OT3 = pa.schema(
    [
        ("difficulty", pa.int64()),
        ("source", pa.string()),
        ("domain", pa.string()),
        ("conversations", pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())]))),
    ]
)

_README_114K = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
- config_name: metadata
  data_files:
  - split: train
    path: metadata/train-*
---
# OpenThoughts-114k (local test copy)
"""
_README_OT3 = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# OpenThoughts3-1.2M (local test copy)
"""


def _shards(rows: list[dict], shards: int) -> list[list[dict]]:
    size = -(-len(rows) // shards)
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def write_openthoughts_114k(root: Path, rows: list[dict], shards: int = 2) -> Path:
    """The 114k repository: `metadata/train-*.parquet` plus the chat-format default config."""
    (root / "metadata").mkdir(parents=True)
    (root / "data").mkdir()
    full = [{name: row.get(name) for name in SCHEMA_114K.names} for row in rows]
    parts = _shards(full, shards)
    for i, part in enumerate(parts):
        table = pa.Table.from_pylist(part, schema=SCHEMA_114K)
        pq.write_table(table, root / "metadata" / f"train-{i:05d}-of-{len(parts):05d}.parquet")
    chat = pa.Table.from_pylist(
        [{"system": "sys", "conversations": [{"from": "user", "value": r["problem"]}]} for r in full]
    )
    pq.write_table(chat, root / "data" / "train-00000-of-00001.parquet")
    (root / "README.md").write_text(_README_114K)
    return root


def write_openthoughts3(root: Path, rows: list[dict], shards: int = 2) -> Path:
    (root / "data").mkdir(parents=True)
    parts = _shards(rows, shards)
    for i, part in enumerate(parts):
        table = pa.Table.from_pylist(part, schema=SCHEMA_OT3)
        pq.write_table(table, root / "data" / f"train-{i:05d}-of-{len(parts):05d}.parquet")
    (root / "README.md").write_text(_README_OT3)
    return root


def ot114k_row(problem: str, domain: str = "math", **extra) -> dict:
    row = {
        "problem": problem,
        "deepseek_reasoning": f"Okay, let me think about: {problem}\nSo 2 + 2 = 4.",
        "deepseek_solution": "Thus the answer is \\(\\boxed{4}\\).",
        "ground_truth_solution": "Clearly $2+2=\\boxed{4}$.",
        "domain": domain,
        "source": "olympiads" if domain == "math" else "taco",
        "test_cases": None,
        "starter_code": None,
    }
    return {**row, **extra}


def ot3_row(problem: str, reply: str | None, domain: str = "math", difficulty: int = 5) -> dict:
    turns = [{"from": "human", "value": problem}]
    if reply is not None:
        turns.append({"from": "gpt", "value": reply})
    return {"difficulty": difficulty, "source": "ai2-adapt-dev/openmath-2-math", "domain": domain,
            "conversations": turns}
