"""The optional ``judge`` layer: an LLM decides the borderline pairs the embeddings cannot (LMSYS, arXiv 2311.04850).

Only pairs whose cosine falls in the judge band (below the semantic threshold, above ``judge_min_cosine``) and
that no lexical layer matched are sent. The reply ends in one JSON object, ``{"verdict": "same" | "variant" |
"different", "reason": ...}``; requests go through a `ChatBackend`, so every reply is in the response cache
(key: model, prompt, params, template id ``retool-decontam-judge@1``) and a re-run sends nothing it already has.
A failed or malformed reply leaves the pair undecided (kept, and counted in the stage's stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from retool_data.llm.judge import _json_objects
from retool_data.llm.types import ChatBackend, ChatRequest
from retool_data.templates import PromptTemplate

DECONTAM_JUDGE_TEMPLATE = PromptTemplate(
    name="retool-decontam-judge",
    version="1",
    text="""You check a training set for leaked evaluation problems. Compare the two math problems below.

Training problem:
{problem}

Benchmark problem:
{benchmark_problem}

Verdicts:
- "same": the same problem, however it is worded (paraphrased, sentences reordered, people or objects renamed, \
notation changed, a figure left out); solving one solves the other.
- "variant": the same setup or template with different numbers or conditions, so the answer can differ.
- "different": anything else, including problems that merely share a topic.

End your reply with exactly one JSON object on its own line:
{"verdict": "same" or "variant" or "different", "reason": "one short sentence"}""",
)
VERDICTS = ("same", "variant", "different")
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}


@dataclass(frozen=True)
class PairVerdict:
    verdict: str | None  # one of VERDICTS, None when the judge failed
    reason: str


def parse_reply(text: str | None) -> PairVerdict:
    objects = [o for o in _json_objects(text or "") if isinstance(o, dict) and "verdict" in o]
    if not objects or objects[-1]["verdict"] not in VERDICTS:
        return PairVerdict(None, f"malformed judge reply: {(text or '')[-200:]!r}")
    return PairVerdict(objects[-1]["verdict"], str(objects[-1].get("reason", "")).strip())


def judge_pairs(
    backend: ChatBackend, pairs: list[tuple[str, str]], params: dict[str, Any] | None = None
) -> list[PairVerdict]:
    """One verdict per (training problem, benchmark problem) pair, in order."""
    requests = [
        ChatRequest.user(
            DECONTAM_JUDGE_TEMPLATE.format(problem=p.strip(), benchmark_problem=b.strip()),
            params=params if params is not None else DEFAULT_PARAMS,
            template=DECONTAM_JUDGE_TEMPLATE.id,
        )
        for p, b in pairs
    ]
    replies = backend.complete(requests, desc="decontamination judge") if requests else []
    return [
        parse_reply(r.text) if r.ok else PairVerdict(None, f"judge request failed: {r.error}")
        for r in replies
    ]
