"""Tool calls in the Hermes format (Qwen2.5 / SmolLM-family templates), parsed back robustly, and the verifier.

Rendering: the tools go into the system message the way Qwen2.5's chat template writes them (``# Tools`` ...
``<tools>`` one JSON schema per line ``</tools>``); an assistant call turn is one ``<tool_call>\\n{"name": ...,
"arguments": {...}}\\n</tool_call>`` block per call; a tool result is a user turn of ``<tool_response>`` blocks.
Messages are rendered to plain ``role``/``content`` text first, then through the model's own chat template, so a
template without tool support (SmolLM2) gets the same text a tool-aware one (Qwen2.5) writes.

Parsing (`parse_tool_calls`) accepts what models actually emit: blocks without the closing tag at the end of the
text, code fences, single quotes / Python literals, ``arguments`` given as a JSON string, ``parameters`` for
``arguments``. What cannot be read is reported in ``errors`` (a malformed call is a wrong call, not no call).

Verification (`verify_calls`) compares predicted calls with gold calls by function name and typed arguments, in the
same terms as BFCL's AST checker: a gold argument is a list of acceptable values (``""`` = may be omitted),
strings compare after BFCL's normalisation, an ``integer`` must be an int, a ``number`` an int or float, lists
element-wise, dicts key-wise; parallel calls are matched order-insensitively the way BFCL matches them (each gold
call, in order, takes the first unused predicted call that fits). `benchmarks/fc_verifier.py` checks the
agreement on every non-live BFCL case.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from retool_data.tool_protocol import render_tool_call

TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
TOOLS_HEADER = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_FOOTER = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}'
    "\n</tool_call>"
)
_ESCAPED_CLOSE = "<\\/tool_call>"  # JSON's optional escape of "/": the same string once parsed
_BLOCK_RE = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)


def render_call(call: Mapping[str, Any]) -> str:
    """One ``<tool_call>`` block (`retool_data.tool_protocol.render_tool_call`, the export's renderer too)."""
    return render_tool_call(call["name"], call.get("arguments", {}))


def render_calls(calls: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(render_call(c) for c in calls)


def tools_system_text(system: str, tools: Sequence[Mapping[str, Any]]) -> str:
    """The system message with the tool block (Qwen2.5's template text: system, blank line, ``# Tools``...)."""
    lines = "".join(
        "\n" + json.dumps({"type": "function", "function": dict(t)}, ensure_ascii=False) for t in tools
    )
    block = TOOLS_HEADER + lines + TOOLS_FOOTER
    return f"{system}\n\n{block}" if system else block


def render_messages(system: str, tools: Sequence[Mapping[str, Any]],
                    messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:  # fmt: skip
    """Normalized messages (`retool_data.sources.toolace`) -> plain chat messages in the Hermes format:
    call turns as ``<tool_call>`` text, tool results merged into one user turn of ``<tool_response>`` blocks."""
    out = [{"role": "system", "content": tools_system_text(system, tools)}]
    for m in messages:
        if m["role"] == "assistant":
            out.append({"role": "assistant", "content": render_calls(m["tool_calls"]) if m.get("tool_calls")
                        else str(m.get("content") or "")})  # fmt: skip
        elif m["role"] == "tool":
            results = m["content"] if isinstance(m["content"], list) else [m["content"]]
            text = "\n".join(f"<tool_response>\n{json.dumps(r, ensure_ascii=False)}\n</tool_response>"
                             for r in results)  # fmt: skip
            if out[-1]["role"] == "user" and out[-1]["content"].startswith("<tool_response>"):
                out[-1]["content"] += "\n" + text
            else:
                out.append({"role": "user", "content": text})
        else:
            out.append({"role": m["role"], "content": str(m.get("content") or "")})
    return out


# ------------------------------------------------------------------------------------------------ parsing


@dataclass
class ParsedCalls:
    calls: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # blocks that could not be read as a call
    content: str = ""  # the text outside the blocks

    @property
    def has_calls(self) -> bool:
        return bool(self.calls or self.errors)


def _load_object(text: str) -> Any:
    body = text.strip()
    body = re.sub(r"^```(?:json)?\s*|\s*```$", "", body)
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        pass
    try:  # a prefix that is one JSON value (trailing junk after the object)
        return json.JSONDecoder().raw_decode(body)[0]
    except json.JSONDecodeError:
        pass
    py = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", body)))
    return ast.literal_eval(py)  # single quotes, Python literals


def parse_tool_call(block: str) -> dict[str, Any]:
    """One ``<tool_call>`` body -> ``{"name", "arguments"}`` (ValueError when it is not one)."""
    try:
        obj = _load_object(block)
    except (ValueError, SyntaxError) as err:
        raise ValueError(f"unreadable call: {err}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
        raise ValueError("a call must be an object with a string name")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        args = _load_object(args) if args.strip() else {}
    if not isinstance(args, dict):
        raise ValueError("arguments must be an object")
    return {"name": obj["name"], "arguments": args}


def parse_tool_calls(text: str) -> ParsedCalls:
    out = ParsedCalls()
    for match in _BLOCK_RE.finditer(text or ""):
        try:
            out.calls.append(parse_tool_call(match.group(1)))
        except ValueError as err:
            out.errors.append(str(err))
    out.content = _BLOCK_RE.sub("", text or "").strip()
    return out


# ------------------------------------------------------------------------------------------------ verifier


def _gold_value(value: Any) -> Any:
    """An exact value in BFCL's possible-answer form: a dict's keys (and each dict of a list of dicts) get
    lists of acceptable values, one level deep as BFCL's checker reads them."""
    if isinstance(value, dict):
        return {k: [v] for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [{k: [x] for k, x in v.items()} for v in value]
    return value


def gold_from_calls(calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Exact gold calls (ToolACE) -> the acceptable-values form: ``{"name", "arguments": {p: [value]}}``."""
    return [{"name": c["name"], "arguments": {k: [_gold_value(v)] for k, v in c["arguments"].items()}}
            for c in calls]  # fmt: skip


def gold_from_bfcl(possible_answer: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """BFCL's ``ground_truth`` (``[{name: {param: [acceptable values]}}]``) -> the acceptable-values form."""
    return [
        {"name": name, "arguments": dict(args)} for item in possible_answer for name, args in item.items()
    ]


def _norm(s: str) -> str:  # BFCL's standardize_string
    return re.sub(r"[ \,\.\/\-\_\*\^]", "", s).lower().replace("'", '"')


def _std(v: Any) -> Any:
    return _norm(v) if isinstance(v, str) else v


_PY_TYPES = {"integer": int, "number": float, "string": str, "boolean": bool, "array": list, "object": dict}


def _dict_ok(value: dict, acceptable: Sequence[Any]) -> bool:
    """BFCL's dict_checker: every key known, its standardized value among the key's acceptable values, every
    key not given optional (``""``)."""
    for option in acceptable:
        if option == "" or not isinstance(option, dict):
            continue
        if all(k in option and _std(v) in [_std(x) for x in option[k]] for k, v in value.items()) and all(
            k in value or "" in opts for k, opts in option.items()
        ):
            return True
    return False


def _value_ok(value: Any, acceptable: Sequence[Any], schema: Mapping[str, Any]) -> str | None:
    """None when ``value`` passes BFCL's type and value checks for one parameter, else the error kind."""
    kind = schema.get("type")
    expected = _PY_TYPES.get(kind)  # type: ignore[arg-type]
    items = _PY_TYPES.get((schema.get("items") or {}).get("type")) if kind == "array" else None  # type: ignore[arg-type]
    if kind == "number" and type(value) is int:
        value = float(value)  # Python's int -> float, as BFCL allows
    known = next((type(a) for a in acceptable if a != ""), None)
    variable = known is not None and known is not expected
    if expected is not None and type(value) is not expected:
        if not (known is not None and type(value) is known):
            return "wrong_type"
        variable = True  # BFCL: a value of the possible answer's type stands for a variable
    elif expected is list and items is not None:
        # BFCL checks items one level deep against each acceptable value; an item of the acceptable list's own
        # type counts as a variable, and an acceptable value that is not a list ("") passes the check
        def item_ok(v: Any, option: list) -> bool:
            inner = next((type(x) for x in option if x != ""), None)
            return type(v) is items or (inner is not None and type(v) is inner)

        if not any(not isinstance(a, list) or all(item_ok(v, a) for v in value) for a in acceptable):
            return "wrong_type"
    if not variable:
        if expected is dict:
            return None if _dict_ok(value, acceptable) else "wrong_value"
        if expected is list and items is dict:
            ok = any(isinstance(a, list) and len(a) == len(value)
                     and all(_dict_ok(v, [d]) for v, d in zip(value, a, strict=True)) for a in acceptable)  # fmt: skip
            return None if ok else "wrong_value"
        if expected is str:
            return (
                None
                if _norm(value) in [_norm(a) for a in acceptable if isinstance(a, str)]
                else "wrong_value"
            )
        if expected is list:  # BFCL's list_checker iterates every acceptable value: "" (optional) reads as []
            std = [[_std(x) for x in a] for a in acceptable if isinstance(a, list | str)]
            return None if [_std(x) for x in value] in std else "wrong_value"
    return None if value in list(acceptable) else "wrong_value"


def check_call(
    call: Mapping[str, Any], gold: Mapping[str, Any], tool: Mapping[str, Any] | None
) -> str | None:
    """None when ``call`` matches ``gold`` (name + typed arguments), else the first reason it does not."""
    if call["name"] != gold["name"]:
        return "wrong_function"
    params = (tool or {}).get("parameters", {})
    props, required = params.get("properties", {}), params.get("required", [])
    args = call.get("arguments", {})
    for name in required:
        if name not in args:
            return f"missing_required:{name}"
    for name, value in args.items():
        if name not in gold["arguments"] or name not in props:
            return f"unexpected_argument:{name}"
        error = _value_ok(value, gold["arguments"][name], props[name])
        if error:
            return f"{error}:{name}"
    for name, acceptable in gold["arguments"].items():
        if name not in args and "" not in acceptable:
            return f"missing_argument:{name}"
    return None


@dataclass(frozen=True)
class CallVerdict:
    valid: bool
    error: str | None = None
    matched: int = 0  # predicted calls matched to a distinct gold call


def verify_calls(pred: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]], *, parse_errors: int = 0) -> CallVerdict:  # fmt: skip
    """All of ``gold`` (acceptable-values form) called, nothing else, in any order. ``gold == []`` means no call
    is right (irrelevance); an unreadable call block (``parse_errors``) is a wrong call."""
    if parse_errors:
        return CallVerdict(False, "unparseable_call")
    if not gold:
        return CallVerdict(not pred, None if not pred else "call_when_none_fits")
    if len(pred) != len(gold):
        return CallVerdict(False, "wrong_count", _matching(pred, gold, tools))
    if not _greedy_all(pred, gold, tools):
        return CallVerdict(False, _first_error(pred, gold, tools), _matching(pred, gold, tools))
    return CallVerdict(True, None, len(gold))


def _greedy_all(pred: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]],
                tools: Sequence[Mapping[str, Any]]) -> bool:  # fmt: skip
    """BFCL's order-insensitive rule: each gold call, in order, takes the first unused predicted call matching
    it. (With an ambiguous gold list a maximum matching could accept more; BFCL does not, and neither do we.)"""
    used: set[int] = set()
    for g in gold:
        tool = _tool(tools, g["name"])
        hit = next((i for i, p in enumerate(pred) if i not in used and check_call(p, g, tool) is None), None)
        if hit is None:
            return False
        used.add(hit)
    return True


def _first_error(pred: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]]) -> str:  # fmt: skip
    """Why the first predicted call that matches no gold call fails, against its closest gold call (same name,
    most arguments right)."""
    for p in pred:
        if any(check_call(p, g, _tool(tools, g["name"])) is None for g in gold):
            continue
        same = [g for g in gold if g["name"] == p["name"]]
        if not same:
            return "wrong_function"
        args = p.get("arguments", {})
        props = ((_tool(tools, p["name"]) or {}).get("parameters") or {}).get("properties", {})
        best = max(same, key=lambda g: sum(k in g["arguments"] and k in props
                                            and _value_ok(args[k], g["arguments"][k], props[k]) is None
                                            for k in args))  # fmt: skip
        return check_call(p, best, _tool(tools, best["name"])) or "no_matching_assignment"
    return "no_matching_assignment"  # every call matches some gold call, but not all distinct ones


def _tool(tools: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    return next((t for t in tools if t["name"] == name), None)


def _matching(pred: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]],
              tools: Sequence[Mapping[str, Any]]) -> int:  # fmt: skip
    """Size of a maximum matching predicted -> gold (augmenting paths; a handful of calls per turn)."""
    edges = [
        [j for j, g in enumerate(gold) if check_call(p, g, _tool(tools, g["name"])) is None] for p in pred
    ]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(pred)))


def step_reward(pred: Sequence[Mapping[str, Any]], gold: Sequence[Mapping[str, Any]],
                tools: Sequence[Mapping[str, Any]], *, parse_errors: int = 0) -> float | None:  # fmt: skip
    """The reward of a partial turn (the calls made so far): -1 once it cannot end right (an unreadable call, a
    call when none fits, more calls than gold, or a call matching no distinct gold call); None while it still can
    (MCTS then simulates the rest)."""
    if parse_errors or (pred and not gold) or len(pred) > len(gold):
        return -1.0
    return None if _matching(pred, gold, tools) == len(pred) else -1.0
