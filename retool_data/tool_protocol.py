"""How a trace's tool calls are written: ReTool tags (``<code>``/``<interpreter>``, the default) or Hermes tool calls.

The same curated trace trains either way. ``retool``: one assistant turn holding the whole trace (TRL SFT, our
GRPO rollout). ``hermes``: what verl's ReTool recipe and tool agent loop speak (``multi_turn.format=hermes``): the
trace split into assistant turns that end in a tool call, each followed by a ``tool`` turn with the interpreter
output, and a ``tools`` column with the `code_interpreter` JSON schema (a list of schema dicts)::

    user       HERMES_TEMPLATE(question)
    assistant  reasoning\\n<tool_call>\\n{"name": "code_interpreter", "arguments": {"code": "print(12 * 7)"}}\\n</tool_call>
    tool       84
    assistant  more reasoning ... \\boxed{84}

The tool call is written inside the assistant text, byte for byte as Qwen2.5's chat template renders a structured
``tool_calls`` entry (``'\\n<tool_call>\\n{"name": ..., "arguments": ' + arguments|tojson + '}\\n</tool_call>'``), so
any chat template (one without tool support too) shows the model exactly what verl's Hermes parser reads back.
The final ``<answer>`` tags are dropped (verl's recipe does the same): the answer is the last ``\\boxed{}``.

Public API (also used by the function-calling side): `code_interpreter_schema`, `tools_json`, `hermes_tool_call`,
`parse_hermes_tool_calls`, `hermes_messages`, `hermes_prompt`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from retool_data.templates import PromptTemplate
from retool_data.trace import parse_trace

TOOL_PROTOCOLS = ("retool", "hermes")
TOOL_NAME = "code_interpreter"

# The user turn of Hermes rows, SFT and verl RL alike (the tool itself is described by the chat template from the
# `tools` schema). The answer contract matches RL_TEMPLATE's minus the <answer> tags, which Hermes traces drop.
HERMES_TEMPLATE = PromptTemplate(
    name="retool-hermes",
    version="1",
    text="""Solve the following problem step by step. You can call the `code_interpreter` tool to run Python code \
in a sandbox; what the code prints is returned to you. Write complete scripts, with the necessary imports, that \
print the results you need.
The last part of your response should be the final answer in the format \\boxed{'The final answer goes here.'}

*user question:*
{question}

Remember to end with the final answer in the format \\boxed{'The final answer goes here.'}""",
)

_TOOL_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def check_protocol(protocol: str) -> str:
    if protocol not in TOOL_PROTOCOLS:
        raise ValueError(f"tool protocol must be one of {TOOL_PROTOCOLS}, not {protocol!r}")
    return protocol


def code_interpreter_schema() -> dict[str, Any]:
    """The OpenAI function schema of the code interpreter, as verl's ReTool tool config declares it."""
    return {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "description": "A tool for executing code.",
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string", "description": "The code to execute."}},
                "required": ["code"],
            },
        },
    }


def tools_json() -> str:
    """The tools of Hermes rows as JSON text (the ``tools`` column holds the same list as structs)."""
    return json.dumps([code_interpreter_schema()], ensure_ascii=False)


def hermes_prompt(question: str) -> str:
    return HERMES_TEMPLATE.format(question=question)


def render_tool_call(name: str, arguments: Mapping[str, Any]) -> str:
    """``<tool_call>`` block of one call, as Qwen2.5's / Hermes chat templates render a ``tool_calls`` entry (no
    leading newline): the one renderer of the export's Hermes rows and iTool's function-calling environment.

    One deviation: an argument that contains ``</tool_call>`` has it written ``<\\/tool_call>`` (the same JSON
    string), so the Hermes parsers, which cut at the first ``</tool_call>``, read the whole call back."""
    body = json.dumps({"name": name, "arguments": dict(arguments)}, ensure_ascii=False)
    return "<tool_call>\n" + body.replace("</tool_call>", "<\\/tool_call>") + "\n</tool_call>"


def hermes_tool_call(code: str, name: str = TOOL_NAME) -> str:
    """The ``code_interpreter`` call of ``code`` (`render_tool_call`)."""
    return render_tool_call(name, {"code": code})


def parse_hermes_tool_calls(text: str) -> list[dict[str, Any]]:
    """``[{"name", "arguments"}]`` of every well-formed ``<tool_call>`` in ``text`` (malformed JSON is skipped, as
    verl's Hermes parser does)."""
    calls = []
    for body in _TOOL_CALL_RE.findall(text):
        try:
            call = json.loads(body.strip())
        except json.JSONDecodeError:
            continue
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            calls.append({"name": call["name"], "arguments": call.get("arguments") or {}})
    return calls


def _assistant(text: str, code: str | None = None) -> dict[str, str]:
    text = text.strip()
    if code is None:
        return {"role": "assistant", "content": text}
    call = hermes_tool_call(code)
    return {"role": "assistant", "content": f"{text}\n{call}" if text else call}


def hermes_messages(question: str, trace: str) -> list[dict[str, str]]:
    """The ReTool ``trace`` as Hermes chat turns: user, then assistant turns ending in a tool call, each followed by
    a ``tool`` turn with the interpreter output, then the final assistant turn. Raises ValueError for a code block
    with no interpreter output (curated traces always have one) or an interpreter block without a code block."""
    messages: list[dict[str, str]] = [{"role": "user", "content": hermes_prompt(question)}]
    text, pending_code = "", None
    for seg in parse_trace(trace).segments:
        if seg.kind == "code":
            if pending_code is not None:
                raise ValueError("a <code> block without interpreter output before the next <code> block")
            pending_code = seg.content
        elif seg.kind == "interpreter":
            if pending_code is None:
                raise ValueError("an <interpreter> block that follows no <code> block")
            messages.append(_assistant(text, pending_code))
            messages.append({"role": "tool", "content": seg.content})
            text, pending_code = "", None
        elif pending_code is not None and seg.content.strip():
            raise ValueError("a <code> block without interpreter output (text follows it)")
        else:  # text, or the answer (its tags dropped: the boxed answer stays in the text)
            text += seg.content
    if pending_code is not None:
        raise ValueError("a <code> block without interpreter output at the end of the trace")
    messages.append(_assistant(text))
    return messages
