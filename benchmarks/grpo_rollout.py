"""GRPO rollout throughput: rollout tokens/s and the share of a step spent waiting on the sandbox.

    python benchmarks/grpo_rollout.py                       # CUDA: Qwen2.5-1.5B shape, bf16, 64 rollouts
    python benchmarks/grpo_rollout.py --shape small         # CPU stand-in (the default without a GPU)
    python benchmarks/grpo_rollout.py --rollouts 128 --code-turns 3 --turn-tokens 200

It runs the real loop (`training.rollout.loop.run_rollouts` + `TransformersBackend` + the real sandbox) with a random-init
model whose forward is real compute but whose logits are overridden at generation to write a fixed script per
rollout (``--code-turns`` reasoning+code turns of ~``--turn-tokens`` tokens each, then an answer), so every rollout
makes the same tool calls and the figure does not depend on what a random model happens to sample. Each code block
is a typical ReTool snippet (sympy + a loop). Then one policy-gradient update (forward + backward over the padded
prompt+completion batch, interpreter tokens masked) stands in for the trainer's share of the step.

Reported: generated (model) tokens/s of the rollout, all completion tokens/s, seconds in generation / sandbox /
update, and ``sandbox_share`` = sandbox wait / (generation + sandbox + update) - the figure to keep under 5%.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {
    # Qwen2.5-1.5B (config.json of Qwen/Qwen2.5-1.5B-Instruct)
    "qwen2.5-1.5b": dict(
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    ),
    "small": dict(
        hidden_size=256,
        intermediate_size=1024,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=32768,
        tie_word_embeddings=True,
    ),
}
SNIPPET = (
    "import sympy as sp\nn = {n}\nf = sp.factorint(2**64 - {n})\ntotal = sum(k * k for k in range(10000))\n"
    "print(f, total % n)"
)


def forced_script_model(config, turn_ids: list[list[int]], marker: tuple[int, int], eos_id: int):
    """A Qwen2 whose generate() writes ``turn_ids[k]`` in the k-th turn (k = closed interpreter blocks in the
    context, counted by the token pair ``marker`` that starts ``</interpreter>``); the forward is real compute."""
    import torch
    from transformers import Qwen2ForCausalLM

    class ForcedScript(Qwen2ForCausalLM):
        def generate(self, *args, **kwargs):
            self._turn = self._pos = None
            self._forcing = True
            try:
                return super().generate(*args, **kwargs)
            finally:
                self._forcing = False

        def forward(self, input_ids=None, **kwargs):
            out = super().forward(input_ids=input_ids, **kwargs)
            if not getattr(self, "_forcing", False):
                return out
            if self._turn is None:  # prefill: the whole (left-padded) contexts
                pairs = (input_ids[:, :-1] == marker[0]) & (input_ids[:, 1:] == marker[1])
                self._turn = pairs.sum(dim=1).tolist()
                self._pos = [0] * input_ids.shape[0]
            nxt = []
            for row, (turn, pos) in enumerate(zip(self._turn, self._pos, strict=True)):
                script = turn_ids[min(turn, len(turn_ids) - 1)]
                nxt.append(script[pos] if pos < len(script) else eos_id)
                self._pos[row] = pos + 1
            logits = out.logits[:, -1, :]
            forced = torch.full_like(logits, -1e4)
            forced[torch.arange(len(nxt)), torch.tensor(nxt, device=logits.device)] = 0.0
            out.logits[:, -1, :] = forced + 0.0 * logits  # keep the real compute in the graph's data path
            return out

    return ForcedScript(config)


def build_script(tokenizer, code_turns: int, turn_tokens: int) -> list[list[int]]:
    from retool_data.trace import format_code_block

    filler_ids = tokenizer.encode(
        " We compute the value step by step and check it.", add_special_tokens=False
    )
    turns = []
    for k in range(code_turns):
        code = format_code_block(SNIPPET.format(n=97 + k))
        code_ids = tokenizer.encode(code, add_special_tokens=False)
        reps = max(0, turn_tokens - len(code_ids)) // len(filler_ids) + 1
        text = tokenizer.decode(filler_ids * reps) + "\n" + code
        turns.append(tokenizer.encode(text, add_special_tokens=False))
    turns.append(
        tokenizer.encode("So the answer is <answer>\\boxed{42}</answer>", add_special_tokens=False)
        + [tokenizer.eos_token_id]
    )
    return turns


def policy_update_seconds(model, results, pad_id: int, micro_batch: int) -> float:
    """One forward+backward over the rollouts (masked token log-likelihood), as the trainer's update would."""
    import torch

    device = next(model.parameters()).device
    model.train()
    start = time.perf_counter()
    for i in range(0, len(results), micro_batch):
        chunk = results[i : i + micro_batch]
        width = max(len(r.prompt_ids) + len(r.completion_ids) for r in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        loss_mask = torch.zeros((len(chunk), width))
        for row, r in enumerate(chunk):
            seq = r.prompt_ids + r.completion_ids
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
            loss_mask[row, len(r.prompt_ids) : len(seq)] = torch.tensor(r.env_mask, dtype=torch.float)
        ids, mask, loss_mask = ids.to(device), mask.to(device), loss_mask.to(device)
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
        logp = torch.log_softmax(logits, -1).gather(2, ids[:, 1:, None]).squeeze(2)
        loss = -(logp * loss_mask[:, 1:]).sum() / loss_mask.sum()
        loss.backward()
    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    import torch
    from transformers import Qwen2Config

    from sandbox import Sandbox
    from training.models.tiny import tiny_chatml_tokenizer
    from training.rollout.backends.hf import TransformersBackend
    from training.rollout.loop import RolloutConfig, run_rollouts

    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b" if cuda else "small")
    ap.add_argument("--rollouts", type=int, default=64 if cuda else 8)
    ap.add_argument("--code-turns", type=int, default=2)
    ap.add_argument("--turn-tokens", type=int, default=160, help="tokens of reasoning + code per code turn")
    ap.add_argument("--sandbox-workers", type=int, default=None, help="default: the usable CPUs")
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats after one warm-up round")
    args = ap.parse_args()

    tok = tiny_chatml_tokenizer()
    marker = tuple(tok.encode("</interpreter>", add_special_tokens=False)[:2])
    script = build_script(tok, args.code_turns, args.turn_tokens)
    config = Qwen2Config(**SHAPES[args.shape], max_position_embeddings=32768)
    torch.manual_seed(0)
    model = forced_script_model(config, script, marker, tok.eos_token_id)
    device = torch.device("cuda" if cuda else "cpu")
    model.to(device=device, dtype=torch.bfloat16 if cuda else torch.float32)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Solve the problem with code."}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
    )["input_ids"]
    budget = sum(len(t) for t in script) + 200 * args.code_turns + 64
    backend = TransformersBackend(model, tok)
    rollout_config = RolloutConfig(max_completion_tokens=budget, max_tool_calls=args.code_turns)
    rows = []
    with Sandbox(workers=args.sandbox_workers, max_sessions=max(64, 2 * args.rollouts)) as sb:
        for repeat in range(args.repeats + 1):
            model.eval()
            batch = run_rollouts(backend, sb, tok, [prompt] * args.rollouts, rollout_config)
            calls = [c for r in batch.results for c in r.tool_calls]
            assert len(calls) == args.rollouts * args.code_turns and all(c.ok for c in calls), calls[:2]
            update_s = policy_update_seconds(model, batch.results, tok.pad_token_id, args.micro_batch)
            if repeat == 0:
                continue  # warm-up: allocator, kernels, sandbox spares
            model_tokens = sum(r.model_tokens for r in batch.results)
            all_tokens = sum(len(r.completion_ids) for r in batch.results)
            step_s = batch.generation_s + batch.sandbox_s + update_s
            rows.append(
                {
                    "generated_tokens_per_s": model_tokens / batch.generation_s,
                    "completion_tokens_per_s": all_tokens / (batch.generation_s + batch.sandbox_s),
                    "generation_s": batch.generation_s,
                    "sandbox_s": batch.sandbox_s,
                    "update_s": update_s,
                    "sandbox_share": batch.sandbox_s / step_s,
                    "sandbox_share_of_rollout": batch.sandbox_s / (batch.generation_s + batch.sandbox_s),
                    "turns": batch.turns,
                    "mean_call_s": sum(c.duration_s for c in calls) / len(calls),
                }
            )
    best = min(rows, key=lambda r: r["generation_s"] + r["sandbox_s"] + r["update_s"])
    summary = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "shape": args.shape,
        "rollouts": args.rollouts,
        "code_turns": args.code_turns,
        "tool_calls": args.rollouts * args.code_turns,
        "model_tokens_per_rollout": sum(len(t) for t in script),
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in best.items()},
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
