"""The multi-turn code-interpreter rollout: one implementation shared by GRPO, evaluation and iTool's search.

For every prompt the loop asks a generation backend to continue the context until ``</code>``, EOS or the
token budget; when a turn ends at ``</code>`` the code of that block runs in the sandbox (one session per rollout,
so variables carry across blocks like a notebook), the interpreter text
``retool_data.trace.format_interpreter_block(output)`` is tokenized and appended with ``env_mask`` 0, and the
loop continues from ``prompt ids + completion ids so far``. Earlier turns are never decoded and re-tokenized
(trl#5224): the ids the policy sampled are the ids that are trained.

A backend only continues contexts (`GenerationBackend.generate`); the tool loop, the masks, the budget and the
bookkeeping live here once. Sandbox calls of all live rollouts of a turn run concurrently (``Sandbox.arun``).

The stop rule (where a turn ends, how a stop inside a BPE token is cut) is `training.generation.finish_continuation`,
applied by every backend. See docs/training.md (GRPO) for the table of end cases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from retool_data.trace import format_interpreter_block, parse_trace
from training.generation import (
    CODE_STOP,
    Continuation,
    FinishReason,
    GenerationBackend,
    GenerationRequest,
    SamplingSettings,
    Tokenizer,
    finish_continuation,
)

__all__ = [
    "CODE_STOP",
    "Continuation",
    "FinishReason",
    "GenerationBackend",
    "GenerationRequest",
    "PARAGRAPH_STOP",
    "RolloutBatch",
    "RolloutConfig",
    "RolloutResult",
    "RolloutSpan",
    "RolloutStart",
    "SamplingSettings",
    "ToolCallRecord",
    "arun_rollouts",
    "finish_continuation",
    "run_rollouts",
]

log = logging.getLogger(__name__)

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
        return {**asdict(self), **self.summary(), "text": self.text}


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


def extract_turn_code(turn_text: str) -> str | None:
    """The code of the block this turn closed: the last ``<code>`` block of the turn, fences stripped."""
    blocks = parse_trace(turn_text).code_blocks
    return blocks[-1] if blocks else None


class _Rollout:
    """Mutable state of one rollout while the loop runs."""

    def __init__(
        self,
        prompt_ids: list[int],
        session: str,
        index: int,
        budget: int,
        start: RolloutStart,
        seed: int | None = None,
    ) -> None:
        self.result = RolloutResult(prompt_ids=list(prompt_ids))
        self.session = session
        self.index = index
        self.seed = seed
        self.turns = 0
        self.done = False
        self.used_session = False
        self.budget = budget  # completion tokens this rollout may add
        self.start = start
        self.step_text = ""  # model text of the step being written

    @property
    def calls_made(self) -> int:
        return self.start.tool_calls + self.result.num_tool_calls

    def end_step(self, max_steps: int | None) -> None:
        self.result.steps += 1
        self.step_text = ""
        if max_steps is not None and self.result.steps >= max_steps and not self.done:
            self.done, self.result.end = True, "step"

    def turn_seed(self) -> int | None:
        """A distinct seed per turn of this rollout (the same seed on every turn would replay the same uniforms)."""
        return None if self.seed is None else (self.seed + 7919 * self.turns) % 2**31

    def context(self) -> list[int]:
        return self.result.prompt_ids + self.result.completion_ids

    def append(self, kind: str, ids: list[int], text: str, logprobs: list[float] | None) -> None:
        r = self.result
        start = len(r.completion_ids)
        r.completion_ids.extend(ids)
        r.env_mask.extend([1 if kind == "model" else 0] * len(ids))
        if r.logprobs is not None:
            r.logprobs = None if logprobs is None else [*r.logprobs, *logprobs]
        if ids or text:
            r.spans.append(RolloutSpan(kind, text, start, len(r.completion_ids)))  # type: ignore[arg-type]


async def _execute(
    sandbox: Any, code: str | None, session: str, timeout_s: float | None
) -> tuple[str, str, float]:
    """(status, output, seconds) of one block; sandbox failures become an error the model sees."""
    if code is None:
        return "no_code", NO_CODE_OUTPUT, 0.0
    t0 = time.perf_counter()
    kwargs = {"session": session} if timeout_s is None else {"session": session, "timeout_s": timeout_s}
    try:
        r = await sandbox.arun(code, **kwargs)
    except Exception as e:  # a dead pool must not kill a training step; it is counted and logged
        log.warning("sandbox call failed (%s: %s); the rollout sees an error", type(e).__name__, e)
        return "sandbox_failure", SANDBOX_FAILURE_OUTPUT, time.perf_counter() - t0
    return str(r.status), str(r.output), float(getattr(r, "duration_s", time.perf_counter() - t0))


async def _close_session(sandbox: Any, session: str) -> None:
    close = getattr(sandbox, "aclose_session", None)
    if close is None:
        return
    try:
        await close(session)
    except Exception as e:  # closing is hygiene; an expired session is fine
        log.debug("closing sandbox session %s failed: %s", session, e)


async def arun_rollouts(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    prompt_ids: Sequence[Sequence[int]],
    config: RolloutConfig,
    *,
    all_done: Any = None,
    starts: Sequence[RolloutStart] | None = None,
    seeds: Sequence[int] | None = None,
    on_done: Callable[[int, RolloutResult], None] | None = None,
) -> RolloutBatch:
    """Run one rollout per prompt (duplicate prompts for several samples) to the end; see the module docstring.

    ``all_done(local_done: bool) -> bool`` lets backends that need every process in step (vLLM tensor-parallel
    colocate) keep calling ``generate`` (with no requests) until all processes are done; default: local.
    ``starts``: one `RolloutStart` per prompt when the prompts already hold part of a trace (MCTS nodes).
    ``seeds``: one per prompt; each turn's request carries a seed derived from it (`GenerationRequest.seed`).
    ``on_done(index, result)`` is called as soon as a rollout ends (evaluation saves each sample as it finishes).
    """
    if starts is not None and len(starts) != len(prompt_ids):
        raise ValueError(f"{len(starts)} starts for {len(prompt_ids)} prompts")
    if seeds is not None and len(seeds) != len(prompt_ids):
        raise ValueError(f"{len(seeds)} seeds for {len(prompt_ids)} prompts")
    tag = uuid.uuid4().hex[:12]
    begin = list(starts) if starts is not None else [RolloutStart()] * len(prompt_ids)
    rollouts = [
        _Rollout(
            p,
            f"{config.session_prefix}-{tag}-{i}",
            i,
            config.max_completion_tokens - st.completion_tokens,
            st,
            None if seeds is None else int(seeds[i]),
        )
        for i, (p, st) in enumerate(zip(prompt_ids, begin, strict=True))
    ]
    for r in rollouts:
        if r.budget <= 0:  # the prefix already spent the whole budget
            r.done, r.result.end = True, "length"
            if on_done is not None:
                on_done(r.index, r.result)
    stop = (tuple(config.stop) if config.use_tools else ()) + tuple(config.step_stops)
    batch = RolloutBatch([r.result for r in rollouts])
    await _replay_prefixes(sandbox, [r for r in rollouts if r.start.replay and not r.done], config, batch)
    while True:
        live = [r for r in rollouts if not r.done]
        if (not live) if all_done is None else all_done(not live):
            break
        requests = [
            GenerationRequest(r.context(), r.budget - len(r.result.completion_ids), stop, r.turn_seed())
            for r in live
        ]
        t0 = time.perf_counter()
        outs = backend.generate(requests)  # may be empty here while other processes are still live
        batch.generation_s += time.perf_counter() - t0
        batch.turns += 1
        if len(outs) != len(live):
            raise RuntimeError(f"backend returned {len(outs)} continuations for {len(live)} requests")
        calls: list[tuple[_Rollout, str | None]] = []
        for r, out in zip(live, outs, strict=True):
            r.turns += 1
            r.append("model", out.token_ids, out.text, out.logprobs)
            r.step_text += out.text
            if out.finish_reason == "eos":
                r.done, r.result.end = True, "eos"
            elif out.finish_reason == "length" or len(r.result.completion_ids) >= r.budget:
                r.done, r.result.end = True, "length"
            elif config.use_tools and any(s in out.text for s in config.stop):
                if r.calls_made >= config.max_tool_calls:
                    r.done, r.result.end = True, "max_tool_calls"
                else:
                    calls.append((r, extract_turn_code(r.step_text)))  # a block may span turns
            elif not config.step_stops:  # text-only: one turn
                r.done, r.result.end = True, "stop"
            elif _step_is_complete(r.step_text):
                r.end_step(config.max_steps)
            # else: a blank line inside an open block, or before any text: the step goes on
        if calls:
            t0 = time.perf_counter()
            executed = await asyncio.gather(
                *(_execute(sandbox, code, r.session, config.code_timeout_s) for r, code in calls)
            )
            batch.sandbox_s += time.perf_counter() - t0
            for (r, code), (status, output, seconds) in zip(calls, executed, strict=True):
                r.used_session = r.used_session or code is not None
                _append_interpreter(r, tokenizer, code, status, output, seconds)
                if not r.done:
                    r.end_step(config.max_steps)
        if on_done is not None:  # `live` held every rollout not done before this turn: each is reported once
            for r in live:
                if r.done:
                    on_done(r.index, r.result)
    closing = [_close_session(sandbox, r.session) for r in rollouts if r.used_session]
    if closing:
        await asyncio.gather(*closing)
    return batch


def _step_is_complete(step_text: str) -> bool:
    """A step stop ends the step only after some text and outside an open ``<code>``/``<answer>`` block."""
    if not step_text.strip():
        return False
    segments = parse_trace(step_text).segments
    return not (segments and segments[-1].kind != "text" and not segments[-1].closed)


async def _replay_prefixes(
    sandbox: Any, rollouts: list[_Rollout], config: RolloutConfig, batch: RolloutBatch
) -> None:
    """Re-run each prefix's code blocks in the rollout's own session (blocks of one rollout in order, rollouts
    concurrently), so a rollout continuing a prefix sees the variables that prefix defined."""
    if not rollouts:
        return

    async def replay(r: _Rollout) -> None:
        r.used_session = True
        for code in r.start.replay:
            status, output, seconds = await _execute(sandbox, code, r.session, config.code_timeout_s)
            r.result.replay.append(ToolCallRecord(code, status, output, seconds, 0, 0))

    t0 = time.perf_counter()
    await asyncio.gather(*(replay(r) for r in rollouts))
    batch.sandbox_s += time.perf_counter() - t0
    batch.replay_calls += sum(len(r.start.replay) for r in rollouts)


def _append_interpreter(
    r: _Rollout, tokenizer: Tokenizer, code: str | None, status: str, output: str, seconds: float
) -> None:
    """Append the interpreter block (env_mask 0), clipped to the budget; a clipped block ends the rollout."""
    text = format_interpreter_block(output)
    ids = list(tokenizer.encode(text, add_special_tokens=False))
    room = r.budget - len(r.result.completion_ids)
    position = len(r.result.completion_ids)
    if len(ids) >= room:  # no room left to generate after it: the rollout is out of budget
        ids = ids[:room]
        text = tokenizer.decode(ids, skip_special_tokens=False)
        r.done, r.result.end = True, "length"
    r.append("interpreter", ids, text, [0.0] * len(ids))
    r.result.tool_calls.append(ToolCallRecord(code or "", status, output, seconds, position, len(ids)))


def run_rollouts(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    prompt_ids: Sequence[Sequence[int]],
    config: RolloutConfig,
    **kwargs: Any,
) -> RolloutBatch:
    """Synchronous `arun_rollouts` (also callable from inside a running event loop, e.g. a notebook)."""
    coro = arun_rollouts(backend, sandbox, tokenizer, prompt_ids, config, **kwargs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
