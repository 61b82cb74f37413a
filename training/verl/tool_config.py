"""verl's tool config (``actor_rollout_ref.rollout.multi_turn.tool_config_path``): verl's own SandboxFusionTool
pointed at ``retool-data sandbox serve``, which speaks SandboxFusion's ``POST /run_code`` (`sandbox.fusion_api`).

The layout and defaults mirror verl's ReTool recipe (``recipe/retool/sandbox_fusion_tool_config.yaml``); the tool
schema is `retool_data.tool_protocol.code_interpreter_schema`, the one the Hermes SFT rows declare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from retool_data.tool_protocol import code_interpreter_schema

SANDBOX_TOOL_CLASS = "verl.tools.sandbox_fusion_tools.SandboxFusionTool"
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8080/run_code"  # `retool-data sandbox serve`'s default port


@dataclass
class ToolSettings:
    sandbox_url: str = DEFAULT_SANDBOX_URL
    num_workers: int = 128  # concurrent calls per rollout worker (verl's ReTool recipe)
    rate_limit: int = 128  # calls in flight across the cluster (verl's global token bucket)
    timeout_s: int = 30
    memory_limit_mb: int = 1024


def tool_config(settings: ToolSettings | None = None) -> dict[str, Any]:
    """The tool config as a dict (what `write_tool_config` writes as YAML)."""
    s = settings or ToolSettings()
    if not s.sandbox_url.rstrip("/").endswith("/run_code"):
        raise ValueError(f"sandbox_url must be the server's /run_code endpoint, got {s.sandbox_url!r}")
    return {
        "tools": [
            {
                "class_name": SANDBOX_TOOL_CLASS,
                "config": {
                    "sandbox_fusion_url": s.sandbox_url,
                    "num_workers": s.num_workers,
                    "enable_global_rate_limit": True,
                    "rate_limit": s.rate_limit,
                    "default_timeout": s.timeout_s,
                    "default_language": "python",
                    "memory_limit_mb": s.memory_limit_mb,
                    "type": "native",
                },
                "tool_schema": code_interpreter_schema(),
            }
        ]
    }


def write_tool_config(path: str | Path, settings: ToolSettings | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(tool_config(settings), sort_keys=False), encoding="utf-8")
    return path
