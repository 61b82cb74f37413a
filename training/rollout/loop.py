"""The multi-turn code-interpreter rollout: one implementation shared by GRPO, evaluation and iTool's search.

For every prompt the loop asks a generation backend to continue the context until ``</code>``, EOS or the
token budget; when a turn ends at ``</code>`` the code of that block runs in the sandbox (one session per rollout,
so variables carry across blocks like a notebook), the interpreter text
``retool_data.trace.format_interpreter_block(output)`` is tokenized and appended with ``env_mask`` 0, and the
loop continues from ``prompt ids + completion ids so far``. Earlier turns are never decoded and re-tokenized
(trl#5224): the ids the policy sampled are the ids that are trained.

A backend only continues contexts; the tool loop, the masks, the budget and the bookkeeping live here once.
Two schedules, the same per-turn rule (`_take_turn`, `_finish_call`):

* **per sample** (backends with ``agenerate_one``: the vLLM server and OpenAI-compatible backends): every rollout
  runs its own generate -> execute -> continue loop as an asyncio task, as verl's async agent loop does, so a slow
  sample (a long generation, a slow code block) delays no other sample's turns; the server batches what is in
  flight (continuous batching).
* **lockstep** (`GenerationBackend.generate` only: transformers ``generate``, the colocated vLLM engine, whose
  tensor-parallel ranks must call it together): one batched call per turn with every live rollout; the turn's
  sandbox calls run concurrently (``Sandbox.arun``).

The stop rule (where a turn ends, how a stop inside a BPE token is cut) is `training.rollout.generation.finish_continuation`,
applied by every backend. See docs/training.md (GRPO) for the table of end cases.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from retool_data.aio import run_sync
from retool_data.trace import format_interpreter_block, parse_trace
from training.rollout.generation import (
    CODE_STOP,
    Continuation,
    FinishReason,
    GenerationBackend,
    GenerationRequest,
    SamplingSettings,
    Tokenizer,
    finish_continuation,
)
from training.rollout.guidance import forced_continuation
from training.rollout.records import (
    NO_CODE_OUTPUT,
    PARAGRAPH_STOP,
    SANDBOX_FAILURE_OUTPUT,
    RolloutBatch,
    RolloutConfig,
    RolloutResult,
    RolloutSpan,
    RolloutStart,
    ToolCallRecord,
)

__all__ = [
    "CODE_STOP",
    "Continuation",
    "FinishReason",
    "GenerationBackend",
    "GenerationRequest",
    "NO_CODE_OUTPUT",
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
        self.forced: list[list[int]] = []  # turns still to teacher-force (`training.rollout.guidance`)

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
    forced: Sequence[list[list[int]] | None] | None = None,
) -> RolloutBatch:
    """Run one rollout per prompt (duplicate prompts for several samples) to the end; see the module docstring.

    ``all_done(local_done: bool) -> bool`` lets backends that need every process in step (vLLM tensor-parallel
    colocate) keep calling ``generate`` (with no requests) until all processes are done; default: local.
    ``starts``: one `RolloutStart` per prompt when the prompts already hold part of a trace (MCTS nodes).
    ``seeds``: one per prompt; each turn's request carries a seed derived from it (`GenerationRequest.seed`).
    ``on_done(index, result)`` is called as soon as a rollout ends (evaluation saves each sample as it finishes).
    A backend with ``agenerate_one`` (`training.rollout.generation.PerSampleBackend`) runs every rollout on its own
    schedule unless ``all_done`` asks for lockstep; any other backend runs in lockstep.
    ``forced``: per prompt, None or the token ids of model turns to teacher-force instead of generating
    (`training.rollout.guidance.guide_turn_ids`); their code still runs in the sandbox.
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
    for r, turns in zip(rollouts, forced or [None] * len(rollouts), strict=True):
        r.forced = [list(t) for t in turns or []]
        if r.budget <= 0:  # the prefix already spent the whole budget
            r.done, r.result.end = True, "length"
            if on_done is not None:
                on_done(r.index, r.result)
    stop = (tuple(config.stop) if config.use_tools else ()) + tuple(config.step_stops)
    batch = RolloutBatch([r.result for r in rollouts])
    await _replay_prefixes(sandbox, [r for r in rollouts if r.start.replay and not r.done], config, batch)
    if all_done is None and callable(getattr(backend, "agenerate_one", None)):
        await _run_per_sample(backend, sandbox, tokenizer, rollouts, config, stop, batch, on_done)
    else:
        await _run_lockstep(backend, sandbox, tokenizer, rollouts, config, stop, batch, all_done, on_done)
    closing = [_close_session(sandbox, r.session) for r in rollouts if r.used_session]
    if closing:
        await asyncio.gather(*closing)
    return batch


def _request(r: _Rollout, stop: tuple[str, ...]) -> GenerationRequest:
    return GenerationRequest(r.context(), r.budget - len(r.result.completion_ids), stop, r.turn_seed())


def _forced_turn(r: _Rollout, tokenizer: Tokenizer, request: GenerationRequest) -> Continuation | None:
    """The rollout's next teacher-forced turn, or None when it generates this turn."""
    if not r.forced:
        return None
    turn = r.forced.pop(0)
    return forced_continuation(turn, not r.forced, tokenizer, request)


def _take_turn(r: _Rollout, out: Continuation, config: RolloutConfig) -> tuple[bool, str | None]:
    """Append one generated turn and decide how the rollout goes on: ``(True, code)`` when the turn ended at
    ``</code>`` and the block is to run (code None: nothing to run), ``(False, None)`` otherwise."""
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
            return True, extract_turn_code(r.step_text)  # a block may span turns
    elif not config.step_stops:  # text-only: one turn
        r.done, r.result.end = True, "stop"
    elif _step_is_complete(r.step_text):
        r.end_step(config.max_steps)
    # else: a blank line inside an open block, or before any text: the step goes on
    return False, None


def _finish_call(
    r: _Rollout,
    tokenizer: Tokenizer,
    code: str | None,
    executed: tuple[str, str, float],
    config: RolloutConfig,
) -> None:
    status, output, seconds = executed
    r.used_session = r.used_session or code is not None
    _append_interpreter(r, tokenizer, code, status, output, seconds)
    if not r.done:
        r.end_step(config.max_steps)


async def _run_per_sample(
    backend: Any,
    sandbox: Any,
    tokenizer: Tokenizer,
    rollouts: list[_Rollout],
    config: RolloutConfig,
    stop: tuple[str, ...],
    batch: RolloutBatch,
    on_done: Callable[[int, RolloutResult], None] | None,
) -> None:
    """Each rollout's own generate -> execute -> continue loop, all rollouts concurrently (see the module doc)."""
    waits = {"generation": 0.0, "sandbox": 0.0}  # rollout-seconds spent awaiting each

    async def drive(r: _Rollout) -> None:
        while not r.done:
            t0 = time.perf_counter()
            request = _request(r, stop)
            out = _forced_turn(r, tokenizer, request) or await backend.agenerate_one(request)
            waits["generation"] += time.perf_counter() - t0
            call, code = _take_turn(r, out, config)
            if call:
                t0 = time.perf_counter()
                executed = await _execute(sandbox, code, r.session, config.code_timeout_s)
                waits["sandbox"] += time.perf_counter() - t0
                _finish_call(r, tokenizer, code, executed, config)
        if on_done is not None:
            on_done(r.index, r.result)

    t0 = time.perf_counter()
    async with asyncio.TaskGroup() as group:  # one failed rollout (a dead server) cancels the others
        for r in rollouts:
            if not r.done:
                group.create_task(drive(r))
    wall = time.perf_counter() - t0
    # Generation and sandbox waits overlap across rollouts: split the wall time in proportion to them, so
    # generation_s + sandbox_s stays the wall time of the rollout phase, as in the lockstep schedule.
    spent = waits["generation"] + waits["sandbox"]
    batch.generation_s += wall * waits["generation"] / spent if spent else wall
    batch.sandbox_s += wall * waits["sandbox"] / spent if spent else 0.0
    batch.turns = max((r.turns for r in rollouts), default=0)


async def _run_lockstep(
    backend: GenerationBackend,
    sandbox: Any,
    tokenizer: Tokenizer,
    rollouts: list[_Rollout],
    config: RolloutConfig,
    stop: tuple[str, ...],
    batch: RolloutBatch,
    all_done: Any,
    on_done: Callable[[int, RolloutResult], None] | None,
) -> None:
    """One batched ``generate`` per turn with every live rollout; the turn's sandbox calls run concurrently."""
    while True:
        live = [r for r in rollouts if not r.done]
        if (not live) if all_done is None else all_done(not live):
            break
        requests = [_request(r, stop) for r in live]
        forced = [_forced_turn(r, tokenizer, q) for r, q in zip(live, requests, strict=True)]
        asked = [q for q, f in zip(requests, forced, strict=True) if f is None]
        t0 = time.perf_counter()
        sampled = backend.generate(asked)  # may be empty while other ranks are live
        batch.generation_s += time.perf_counter() - t0
        batch.turns += 1
        if len(sampled) != len(asked):
            raise RuntimeError(f"backend returned {len(sampled)} continuations for {len(asked)} requests")
        it = iter(sampled)
        outs = [f if f is not None else next(it) for f in forced]
        calls: list[tuple[_Rollout, str | None]] = []
        for r, out in zip(live, outs, strict=True):
            call, code = _take_turn(r, out, config)
            if call:
                calls.append((r, code))
        if calls:
            t0 = time.perf_counter()
            executed = await asyncio.gather(
                *(_execute(sandbox, code, r.session, config.code_timeout_s) for r, code in calls)
            )
            batch.sandbox_s += time.perf_counter() - t0
            for (r, code), result in zip(calls, executed, strict=True):
                _finish_call(r, tokenizer, code, result, config)
        if on_done is not None:  # `live` held every rollout not done before this turn: each is reported once
            for r in live:
                if r.done:
                    on_done(r.index, r.result)


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
    return run_sync(arun_rollouts(backend, sandbox, tokenizer, prompt_ids, config, **kwargs))
