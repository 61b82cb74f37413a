"""SFT training throughput (tokens/s) and MFU through the real pipeline: TRL SFTTrainer on pre-tokenized rows with
`assistant_masks`, bfd packing (padding-free), random-init Qwen2.5-1.5B-shaped model.

    python benchmarks/sft_throughput.py                      # CUDA: Qwen2.5-1.5B shape, bf16, 8k packed tokens/step
    python benchmarks/sft_throughput.py --shape small        # CPU stand-in (tokens/s only; no MFU without a peak)
    python benchmarks/sft_throughput.py --seq-len 16384 --activation-checkpointing

MFU = achieved model FLOP/s / peak. Model FLOPs per trained token = 6 * N_matmul (all linear layers incl. the LM
head; the embedding lookup is free) + causal attention 6 * n_layers * hidden * sum(L_doc^2) / sum(L_doc), counted
per packed document since padding-free attention never crosses documents. Peak: dense bf16 989 TFLOP/s for
H100/H200 SXM unless --peak-tflops is given.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {
    # Qwen2.5-1.5B (config.json of Qwen/Qwen2.5-1.5B-Instruct)
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
    # a CPU-sized stand-in with the same layout (GQA, SwiGLU), for a figure on a machine without a GPU
    "small": dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=32768, tie_word_embeddings=True),
}
PEAK_BF16_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}


def synthetic_rows(n: int, seq_len: int, vocab: int, seed: int = 0) -> list[dict]:
    """Pre-tokenized rows shaped like cold-start traces: a masked prompt, trained text, masked interpreter blocks."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        length = rng.randint(seq_len // 8, seq_len)
        ids = [rng.randrange(10, vocab) for _ in range(length)]
        mask = [0] * min(200, length // 4) + [1] * (length - min(200, length // 4))
        for start in range(len(mask) // 3, len(mask) - 64, max(64, len(mask) // 4)):
            mask[start : start + 32] = [0] * 32  # an interpreter block
        rows.append({"input_ids": ids, "assistant_masks": mask})
    return rows


def flops_per_token(cfg, doc_lengths: list[int]) -> float:
    h, L, kv = cfg.hidden_size, cfg.num_hidden_layers, cfg.num_key_value_heads
    head_dim = h // cfg.num_attention_heads
    per_layer = h * h + 2 * h * kv * head_dim + h * h + 3 * h * cfg.intermediate_size  # q, k+v, o, gate/up/down
    n_matmul = L * per_layer + h * cfg.vocab_size
    attention = 6 * L * h * sum(x * x for x in doc_lengths) / sum(doc_lengths)
    return 6 * n_matmul + attention


def main() -> None:
    import torch
    from datasets import Dataset
    from transformers import Qwen2Config, Qwen2ForCausalLM, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from training.models.tiny import tiny_chatml_tokenizer

    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b" if cuda else "small")
    ap.add_argument("--seq-len", type=int, default=8192 if cuda else 1024, help="packed sequence length")
    ap.add_argument("--batch", type=int, default=1, help="packed sequences per step")
    ap.add_argument("--steps", type=int, default=20 if cuda else 6)
    ap.add_argument("--warmup", type=int, default=5 if cuda else 2, help="steps not timed")
    ap.add_argument("--activation-checkpointing", action="store_true")
    ap.add_argument("--attn", default=None, help="attn_implementation (default: flash_attention_2 if installed)")
    ap.add_argument("--peak-tflops", type=float, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    attn = args.attn or ("flash_attention_2" if cuda and _has_flash_attn() else "sdpa")
    cfg = Qwen2Config(**SHAPES[args.shape], max_position_embeddings=max(32768, args.seq_len), attn_implementation=attn)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(cfg).to(torch.bfloat16 if cuda else torch.float32)
    tokenizer = tiny_chatml_tokenizer()  # only its pad id is used: the rows are already token ids
    n_rows = 4 * args.batch * (args.steps + args.warmup)
    rows = synthetic_rows(n_rows, args.seq_len, cfg.vocab_size)

    step_times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if cuda:
                torch.cuda.synchronize()
            step_times.append((time.perf_counter() - self.t0, state.num_input_tokens_seen))

    with tempfile.TemporaryDirectory() as out:
        sft_args = SFTConfig(
            output_dir=out, max_steps=args.steps + args.warmup, per_device_train_batch_size=args.batch,
            packing=True, packing_strategy="bfd", max_length=args.seq_len, bf16=cuda, use_cpu=not cuda,
            activation_checkpointing=args.activation_checkpointing, learning_rate=1e-5, logging_steps=10_000,
            save_strategy="no", report_to="none", include_num_input_tokens_seen="all", disable_tqdm=True,
            optim="adamw_torch_fused" if cuda else "adamw_torch", dataloader_pin_memory=cuda,
        )
        trainer = SFTTrainer(model=model, args=sft_args, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, callbacks=[Timer()])
        docs = [n for lengths in trainer.train_dataset["seq_lengths"] for n in lengths]
        trainer.train()

    timed = step_times[args.warmup :]
    seconds = sum(t for t, _ in timed)
    tokens = timed[-1][1] - step_times[args.warmup - 1][1] if args.warmup else timed[-1][1]
    tok_s = tokens / seconds
    achieved = tok_s * flops_per_token(cfg, docs)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None)
    report = {
        "device": device, "shape": args.shape, "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "attn": attn, "seq_len": args.seq_len, "batch": args.batch, "activation_checkpointing":
        args.activation_checkpointing, "timed_steps": len(timed), "tokens_per_s": round(tok_s, 1),
        "model_tflops_per_s": round(achieved / 1e12, 3), "mfu": round(achieved / (peak * 1e12), 4) if peak else None,
        "peak_tflops": peak, "mean_doc_len": round(sum(docs) / len(docs)),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def _has_flash_attn() -> bool:
    import importlib.util

    return importlib.util.find_spec("flash_attn") is not None


if __name__ == "__main__":
    main()
