"""The R1-style answer judge: a prompt that ends in a JSON verdict, and a strict parser for its reply.

The judge gets rows the rules cannot decide (no parsable answer on a side, proofs, text answers). It may think
as long as it likes (R1 does, sometimes inside ``<think>``); only the last JSON object of the reply counts, and
it must be exactly ``{"correct": <bool>, "reason": <str>}``. Anything else is a malformed reply: the stage asks
again (a new cache key via ``ChatRequest.attempt``) and, when all attempts are malformed, records
``judge_error``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from retool_data.llm.types import ChatRequest
from retool_data.templates import PromptTemplate

JUDGE_TEMPLATE = PromptTemplate(
    name="retool-judge",
    version="1",
    text="""You are an expert competition-mathematics grader. Decide whether the candidate's solution reaches \
the correct final result.

Problem:
{problem}

Reference answer:
{gold_answer}

Reference solution:
{gold_solution}

Candidate solution:
{candidate}

How to grade:
- Compare the candidate's final answer with the reference answer. Mathematically equivalent forms count as \
equal (2/4 and 1/2, a reordered set, an equivalent expression, the same value with or without units).
- If the candidate states no final answer, it is incorrect.
- If the problem asks for a proof, the candidate is correct only if its argument is complete and valid; use \
the reference solution as a guide.
- Do not solve the problem again from scratch unless you need to.

Think as long as you need. Then end your reply with exactly one JSON object on its own line and nothing after \
it:
{"correct": true or false, "reason": "one short sentence"}""",
)

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"correct": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["correct", "reason"],
}
RESPONSE_FORMATS = ("none", "json_object", "json_schema")


def response_format(kind: str) -> dict[str, Any] | None:
    """Constrained decoding of the verdict, for servers that have it (not R1's own API, which thinks first):
    ``json_schema`` is OpenAI's and vLLM's form, ``json_object`` with a schema is llama.cpp's."""
    if kind == "none":
        return None
    if kind == "json_object":
        return {"type": "json_object", "schema": VERDICT_SCHEMA}
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": VERDICT_SCHEMA, "strict": True},
        }
    raise ValueError(f"unknown response format {kind!r}; choose one of {RESPONSE_FORMATS}")


# R1's recommended sampling; max_tokens leaves room for its thinking.
DEFAULT_JUDGE_PARAMS: dict[str, Any] = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 8192}
MAX_FIELD_CHARS = 6000  # long reasoning is cut from the front: the end holds the answer
_THINK_RE = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)


@dataclass(frozen=True)
class JudgeVerdict:
    correct: bool
    reason: str


def _tail(text: str | None, limit: int = MAX_FIELD_CHARS) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def judge_prompt(problem: str, gold_answer: str | None, gold_solution: str | None, candidate: str) -> str:
    return JUDGE_TEMPLATE.format(
        problem=(problem or "").strip(),
        gold_answer=(gold_answer or "(none given)").strip(),
        gold_solution=_tail(gold_solution) or "(none given)",
        candidate=_tail(candidate) or "(empty)",
    )


def judge_request(row: dict[str, Any], params: dict[str, Any] | None = None, attempt: int = 0) -> ChatRequest:
    """The judge request for one problem row (the teacher's written solution, else its reasoning)."""
    candidate = row.get("solution") or row.get("reasoning") or ""
    prompt = judge_prompt(
        row.get("problem") or "", row.get("gold_answer"), row.get("gold_solution"), candidate
    )
    return ChatRequest.user(
        prompt,
        params=params if params is not None else DEFAULT_JUDGE_PARAMS,
        template=JUDGE_TEMPLATE.id,
        attempt=attempt,
        tag=str(row.get("id") or ""),
    )


def _json_objects(text: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        found.append(obj)
        i = text.find("{", end)
    return found


def parse_judge_reply(text: str | None) -> JudgeVerdict | str:
    """The verdict, or a string saying why the reply is malformed."""
    if not text or not text.strip():
        return "empty reply"
    visible = _THINK_RE.sub("", text)
    objects = [o for o in _json_objects(visible) if isinstance(o, dict) and "correct" in o]
    if not objects:
        return "no JSON object with a 'correct' key"
    obj = objects[-1]
    if not isinstance(obj["correct"], bool):
        return f"'correct' must be a JSON boolean, got {obj['correct']!r}"
    reason = obj.get("reason")
    if not isinstance(reason, str):
        return "'reason' must be a string"
    return JudgeVerdict(obj["correct"], reason.strip())
