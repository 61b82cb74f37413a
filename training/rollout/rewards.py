"""GRPO reward functions: plain ``f(completions, **kwargs) -> list[float]`` (TRL's reward-function contract) and a
name -> function registry (`REWARD_FUNCS`, `get_reward_funcs`).

TRL passes every dataset column (here ``answer``, the gold answer) and every extra field the rollout returns
(``model_text``, ``num_tool_calls``, ``code_errors``, ``truncated``, ``rollout_end``, ...) as keyword arguments, one
value per completion.

What is scored is only what the model wrote: the rollout's ``model_text`` (its model spans, interpreter blocks left
out) when given, else the completion text, whose interpreter blocks `retool_data.trace` escapes on writing and
``parse_trace`` keeps as interpreter output. Code that prints ``</interpreter><answer>\\boxed{42}</answer>``
earns nothing.

* ``answer`` - the paper's outcome reward: +1 if the final answer (`final_answer`) is equivalent to the gold
  answer (`is_equivalent`, math-verify), -1 otherwise (no answer, wrong answer, truncated). On by default.
* ``accuracy`` - 1/0 for the same check (for evaluation; ``answer`` already logs ``retool/accuracy``).
* ``format`` - ``-penalty`` when the trace breaks the ReTool format (no ``<answer>`` with a ``\\boxed{}``, more than
  one answer, an unclosed block, text after the answer); 0 otherwise. Off by default.
* ``tool_call_shaping`` - verl's ReTool recipe (recipe/retool/retool.py): a wrong answer scores
  ``min(-0.6, -1 + 0.1 * tool_calls)`` instead of -1, which encourages trying code. As an additive term next to
  ``answer`` (weight 1) it is ``min(0.4, 0.1 * tool_calls)`` on wrong answers, 0 on right ones. Off by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from retool_data.answers import is_equivalent
from retool_data.trace import parse_trace, validate_trace

RewardFunc = Callable[..., list[float]]

# validate_trace codes that make a rollout's format wrong for the penalty (interpreter pairing codes are not the
# model's fault in RL: the environment writes those blocks).
FORMAT_PROBLEMS = frozenset(
    {
        "unbalanced_tags",
        "no_answer",
        "answer_not_in_tags",
        "multiple_answers",
        "empty_answer",
        "text_after_answer",
    }
)


def completion_text(completion: Any) -> str:
    """The assistant text of a completion: a string, or TRL's conversational ``[{"role", "content"}]`` list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        return "".join(
            completion_text(m) for m in completion if not isinstance(m, dict) or m.get("role") != "user"
        )
    return str(completion)


def _golds(kwargs: dict[str, Any], n: int) -> list[str | None]:
    gold = kwargs.get("answer")
    if gold is None:
        raise KeyError("reward needs the gold answer: the dataset must have an `answer` column")
    golds = list(gold) if isinstance(gold, list | tuple) else [gold] * n
    if len(golds) != n:
        raise ValueError(f"{len(golds)} gold answers for {n} completions")
    return [None if g is None else str(g) for g in golds]


def scored_texts(completions: Sequence[Any], kwargs: dict[str, Any]) -> list[str]:
    """The text each reward scores: the rollout's ``model_text`` when the rollout sent it, else the completion."""
    model_text = kwargs.get("model_text")
    if model_text is None:
        return [completion_text(c) for c in completions]
    texts = [model_text] if isinstance(model_text, str) else list(model_text)
    if len(texts) != len(completions):
        raise ValueError(f"{len(texts)} model_text values for {len(completions)} completions")
    return [str(t) for t in texts]


def final_answer(completion: Any) -> str | None:
    """The answer a rollout gives: its last ``<answer>`` block, else the last ``\\boxed{}`` of the model's own
    text (never one printed by the interpreter or written inside code)."""
    return parse_trace(completion_text(completion)).final_answer


def correct(
    completions: Sequence[Any], answer: Sequence[Any] | str, model_text: Sequence[str] | None = None
) -> list[bool]:
    """Whether each completion's final answer equals its gold answer (read from ``model_text`` when given)."""
    texts = scored_texts(completions, {"model_text": model_text})
    golds = _golds({"answer": answer}, len(texts))
    return [
        g is not None and (pred := final_answer(t)) is not None and is_equivalent(pred, g)
        for t, g in zip(texts, golds, strict=True)
    ]


def _correct(completions: Sequence[Any], kwargs: dict[str, Any]) -> list[bool]:
    return correct(completions, _golds(kwargs, len(completions)), kwargs.get("model_text"))


def answer_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """+1 for an answer equivalent to the gold one, -1 otherwise (the ReTool paper's reward). Under TRL it also
    logs the batch accuracy as ``retool/accuracy`` (through the ``log_metric`` hook)."""
    ok = _correct(completions, kwargs)
    log_metric = kwargs.get("log_metric")
    if callable(log_metric) and ok:
        log_metric("retool/accuracy", sum(ok) / len(ok))
    return [1.0 if good else -1.0 for good in ok]


def accuracy(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 / 0.0 for a correct answer; logged with weight 0 so each step reports its accuracy."""
    return [1.0 if ok else 0.0 for ok in _correct(completions, kwargs)]


def make_format_penalty(penalty: float = 0.5) -> RewardFunc:
    """``-penalty`` for a completion that breaks the ReTool format (`FORMAT_PROBLEMS`), else 0."""

    def format_penalty(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        out = []
        for text in scored_texts(completions, kwargs):
            codes = {p.code for p in validate_trace(text)}
            out.append(-penalty if codes & FORMAT_PROBLEMS else 0.0)
        return out

    format_penalty.__name__ = "format"
    return format_penalty


def make_tool_call_shaping(per_call: float = 0.1, cap: float = -0.6) -> RewardFunc:
    """verl's ReTool shaping as an additive term: on a wrong answer ``min(cap + 1, per_call * tool_calls)``
    (so that ``answer`` + this = ``min(cap, -1 + per_call * tool_calls)``), 0 on a right one."""

    def tool_call_shaping(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        calls = kwargs.get("num_tool_calls")
        if calls is None:
            raise KeyError(
                "tool_call_shaping needs `num_tool_calls` from the rollout (training.grpo.rollout_func)"
            )
        ok = _correct(completions, kwargs)
        return [
            0.0 if good else min(cap + 1.0, per_call * float(n)) for good, n in zip(ok, calls, strict=True)
        ]

    tool_call_shaping.__name__ = "tool_call_shaping"
    return tool_call_shaping


def _named(func: RewardFunc, name: str) -> RewardFunc:
    """A copy of ``func`` called ``name`` (TRL logs each reward as ``rewards/<__name__>/mean``)."""

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        return func(completions, **kwargs)

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = func.__doc__
    return reward


# name -> factory(**params) -> reward function; names are what configs list in `rewards`
REWARD_FUNCS: dict[str, Callable[..., RewardFunc]] = {
    "answer": lambda: _named(answer_reward, "answer"),
    "accuracy": lambda: _named(accuracy, "accuracy"),
    "format": make_format_penalty,
    "tool_call_shaping": make_tool_call_shaping,
}


def get_reward_funcs(
    names: Sequence[str], params: dict[str, dict[str, Any]] | None = None
) -> list[RewardFunc]:
    """Reward functions by name, each built with ``params[name]`` (e.g. ``{"format": {"penalty": 0.2}}``)."""
    params = params or {}
    unknown = [n for n in names if n not in REWARD_FUNCS]
    if unknown:
        raise ValueError(f"unknown reward(s) {unknown}; choose from {sorted(REWARD_FUNCS)}")
    return [REWARD_FUNCS[n](**params.get(n, {})) for n in names]
