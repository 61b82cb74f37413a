"""BFCL (Berkeley Function-Calling Leaderboard) evaluation with BFCL's own data and AST checker (`bfcl-eval`).

The questions, function docs and possible answers are the ones bundled in the ``bfcl-eval`` package
(``bfcl_eval/data/BFCL_v4_*.json``); every answer is judged by the package's ``ast_checker`` (simple, multiple,
parallel, parallel_multiple) or its irrelevance rule (right when the output decodes to no call), the way its
``eval_runner`` does. Generation goes through the rollout backends of `training.itool.backends.policy_backend`
(transformers on CPU/GPU, in-process vLLM, any vLLM OpenAI-compatible endpoint): the functions are rendered in the
Hermes format (`training.itool.envs.tool_calls`), the model's ``<tool_call>`` blocks are parsed back and handed to
the checker as BFCL's decoded form ``[{name: {arg: value}}]``.

Per category: accuracy over the cases; ``summary``: the leaderboard's non-live AST average (the unweighted mean
of simple, multiple, parallel, parallel_multiple) and irrelevance. Multi-turn categories need BFCL's simulated API
backends driven turn by turn with state checks; they are not run here (docs/itool.md).

``bfcl_eval`` is installed with ``--no-deps`` (its full dependency set pins numpy 1.26 and pulls every vendor SDK);
its checker imports ``constants.model_config`` only to read one flag per model (``underscore_to_dot``: rename
``.`` in function names), which imports every model handler and their SDKs. `bfcl_checker` installs a stand-in for
that one module before importing the checker: names are kept as they are, which is right for Hermes JSON calls.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from retool_data.sources.toolace import normalize_tool
from training.itool.bfcl_data import bfcl_data_dir, jsonl, openapi_schema
from training.itool.envs.tool_calls import parse_tool_calls, render_messages
from training.rollout.generation import GenerationBackend, GenerationRequest

CATEGORY_FILES = {
    "simple": "BFCL_v4_simple_python.json",
    "multiple": "BFCL_v4_multiple.json",
    "parallel": "BFCL_v4_parallel.json",
    "parallel_multiple": "BFCL_v4_parallel_multiple.json",
    "irrelevance": "BFCL_v4_irrelevance.json",
}
AST_CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple")
MULTI_TURN = (
    "multi_turn"  # BFCL's multi_turn_base, run turn by turn (`training.itool.bfcl_multi_turn`); opt-in
)
ALL_CATEGORIES = (*CATEGORY_FILES, MULTI_TURN)
CHECKER_MODEL_NAME = "retool-data-hermes"  # what BFCL's checker is told the model is (only its flag is read)


@dataclass
class BFCLCase:
    id: str
    category: str
    question: list[dict[str, Any]]  # the first turn's messages
    functions: list[dict[str, Any]]  # BFCL's function docs
    possible_answer: list[dict[str, Any]] | None  # None for irrelevance

    @property
    def tools(self) -> list[dict[str, Any]]:
        return [normalize_tool(openapi_schema(f)) for f in self.functions]


def load_bfcl(category: str, limit: int | None = None) -> list[BFCLCase]:
    """The first ``limit`` cases of a category, with their possible answers."""
    data = bfcl_data_dir()
    rows = jsonl(data / CATEGORY_FILES[category])[:limit]
    answers = {}
    if category in AST_CATEGORIES:
        answers = {
            r["id"]: r["ground_truth"] for r in jsonl(data / "possible_answer" / CATEGORY_FILES[category])
        }
    return [BFCLCase(r["id"], category, r["question"][0], r["function"], answers.get(r["id"])) for r in rows]


def bfcl_checker() -> Any:
    """BFCL's ``ast_checker`` (see the module docstring for the one stand-in module)."""
    name = "bfcl_eval.constants.model_config"
    if name not in sys.modules:
        stub = types.ModuleType(name)
        stub.MODEL_CONFIG_MAPPING = {CHECKER_MODEL_NAME: types.SimpleNamespace(underscore_to_dot=False)}
        sys.modules[name] = stub
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    return ast_checker


def bfcl_verdict(case: BFCLCase, calls: list[dict[str, Any]], parse_errors: int = 0) -> dict[str, Any]:
    """BFCL's judgement of decoded calls: ``{"valid", "error_type"}``."""
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.utils import is_empty_output

    decoded = [{c["name"]: c["arguments"]} for c in calls]
    if case.category == "irrelevance":  # eval_runner: right when the output decodes to no call
        empty = is_empty_output(decoded)  # an unreadable block decodes to nothing, as BFCL's decoder fails
        return {"valid": bool(empty), "error_type": None if empty else "irrelevance_error:decoder_success"}
    if parse_errors:
        return {"valid": False, "error_type": "ast_decoder:decoder_failed"}
    result = bfcl_checker()(case.functions, decoded, case.possible_answer, Language.PYTHON, case.category,
                            CHECKER_MODEL_NAME)  # fmt: skip
    return {"valid": bool(result["valid"]), "error_type": result.get("error_type")}


def prompt_messages(case: BFCLCase) -> list[dict[str, str]]:
    system = next((m["content"] for m in case.question if m["role"] == "system"), "")
    turns = [m for m in case.question if m["role"] != "system"]
    return render_messages(system, case.tools, turns)


@dataclass
class BFCLReport:
    categories: dict[str, dict[str, Any]]
    summary: dict[str, float]
    wall_s: float
    samples_path: str


def run_bfcl(backend: GenerationBackend, tokenizer: Any, out_dir: str | Path, *,
             categories: Sequence[str] = tuple(CATEGORY_FILES), per_category: int | None = None,
             max_new_tokens: int = 256, multi_turn_steps: int = 20) -> BFCLReport:  # fmt: skip
    """Generate one answer per case (the backend's sampling settings; greedy for the leaderboard), judge it with
    BFCL's checker, write ``samples.jsonl`` and ``bfcl.json`` into ``out_dir``. ``multi_turn`` (opt-in) runs
    BFCL's multi_turn_base conversations with up to ``multi_turn_steps`` model steps per user turn."""
    from training.sft.tokenization import prompt_token_ids

    started, out = time.perf_counter(), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unknown = set(categories) - set(ALL_CATEGORIES)
    if unknown:
        raise ValueError(f"unknown BFCL categories {sorted(unknown)}; known: {ALL_CATEGORIES}")
    cases = [c for cat in categories if cat != MULTI_TURN for c in load_bfcl(cat, per_category)]
    requests = [GenerationRequest(list(prompt_token_ids(tokenizer, prompt_messages(c))), max_new_tokens, stop=())
                for c in cases]  # fmt: skip
    outs = backend.generate(requests) if requests else []
    per: dict[str, dict[str, Any]] = {}
    with (out / "samples.jsonl").open("w", encoding="utf-8") as f:
        for case, gen in zip(cases, outs, strict=True):
            parsed = parse_tool_calls(gen.text)
            verdict = bfcl_verdict(case, parsed.calls, len(parsed.errors))
            row = per.setdefault(case.category, {"cases": 0, "correct": 0, "errors": {}})
            row["cases"] += 1
            row["correct"] += verdict["valid"]
            if not verdict["valid"]:
                row["errors"][verdict["error_type"]] = row["errors"].get(verdict["error_type"], 0) + 1
            f.write(json.dumps({"id": case.id, "category": case.category, "text": gen.text, "calls": parsed.calls,
                                "parse_errors": parsed.errors, **verdict}, ensure_ascii=False) + "\n")  # fmt: skip
        if MULTI_TURN in categories:
            from training.itool.bfcl_multi_turn import load_multi_turn, run_multi_turn

            verdicts = run_multi_turn(backend, tokenizer, load_multi_turn(per_category),
                                      max_steps=multi_turn_steps, max_new_tokens=max_new_tokens)  # fmt: skip
            row = per.setdefault(MULTI_TURN, {"cases": 0, "correct": 0, "errors": {}})
            for v in verdicts:
                row["cases"] += 1
                row["correct"] += v["valid"]
                if not v["valid"]:
                    row["errors"][v["error_type"]] = row["errors"].get(v["error_type"], 0) + 1
                f.write(json.dumps({"category": MULTI_TURN, **v}, ensure_ascii=False) + "\n")
    for row in per.values():
        row["accuracy"] = row["correct"] / row["cases"] if row["cases"] else 0.0
    ast = [per[c]["accuracy"] for c in AST_CATEGORIES if c in per]
    summary = {"non_live_ast": sum(ast) / len(ast) if ast else float("nan")}
    for name in ("irrelevance", MULTI_TURN):
        if name in per:
            summary[name] = per[name]["accuracy"]
    report = BFCLReport(per, summary, time.perf_counter() - started, str(out / "samples.jsonl"))
    (out / "bfcl.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------------------------ cross-check
# The verifier of the search (`training.itool.envs.tool_calls.verify_calls`) must judge calls as BFCL does:
# tests/training/itool/test_bfcl.py and benchmarks/fc_verifier.py compare both on each case's gold answer and on
# these one-call / one-argument corruptions of it.


def _first(acceptable: list[Any]) -> Any:
    """The first acceptable value; in a dict (or a list of dicts) each key's first acceptable value."""
    value = acceptable[0]
    if isinstance(value, dict):
        return {k: v[0] for k, v in value.items() if v and v[0] != ""}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [{k: x[0] for k, x in v.items() if x and x[0] != ""} for v in value]
    return value


def gold_calls(case: BFCLCase) -> list[dict[str, Any]]:
    """The possible answer as a model would write it: the first acceptable value of each argument."""
    calls = []
    for item in case.possible_answer:
        for name, args in item.items():
            calls.append(
                {"name": name, "arguments": {k: _first(v) for k, v in args.items() if v and v[0] != ""}}
            )
    return calls


def corruptions(calls: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Outputs that differ from ``calls`` in one call or one argument (plus order and count changes)."""
    out = [list(reversed(calls)), calls[:-1], calls + calls[:1], []]
    for i, call in enumerate(calls):
        for key, value in call["arguments"].items():
            for bad in _bad_values(value):
                c = copy.deepcopy(calls)
                c[i]["arguments"][key] = bad
                out.append(c)
            c = copy.deepcopy(calls)
            del c[i]["arguments"][key]
            out.append(c)
        c = copy.deepcopy(calls)
        c[i]["name"] = next((t["name"] for t in tools if t["name"] != call["name"]), call["name"] + "_x")
        out.append(c)
        c = copy.deepcopy(calls)
        c[i]["arguments"]["not_a_parameter"] = 1
        out.append(c)
    return out


def _bad_values(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value, int(value)]
    if isinstance(value, int):
        return [value + 1, float(value), str(value)]
    if isinstance(value, float):
        return [value + 1.5, int(value) if value == int(value) else str(value)]
    if isinstance(value, str):
        return [value + " extra", value.upper(), 7]
    if isinstance(value, list):
        return [value[:-1], [*value, value[0]] if value else [1]]
    if isinstance(value, dict):
        return [{**value, "zz": 1}]
    return ["x"]


# ------------------------------------------------------------------------------------------------ CLI


@dataclass
class BFCLArgs:
    """`retool-data eval bfcl` options beside the evaluation stage's own (`training.eval.run.EvalConfig`)."""

    bfcl_categories: list[str] | None = None  # default: CATEGORY_FILES; add multi_turn to run it too
    bfcl_per_category: int | None = None  # the first N cases of each (None: all)
    bfcl_max_new_tokens: int = 256
    bfcl_multi_turn_steps: int = 20  # model steps per user turn in multi_turn (BFCL: 20)


def bfcl_cli(argv: list[str] | None = None, prog: str | None = None) -> BFCLReport:
    """BFCL through the backends of `retool-data eval` (``backend: hf | openai | vllm-server | vllm``, the same
    EvalConfig fields: model, endpoint, served_model, temperature...); writes ``<output_dir>/bfcl/``."""
    from trl import TrlParser

    from training.eval.backends import make_backend
    from training.eval.run import EvalConfig
    from training.models.loading import load_tokenizer

    description = "BFCL with bfcl-eval's data and AST checker (docs/itool.md, Function calling)."
    config, args = TrlParser(
        [EvalConfig, BFCLArgs], prog=prog, description=description
    ).parse_args_and_config(args=argv)
    tokenizer = load_tokenizer(config.tokenizer or config.model, config.chat_template_path)
    backend, close, name = make_backend(config, tokenizer)
    try:
        report = run_bfcl(backend, tokenizer, Path(config.output_dir) / "bfcl",
                          categories=args.bfcl_categories or tuple(CATEGORY_FILES),
                          per_category=args.bfcl_per_category, max_new_tokens=args.bfcl_max_new_tokens,
                          multi_turn_steps=args.bfcl_multi_turn_steps)  # fmt: skip
    finally:
        close()
    print(json.dumps({"backend": name, **report.summary,
                      "categories": {k: v["accuracy"] for k, v in report.categories.items()}}))  # fmt: skip
    return report
