"""RL problem sets in verl's RL layout, mapped to the ``problem`` / ``answer`` / ``id`` columns GRPO reads.

The paper's RL set, DAPO-Math-17k (`DAPO_MATH_17K`, the set verl's ReTool recipe trains on), and our own verl export
(`retool_data.export.verl_rows`) share one layout: ``prompt`` (chat messages whose user turn wraps the problem in
an instruction), ``reward_model.ground_truth`` (the gold answer), ``extra_info.index``, ``data_source``. GRPO
re-wraps every problem with `retool_data.templates.build_prompt_messages`, so the set's own instruction (DAPO's
"Answer: $Answer" format) is removed first: the policy sees the one ReTool prompt whichever set it trains on.
DAPO-Math-17k repeats each of its ~17k problems about 100 times; duplicates are dropped (and counted).
"""

from __future__ import annotations

from typing import Any

from retool_data.templates import RL_TEMPLATE
from retool_data.tool_protocol import HERMES_TEMPLATE

DAPO_MATH_17K = "BytedTsinghua-SIA/DAPO-Math-17k"
VERL_COLUMNS = ("prompt", "reward_model")

# (head, tail) of the instructions known to wrap a problem in a verl-layout user turn
_DAPO_HEAD = (
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
)
_DAPO_TAIL = '\n\nRemember to put your answer on its own line after "Answer:".'
# our own prompts: the verl export's (Hermes, for verl's tool agent loop) and the ReTool one
WRAPPERS: tuple[tuple[str, str], ...] = (
    (_DAPO_HEAD, _DAPO_TAIL),
    *(tuple(t.text.split("{question}")) for t in (HERMES_TEMPLATE, RL_TEMPLATE)),
)


def is_verl_layout(columns: list[str], problem_column: str = "problem") -> bool:
    """Rows in verl's RL layout (and without a problem column of their own)."""
    return all(c in columns for c in VERL_COLUMNS) and problem_column not in columns


def problem_from_prompt(content: str) -> str:
    """The problem inside a known instruction wrapper (`WRAPPERS`), else the whole user turn, stripped."""
    for head, tail in WRAPPERS:
        if content.startswith(head) and content.endswith(tail) and len(content) >= len(head) + len(tail):
            return content[len(head) : len(content) - len(tail)].strip()
    return content.strip()


def _user_turn(prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    users = [m["content"] for m in prompt or [] if m.get("role") == "user"]
    return str(users[-1]) if users else ""


def verl_problems(raw: Any) -> tuple[Any, int]:
    """(a `datasets.Dataset` of ``id``, ``problem``, ``answer``, ``data_source``; duplicates dropped) from
    verl-layout rows. A row's id is its ``extra_info.index`` (else its row number)."""
    from datasets import Dataset

    rows, seen = [], set()
    for i, row in enumerate(raw):
        problem = problem_from_prompt(_user_turn(row["prompt"]))
        if problem in seen:
            continue
        seen.add(problem)
        reward = row.get("reward_model") or {}
        index = (row.get("extra_info") or {}).get("index")
        rows.append(
            {
                "id": str(i if index is None else index),
                "problem": problem,
                "answer": str(reward.get("ground_truth") or "").strip(),
                "data_source": str(row.get("data_source") or ""),
            }
        )
    return Dataset.from_list(rows), raw.num_rows - len(rows)
