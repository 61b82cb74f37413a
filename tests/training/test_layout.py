"""The shape of `training/` (docs/architecture.md, "Training layout"): imports only point down the table, no
module imports itself back through others, and a front door does not load TRL for a light submodule."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

TRAINING = REPO_ROOT / "training"
# rank of each part: a module may import parts of a strictly lower rank only (and its own part, and _lazy)
RANK = {
    "models": 0,
    "rollout": 0,
    "plots": 0,
    "sft": 1,
    "grpo": 2,
    "verl": 2,
    "eval": 3,
    "itool": 4,
    "stages": 5,
}


def _module(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every `training.*` module this file imports, at module level or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "training":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "training")
    return found


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in TRAINING.rglob("*.py")}


def test_every_module_belongs_to_a_ranked_part():
    parts = {_part(m) for m in _graph()} - {None, "_lazy"}
    assert parts == set(RANK), f"unranked parts: {parts - set(RANK)}; ranked but gone: {set(RANK) - parts}"


def test_imports_only_point_down():
    upward = []
    for module, imported in _graph().items():
        own = _part(module)
        if own in (None, "_lazy"):
            continue
        for target in imported:
            other = _part(target)
            if other in (own, "_lazy"):
                continue
            if RANK[other] >= RANK[own]:
                upward.append(f"{module} -> {target}")
    assert upward == [], "imports that point up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_circles():
    graph = _graph()
    modules = set(graph)

    def resolve(
        target: str,
    ) -> str | None:  # `from training.sft import x` names the package, not a cycle by itself
        return target if target in modules else None

    edges = {
        m: {t for t in map(resolve, graph[m]) if t and t != m and not m.startswith(t + ".")} for m in graph
    }
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert circles == [], "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_front_doors_are_lazy():
    """`from training.sft import run_sft` works, and importing SFT's tokenization (iTool does) loads no TRL."""
    code = (
        "import sys\n"
        "import training.sft.tokenization, training.grpo.rollout_func, training.eval.store\n"
        "assert 'trl' not in sys.modules, 'a light submodule loaded TRL'\n"
        "from training.sft import SFTRunConfig, run_sft, tokenize_trace\n"
        "from training.grpo import GRPORunConfig, run_grpo\n"
        "from training.eval import EvalConfig, run_eval\n"
        "import training.sft.train as t\n"
        "assert run_sft is t.run_sft and tokenize_trace is t.tokenize_trace\n"
        "try:\n"
        "    from training.sft import nothing_here\n"
        "except ImportError as e:\n"
        "    print('refused:', e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "refused: cannot import name 'nothing_here'" in done.stdout


def test_python_m_entry_points():
    """The recipes' `accelerate launch -m training.sft` / `-m training.grpo` still name runnable modules."""
    for stage in ("sft", "grpo"):
        done = subprocess.run(
            [sys.executable, "-m", f"training.{stage}", "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"usage: python -m training.{stage}" in done.stdout
