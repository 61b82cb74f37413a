"""The reward verl computes for our rows: ``custom_reward_function`` (``path: pkg://training.verl.reward``,
``name: compute_score``), in verl's signature ``compute_score(data_source, solution_str, ground_truth, extra_info)``.

verl decodes the whole response, tool responses included, into ``solution_str``. Scoring that text would let code
that prints ``\\boxed{42}`` earn the reward without the model ever writing an answer, so only the model's final
turn counts: the text after the last ``</tool_response>`` (the marker the Hermes / Qwen chat templates wrap every
tool turn in; the template writes the real one after the tool's text, so a look-alike printed by the code is
always followed by it). The answer is that turn's last ``\\boxed{}``, compared with math-verify
(`retool_data.answers.is_equivalent`), the check the rest of the project uses.

Score: +1 right, -1 wrong or missing; verl's ReTool shaping (recipe/retool/retool.py) lifts a wrong answer by 0.1
per tool call, capped at -0.6 (``num_turns`` counts user, assistant and tool turns: (num_turns - 2) / 2 calls).
"""

from __future__ import annotations

from typing import Any

from retool_data.answers import is_equivalent
from retool_data.boxed import extract_answer

TOOL_RESPONSE_END = "</tool_response>"


def final_turn(solution_str: str, tool_response_end: str = TOOL_RESPONSE_END) -> str:
    """What the model wrote after the environment's last tool response (the whole response if it called none)."""
    cut = solution_str.rfind(tool_response_end)
    return solution_str if cut < 0 else solution_str[cut + len(tool_response_end) :]


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    *,
    tool_call_bonus: float = 0.1,
    wrong_cap: float = -0.6,
    **kwargs: Any,
) -> dict[str, Any]:
    """``{"score", "acc", "pred"}``: verl logs every key, trains on ``score``. ``tool_call_bonus=0`` turns the
    shaping off (set through ``custom_reward_function.reward_kwargs``)."""
    pred = extract_answer(final_turn(solution_str))
    ok = pred is not None and bool(ground_truth) and is_equivalent(pred, str(ground_truth))
    score = 1.0 if ok else -1.0
    num_turns = (extra_info or {}).get("num_turns")
    if not ok and tool_call_bonus and num_turns is not None:
        calls = max(0.0, (float(num_turns) - 2.0) / 2.0)
        score = min(wrong_cap, score + tool_call_bonus * calls)
    return {"score": score, "acc": ok, "pred": pred or ""}
