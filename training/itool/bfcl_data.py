"""bfcl-eval's bundled data: where it is, how its files are read, and its function docs as JSON schemas."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def openapi_schema(node: Any) -> Any:
    """BFCL's Python-flavoured types (``dict``, ``float``, ``tuple``...) -> JSON-schema types, recursively."""
    from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI

    if isinstance(node, dict):
        out = {k: openapi_schema(v) for k, v in node.items()}
        if isinstance(node.get("type"), str):
            out["type"] = GORILLA_TO_OPENAPI.get(node["type"], node["type"])
        return out
    return [openapi_schema(v) for v in node] if isinstance(node, list) else node


def bfcl_data_dir() -> Path:
    return Path(str(resources.files("bfcl_eval") / "data"))


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
