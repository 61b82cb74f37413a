"""The records of a rollout: its budget (`RolloutConfig`), an MCTS prefix start (`RolloutStart`), what it produced
(`RolloutResult` with its spans and tool calls) and a batch's timings (`RolloutBatch`).

Kept apart from the loop in `training.rollout.loop` so readers (eval, iTool, rewards) need no generation code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from retool_data.trace import parse_trace
from training.rollout.generation import CODE_STOP

# What the interpreter says when a turn ends at </code> but no <code> block precedes it (nothing to run).
NO_CODE_OUTPUT = "Error: no code found before </code>"
SANDBOX_FAILURE_OUTPUT = "Error: the sandbox failed to run this code"

# A step boundary besides `</code>` + interpreter block: a blank line outside a code block (MCTS expansion).
PARAGRAPH_STOP = "\n\n"

RolloutEnd = Literal["eos", "length", "max_tool_calls", "stop", "step"]


# ---------------------------------------------------------------------------------------- rollouts


@dataclass(frozen=True)
class RolloutConfig:
    """Budget and tool settings of a rollout.

    max_completion_tokens: every completion token counts, interpreter tokens included (TRL's
    ``max_completion_length``). max_tool_calls: code blocks executed per rollout; the next ``</code>`` ends the
    rollout (``end="max_tool_calls"``). use_tools=False: plain generation, no stop string (text-only baseline).

    Step mode (MCTS expansion): ``step_stops`` (e.g. ``(PARAGRAPH_STOP,)``) are extra stop strings that end a
    *step*: a turn ending at one ends the step unless it is inside an open ``<code>`` block or the step has no
    text yet (then generation goes on). A turn ending at ``</code>`` ends its step once the interpreter block is
    appended. ``max_steps``: the rollout ends (``end="step"``) after that many steps; None = no limit.
    """

    max_completion_tokens: int
    max_tool_calls: int = 8
    use_tools: bool = True
    stop: tuple[str, ...] = (CODE_STOP,)
    code_timeout_s: float | None = None
    session_prefix: str = "rollout"
    step_stops: tuple[str, ...] = ()
    max_steps: int | None = None

    def __post_init__(self) -> None:
        if self.max_completion_tokens < 1:
            raise ValueError("max_completion_tokens must be >= 1")
        if self.max_tool_calls < 0:
            raise ValueError("max_tool_calls must be >= 0")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError("max_steps must be >= 1 (or None for no limit)")


@dataclass(frozen=True)
class RolloutStart:
    """A rollout whose prompt already holds part of a trace (an MCTS node's prefix).

    replay: the prefix's code blocks, run in order in the rollout's fresh sandbox session before it generates, so
    the session's state matches the prefix (their outputs are already in the prompt; they are recorded in
    ``RolloutResult.replay``). tool_calls / completion_tokens: what the prefix already used of
    ``max_tool_calls`` / ``max_completion_tokens``.
    """

    replay: tuple[str, ...] = ()
    tool_calls: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class RolloutSpan:
    """A contiguous piece of the completion: ``completion_ids[start:end]`` decodes to ``text``."""

    kind: Literal["model", "interpreter"]
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class ToolCallRecord:
    code: str
    status: str  # the sandbox's ExecResult.status ("ok", "error", "timeout", ...), or "no_code" / "sandbox_failure"
    output: str
    duration_s: float
    position: int  # completion tokens before this call's interpreter block (the </code> stop)
    interpreter_tokens: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class RolloutResult:
    """One finished rollout: the ids TRL trains on and the text-level trace that eval and MCTS read."""

    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)  # 1 = sampled by the policy, 0 = interpreter text
    logprobs: list[float] | None = field(
        default_factory=list
    )  # 0.0 on interpreter tokens; None if unavailable
    spans: list[RolloutSpan] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    end: RolloutEnd = "length"
    steps: int = 0  # steps completed (see RolloutConfig.step_stops)
    # RolloutStart.replay as it ran (not part of the ids)
    replay: list[ToolCallRecord] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The full trace: model text and interpreter blocks in order."""
        return "".join(s.text for s in self.spans)

    @property
    def model_text(self) -> str:
        """Only what the policy wrote, interpreter blocks left out: the text rewards and eval score, so nothing a
        program prints (``print("</interpreter><answer>...")``) can ever count as the model's answer."""
        return "".join(s.text for s in self.spans if s.kind == "model")

    @property
    def num_tool_calls(self) -> int:
        return len(self.tool_calls)

    @property
    def code_errors(self) -> int:
        return sum(not c.ok for c in self.tool_calls)

    @property
    def truncated(self) -> bool:
        """Ran out of completion budget before an EOS."""
        return self.end == "length"

    @property
    def model_tokens(self) -> int:
        return sum(self.env_mask)

    @property
    def first_call_position(self) -> int | None:
        """Completion tokens before the first interpreter block (None without a tool call)."""
        return self.tool_calls[0].position if self.tool_calls else None

    @property
    def first_call_ratio(self) -> float | None:
        """`first_call_position` as a share of the completion length (ReTool's code-invocation timing)."""
        pos = self.first_call_position
        return None if pos is None or not self.completion_ids else pos / len(self.completion_ids)

    @property
    def unclosed_code(self) -> bool:
        """The trace ends inside a ``<code>`` block that never reached ``</code>`` (nothing was executed)."""
        segs = parse_trace(self.text).segments
        return bool(segs) and segs[-1].kind == "code" and not segs[-1].closed

    def summary(self) -> dict[str, Any]:
        """Per-rollout numbers (JSON-safe) for logs, rewards and eval records."""
        return {
            "num_tool_calls": self.num_tool_calls,
            "code_errors": self.code_errors,
            "truncated": self.truncated,
            "end": self.end,
            "completion_tokens": len(self.completion_ids),
            "model_tokens": self.model_tokens,
            "first_call_position": self.first_call_position,
            "first_call_ratio": self.first_call_ratio,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), **self.summary(), "text": self.text, "model_text": self.model_text}


@dataclass
class RolloutBatch:
    results: list[RolloutResult]
    generation_s: float = 0.0  # wall time inside backend.generate
    sandbox_s: float = 0.0  # wall time waiting for sandbox calls (all of a turn's calls run concurrently)
    turns: int = 0
    replay_calls: int = 0  # code blocks re-run to rebuild prefix sessions (RolloutStart.replay)

    @property
    def total_s(self) -> float:
        return self.generation_s + self.sandbox_s
