"""ToolACE (function calling) -> one normalized schema, with per-row quarantine and a curriculum difficulty.

ToolACE's layout (Hub id ``Team-ACE/ToolACE``; one row per dialog)::

    {"system": "You are an expert in composing functions. ... Here is a list of functions in JSON format that
                you can invoke:\\n[{"name": ..., "description": ..., "parameters": {"type": "dict", ...}}].
                Should you decide to return the function call(s) ...",
     "conversations": [{"from": "user", "value": "..."},
                       {"from": "assistant", "value": "[Func A(x=1, y=\\"b\\"), g(z=[1, 2])]"},
                       {"from": "tool", "value": "[{\\"name\\": \\"Func A\\", \\"results\\": {...}}]"},
                       {"from": "assistant", "value": "the final answer"}, ...]}

The tool list is embedded in the system text; calls are Python-style (names may contain spaces or dots, values are
Python or JSON literals); tool results are JSON. `normalize_toolace_row` turns a row into a `FunctionCallExample`:

* ``tools``: JSON schemas (``{"name", "description", "parameters": {"type": "object", "properties", "required"}}``;
  ToolACE/BFCL's ``dict``/``float``/``tuple``/``any`` types become ``object``/``number``/``array``/``string``);
* ``messages``: ``user`` turns, ``assistant`` turns with ``tool_calls`` (``[{"name", "arguments"}]``) or
  ``content`` (a final answer, or a refusal when no tool fits), ``tool`` turns with the results;
* ``category`` (BFCL's names: simple, multiple, parallel, parallel_multiple, irrelevance, multi_turn) and the
  curriculum ``difficulty`` from `difficulty_features`.

A row that cannot be normalized exactly is quarantined with a reason (`QUARANTINE_REASONS`), never repaired.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HUB_ID = "Team-ACE/ToolACE"
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "toolace_sample.jsonl"
QUARANTINE_REASONS = (
    "no_conversations",
    "tools_missing",  # no JSON tool list in the system text
    "tools_unparseable",
    "tool_schema_invalid",  # a tool without a name, or parameters that are not an object schema
    "bad_role",
    "no_user_turn",
    "call_unparseable",
    "call_unknown_function",
    "call_unknown_argument",
    "call_missing_required",
    "tool_result_unparseable",
)
CATEGORIES = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "multi_turn")
# ToolACE and BFCL use Python-flavoured type names; JSON schema has its own
_TYPE_ALIASES = {"dict": "object", "float": "number", "tuple": "array", "any": "string", "list": "array",
                 "int": "integer", "str": "string", "bool": "boolean"}  # fmt: skip
_JSON_TYPES = {"object", "number", "integer", "string", "boolean", "array", "null"}
_TOOLS_RE = re.compile(r"invoke:\s*\n?", re.IGNORECASE)
_ROLES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "tool": "tool",
          "function": "tool", "observation": "tool"}  # fmt: skip


class RowError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass
class FunctionCallExample:
    id: str
    system: str  # the system text without the tool list
    tools: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    category: str
    difficulty: float
    features: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> FunctionCallExample:
        return cls(**{k: row[k] for k in ("id", "system", "tools", "messages", "category", "difficulty")},
                   features=dict(row.get("features") or {}))  # fmt: skip


@dataclass
class ToolACEResult:
    examples: list[FunctionCallExample]
    quarantine: list[dict[str, Any]]  # {"id", "row", "reason", "detail"}
    stats: dict[str, Any]


# ------------------------------------------------------------------------------------------------ tool schemas


def _schema(node: Any, where: str) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise RowError("tool_schema_invalid", f"{where} is not an object")
    out = dict(node)
    kind = out.get("type")
    if isinstance(kind, str):
        kind = _TYPE_ALIASES.get(kind, kind)
        if kind not in _JSON_TYPES:
            raise RowError("tool_schema_invalid", f"{where} has unknown type {out['type']!r}")
        out["type"] = kind
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _schema(v, f"{where}.{k}") for k, v in out["properties"].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _schema(out["items"], f"{where}[]")
    return out


def normalize_tool(tool: Any) -> dict[str, Any]:
    """One tool as a JSON schema (`RowError` ``tool_schema_invalid`` when it has no name or its parameters are
    not an object schema)."""
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"].strip():
        raise RowError("tool_schema_invalid", "a tool without a name")
    params = tool.get("parameters") or {"type": "object", "properties": {}}
    params = _schema(params, tool["name"])
    if params.get("type", "object") != "object" or not isinstance(params.get("properties", {}), dict):
        raise RowError("tool_schema_invalid", f"{tool['name']}: parameters are not an object schema")
    required = params.get("required", [])
    if not isinstance(required, list) or any(r not in params.get("properties", {}) for r in required):
        raise RowError("tool_schema_invalid", f"{tool['name']}: required names an unknown parameter")
    params = {"type": "object", "properties": params.get("properties", {}), "required": list(required)}
    return {"name": tool["name"], "description": str(tool.get("description") or ""), "parameters": params}


def split_system(system: str) -> tuple[str, list[Any]]:
    """(the system text before the tool list, the raw tool list). The list starts after ``...invoke:`` and is
    the longest prefix that parses as JSON."""
    match = _TOOLS_RE.search(system or "")
    start = match.end() if match else (system or "").find("[")
    if start < 0 or start >= len(system or ""):
        raise RowError("tools_missing")
    try:
        tools, _ = json.JSONDecoder().raw_decode(system[start:].lstrip())
    except json.JSONDecodeError as err:
        raise RowError("tools_unparseable", str(err)) from None
    if not isinstance(tools, list):
        raise RowError("tools_unparseable", "the tool list is not a JSON list")
    head = system[: match.start()] if match else system[:start]
    return head.strip(), tools


# ------------------------------------------------------------------------------------------------ calls

_LITERALS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name) and node.id in _LITERALS:  # JSON-style true/false/null
        return _LITERALS[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):  # a nested call as an argument value
        raise RowError("call_unparseable", "nested call as an argument")
    return ast.literal_eval(node)


def _outside_quotes(text: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth after it) of every character of ``text`` from ``start`` that is not inside
    a quoted string (quotes and escapes skipped)."""
    depth, quote, i = 0, None, start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        else:
            depth += (ch in "([{") - (ch in ")]}")
            yield i, ch, depth
        i += 1


def _top_level_calls(text: str) -> list[tuple[str, str]]:
    """Split ``[A(x=1), B c(y="a, b")]`` into (name, argument text) pairs, respecting quotes and brackets."""
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise RowError("call_unparseable", "not a [call, ...] list")
    body, calls, i = body[1:-1], [], 0
    while i < len(body):
        while i < len(body) and body[i] in " ,\n\t":
            i += 1
        if i >= len(body):
            break
        open_at = body.find("(", i)
        if open_at < 0:
            raise RowError("call_unparseable", f"no argument list after {body[i : i + 40]!r}")
        name = body[i:open_at].strip()
        close = next((j for j, _, depth in _outside_quotes(body, open_at) if depth == 0), None)
        if close is None or not name:
            raise RowError("call_unparseable", f"unbalanced call {body[i : i + 40]!r}")
        calls.append((name, body[open_at + 1 : close]))
        i = close + 1
    return calls


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside quotes and brackets."""
    parts, start = [], 0
    for i, ch, depth in _outside_quotes(text):
        if ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def parse_toolace_calls(text: str) -> list[dict[str, Any]]:
    """``[Func A(x=1), g(from="b")]`` -> ``[{"name": "Func A", "arguments": {"x": 1}}, ...]``; `RowError` when
    the text is not such a list. Every argument must be named; names may be Python keywords (``from``), so each
    ``name=value`` is split by hand and only the value goes through `ast`."""
    out = []
    for name, args in _top_level_calls(text):
        arguments: dict[str, Any] = {}
        for piece in _split_top(args, ","):
            if not piece.strip():
                continue
            key, eq, value = piece.partition("=")
            key = key.strip()
            if not eq or not key or not re.fullmatch(r"[\w.\-]+", key):
                raise RowError("call_unparseable", f"{name}: positional or malformed argument {piece[:40]!r}")
            try:
                arguments[key] = _literal(ast.parse(value.strip(), mode="eval").body)
            except (ValueError, TypeError, SyntaxError) as err:
                raise RowError("call_unparseable", f"{name}.{key}: {err}") from None
        out.append({"name": name, "arguments": arguments})
    if not out:
        raise RowError("call_unparseable", "an empty call list")
    return out


def looks_like_calls(text: str) -> bool:
    """A ToolACE assistant turn is a call turn when it is a bracketed list starting with ``[name(``."""
    return bool(re.match(r"^\s*\[\s*[^\[\]()\"']+\(", text or "")) and text.strip().endswith("]")


def check_calls(calls: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
    by_name = {t["name"]: t for t in tools}
    for call in calls:
        tool = by_name.get(call["name"])
        if tool is None:
            raise RowError("call_unknown_function", call["name"])
        props, required = tool["parameters"]["properties"], tool["parameters"]["required"]
        unknown = sorted(set(call["arguments"]) - set(props))
        if unknown:
            raise RowError("call_unknown_argument", f"{call['name']}: {unknown}")
        missing = sorted(set(required) - set(call["arguments"]))
        if missing:
            raise RowError("call_missing_required", f"{call['name']}: {missing}")


# ------------------------------------------------------------------------------------------------ rows


def difficulty_features(tools: list[dict[str, Any]], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What makes a dialog hard: tools to choose from, calls per assistant turn, parallel calls (several calls in
    one turn), parallel-multiple (of different functions), nested calls (a call turn that follows a tool result
    within one user turn: the call depends on an earlier one) and user turns."""
    call_turns = [m["tool_calls"] for m in messages if m["role"] == "assistant" and m.get("tool_calls")]
    nested, after_tool = 0, False
    for m in messages:
        if m["role"] == "user":
            after_tool = False
        elif m["role"] == "tool":
            after_tool = True
        elif m["role"] == "assistant" and m.get("tool_calls") and after_tool:
            nested += 1
    return {
        "tools": len(tools),
        "user_turns": sum(m["role"] == "user" for m in messages),
        "call_turns": len(call_turns),
        "calls": sum(len(c) for c in call_turns),
        "max_calls_per_turn": max((len(c) for c in call_turns), default=0),
        "parallel": any(len(c) > 1 for c in call_turns),
        "parallel_multiple": any(len({x["name"] for x in c}) > 1 for c in call_turns),
        "nested": nested,
    }


def difficulty_score(f: Mapping[str, Any]) -> float:
    """Higher = harder; each feature adds about one unit at its typical range (see docs/itool.md)."""
    return round(
        math.log2(1 + f["tools"]) + (f["max_calls_per_turn"] - 1 if f["max_calls_per_turn"] else 0)
        + 0.5 * f["parallel_multiple"] + 1.5 * f["nested"] + (f["user_turns"] - 1) + 0.25 * f["call_turns"],
        4,
    )  # fmt: skip


def category(f: Mapping[str, Any]) -> str:
    if f["user_turns"] > 1 or f["call_turns"] > 1:
        return "multi_turn"
    if f["call_turns"] == 0:
        return "irrelevance"
    if f["parallel_multiple"]:
        return "parallel_multiple"
    if f["parallel"]:
        return "parallel"
    return "multiple" if f["tools"] > 1 else "simple"


def normalize_toolace_row(row: Mapping[str, Any], row_id: str) -> FunctionCallExample:
    """One ToolACE row -> `FunctionCallExample` (`RowError` with a quarantine reason when it cannot be exact)."""
    conversations = row.get("conversations") or []
    if not conversations:
        raise RowError("no_conversations")
    head, raw_tools = split_system(str(row.get("system") or ""))
    tools = [normalize_tool(t) for t in raw_tools]
    messages: list[dict[str, Any]] = []
    for turn in conversations:
        role = _ROLES.get(str(turn.get("from", "")).lower())
        value = str(turn.get("value") or "")
        if role is None:
            raise RowError("bad_role", str(turn.get("from")))
        if role == "assistant" and looks_like_calls(value):
            calls = parse_toolace_calls(value)
            check_calls(calls, tools)
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        elif role == "tool":
            try:
                messages.append({"role": "tool", "content": json.loads(value)})
            except json.JSONDecodeError as err:
                raise RowError("tool_result_unparseable", str(err)) from None
        else:
            messages.append({"role": role, "content": value})
    if not any(m["role"] == "user" for m in messages):
        raise RowError("no_user_turn")
    feats = difficulty_features(tools, messages)
    return FunctionCallExample(row_id, head, tools, messages, category(feats), difficulty_score(feats), feats)


def normalize_rows(rows: Iterable[Mapping[str, Any]], *, id_prefix: str = "toolace/",
                   limit: int | None = None) -> ToolACEResult:  # fmt: skip
    examples, quarantine, reasons = [], [], Counter()
    for i, row in enumerate(rows):
        if limit is not None and len(examples) >= limit:
            break
        row_id = str(row.get("id") or f"{id_prefix}{i}")
        try:
            examples.append(normalize_toolace_row(row, row_id))
        except RowError as err:
            reasons[err.reason] += 1
            quarantine.append({"id": row_id, "row": i, "reason": err.reason, "detail": err.detail})
    stats = {"rows_in": len(examples) + len(quarantine), "kept": len(examples), "rejected": len(quarantine),
             "reasons": dict(sorted(reasons.items())),
             "categories": dict(sorted(Counter(e.category for e in examples).items()))}  # fmt: skip
    return ToolACEResult(examples, quarantine, stats)


def read_toolace(
    path: str | Path | None = None,
    *,
    split: str = "train",
    revision: str | None = None,
    limit: int | None = None,
    cache_dir: str | None = None,
) -> ToolACEResult:
    """ToolACE rows from a local ``.json``/``.jsonl`` file (default: the bundled sample), or through `datasets`:
    the Hub (``path="Team-ACE/ToolACE"``, ``revision`` = a commit sha or tag, recorded in ``stats``) or a local
    dataset directory."""
    source = str(path or SAMPLE_PATH)
    local = Path(source)
    if local.is_file():
        text = local.read_text(encoding="utf-8")
        rows = (json.loads(text) if text.lstrip().startswith("[")
                else [json.loads(line) for line in text.splitlines() if line.strip()])  # fmt: skip
        result = normalize_rows(rows, id_prefix=f"{local.stem}/", limit=limit)
    else:
        from retool_data.sources.open_thoughts import load_hub_rows

        rows = load_hub_rows(source, None, split, streaming=limit is not None, revision=revision,
                             cache_dir=cache_dir)  # fmt: skip
        result = normalize_rows(rows, id_prefix=f"{split}/", limit=limit)
    result.stats.update(dataset=source, split=split, revision=revision)
    return result


def save_examples(examples: Iterable[FunctionCallExample], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
    return path
