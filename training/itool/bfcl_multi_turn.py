"""BFCL multi-turn (``multi_turn_base``) offline, with bfcl-eval's own simulated APIs and checker.

A case is a conversation of user turns over stateful Python APIs (a file system, a trading bot, ...; bfcl-eval's
``func_source_code``) with an ``initial_config``. Inference, as BFCL's harness runs it: for each user turn, up to
``max_steps`` model steps; a step's ``<tool_call>`` blocks are turned into BFCL's call strings
(``name(arg=repr(value), ...)``) and executed by bfcl-eval's ``execute_multi_turn_func_call`` on this run's API
instances, their results go back as tool results, and the turn ends at a step without calls. Judging is
bfcl-eval's ``multi_turn_checker``: it re-executes the decoded calls of each turn on fresh instances and compares
the API state and the responses with the ground truth's, turn by turn (``eval_runner``'s rules: a run that did not
reach every turn is ``force_terminated``).

BFCL keeps API instances in a module-global table keyed by model name and case id; every run here uses its own
name, so two evaluations in one process never share state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from training.itool.bfcl_data import bfcl_data_dir, jsonl, openapi_schema
from training.itool.envs.tool_calls import parse_tool_calls, render_messages
from training.rollout.generation import GenerationBackend, GenerationRequest

CATEGORY = "multi_turn_base"
CATEGORY_FILE = "BFCL_v4_multi_turn_base.json"


@dataclass
class MultiTurnCase:
    entry: dict[str, Any]  # the BFCL test entry, with "function" filled in from the class docs
    ground_truth: list[list[str]]
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]] = field(default_factory=list)  # the conversation so far (normalized form)
    decoded: list[list[list[str]]] = field(default_factory=list)  # per turn, per step: call strings
    terminated: bool = False


def load_multi_turn(limit: int | None = None) -> list[MultiTurnCase]:
    from bfcl_eval.constants.executable_backend_config import MULTI_TURN_FUNC_DOC_FILE_MAPPING

    from retool_data.sources.toolace import normalize_tool

    data = bfcl_data_dir()
    answers = {r["id"]: r["ground_truth"] for r in jsonl(data / "possible_answer" / CATEGORY_FILE)}
    out = []
    for entry in jsonl(data / CATEGORY_FILE)[:limit]:
        docs = [d for c in entry["involved_classes"]
                for d in jsonl(data / "multi_turn_func_doc" / MULTI_TURN_FUNC_DOC_FILE_MAPPING[c])]  # fmt: skip
        entry["function"] = docs
        tools = [
            normalize_tool({k: v for k, v in openapi_schema(d).items() if k != "response"}) for d in docs
        ]
        out.append(MultiTurnCase(entry, answers[entry["id"]], tools))
    return out


def call_string(call: dict[str, Any]) -> str:
    """BFCL's executable form of a call (its handlers' ``convert_to_function_call``)."""
    return f"{call['name']}({','.join(f'{k}={v!r}' for k, v in call['arguments'].items())})"


def run_multi_turn(backend: GenerationBackend, tokenizer: Any, cases: Sequence[MultiTurnCase], *,
                   max_steps: int = 20, max_new_tokens: int = 256) -> list[dict[str, Any]]:  # fmt: skip
    """Run every case turn by turn (one backend call per step for all live cases) and judge it with BFCL's
    checker; returns one ``{"id", "valid", "error_type", "decoded"}`` per case."""
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    from training.sft.tokenization import prompt_token_ids

    run_name = f"retool_{uuid.uuid4().hex[:8]}"  # BFCL's instance table is global: never share it
    turns = max(len(c.entry["question"]) for c in cases) if cases else 0
    for t in range(turns):
        live = [c for c in cases if t < len(c.entry["question"]) and not c.terminated]
        for c in live:
            c.messages.extend({"role": m["role"], "content": m["content"]} for m in c.entry["question"][t])
            c.decoded.append([])
        for step in range(max_steps + 1):
            going = [c for c in live if not _turn_done(c)]
            if not going:
                break
            if step == max_steps:  # BFCL's harness force-terminates a turn that never stops calling
                for c in going:
                    c.terminated = True
                break
            prompts = [
                list(prompt_token_ids(tokenizer, render_messages("", c.tools, c.messages))) for c in going
            ]
            outs = backend.generate([GenerationRequest(p, max_new_tokens, stop=()) for p in prompts])
            for c, out in zip(going, outs, strict=True):
                calls = parse_tool_calls(out.text).calls
                if not calls:
                    c.messages.append({"role": "assistant", "content": out.text, "turn_end": True})
                    continue
                strings = [call_string(x) for x in calls]
                results, _ = execute_multi_turn_func_call(strings, c.entry["initial_config"],
                                                          c.entry["involved_classes"], run_name, c.entry["id"])  # fmt: skip
                c.decoded[-1].append(strings)
                c.messages.append({"role": "assistant", "content": None, "tool_calls": calls})
                c.messages.append({"role": "tool", "content": list(results)})
    verdicts = []
    for c in cases:
        if c.terminated or len(c.decoded) != len(c.ground_truth):
            verdict = {"valid": False, "error_type": "multi_turn:force_terminated"}
        else:
            verdict = multi_turn_checker(c.decoded, c.ground_truth, c.entry, CATEGORY, run_name)
        verdicts.append({"id": c.entry["id"], "valid": bool(verdict["valid"]),
                         "error_type": verdict.get("error_type"), "decoded": c.decoded})  # fmt: skip
    return verdicts


def _turn_done(case: MultiTurnCase) -> bool:
    return case.terminated or bool(case.messages and case.messages[-1].get("turn_end"))
