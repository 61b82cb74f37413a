"""The mask reaches the loss: SFTTrainer's loss on a batch equals a hand-computed NLL over exactly the tokens
`tokenize_trace` weights 1 (padded and packed batches), and differs from the loss with interpreter tokens kept."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset

from tests.training.traces import CASES, prompt_messages
from training.models.tiny import tiny_qwen2
from training.sft.train import SFTRunConfig, tokenize_trace


def _rows(tokenizer) -> list[dict]:
    return [tokenize_trace(tokenizer, prompt_messages(f"problem {i}"), c.trace) for i, c in enumerate(CASES)]


def _trainer(tokenizer, rows, tmp_path, **overrides):
    from trl import SFTTrainer

    settings = {
        "output_dir": str(tmp_path),
        "model_name_or_path": "tiny",
        "dataset_name_or_path": "in-memory",
        "bf16": False,
        "use_cpu": True,
        "report_to": "none",
        "max_length": 4096,
        "activation_checkpointing": False,
    }
    args = SFTRunConfig(**{**settings, **overrides})
    # a wide init makes per-token losses differ a lot, so the subset the loss averages over is visible in its value
    model = tiny_qwen2(len(tokenizer), seed=1, initializer_range=0.5)
    return SFTTrainer(
        model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer
    )


def _hand_losses(model, rows) -> dict[str, float]:
    """Mean next-token NLL over (a) tokens with assistant_mask 1, (b) every non-prompt token (interpreter kept)."""
    sums = {"masked": 0.0, "interpreter_kept": 0.0}
    counts = {"masked": 0, "interpreter_kept": 0}
    model.eval()
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row["input_ids"]])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
            nll = -logp.gather(1, ids[0, 1:, None])[:, 0]
            mask = torch.tensor(row["assistant_masks"][1:], dtype=torch.bool)
            after_prompt = torch.zeros_like(mask)
            after_prompt[row["assistant_masks"].index(1) - 1 :] = True
            for key, sel in (("masked", mask), ("interpreter_kept", after_prompt)):
                sums[key] += nll[sel].sum().item()
                counts[key] += int(sel.sum())
    return {k: sums[k] / counts[k] for k in sums}


def test_prepared_labels_are_minus_100_exactly_where_the_mask_is_0(tiny_tokenizer, tmp_path):
    rows = _rows(tiny_tokenizer)
    trainer = _trainer(tiny_tokenizer, rows, tmp_path)
    prepared = trainer.train_dataset
    assert prepared.num_rows == len(rows)
    for row, got in zip(rows, prepared, strict=True):
        assert got["input_ids"] == row["input_ids"]
        assert got["labels"] == [
            t if m else -100 for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True)
        ]


@pytest.mark.parametrize("packing", [False, True], ids=["padded", "packed"])
def test_trainer_loss_equals_hand_computed_masked_loss(tiny_tokenizer, tmp_path, packing):
    rows = _rows(tiny_tokenizer)
    overrides = {"packing": True, "max_length": sum(len(r["input_ids"]) for r in rows)} if packing else {}
    trainer = _trainer(tiny_tokenizer, rows, tmp_path, **overrides)
    examples = [trainer.train_dataset[i] for i in range(trainer.train_dataset.num_rows)]
    assert len(examples) == (1 if packing else len(rows))  # packed: every row in one padding-free sequence
    batch = trainer.data_collator(examples)
    if not packing:
        assert batch["attention_mask"].sum() == sum(len(r["input_ids"]) for r in rows)  # right padding only

    trainer.model.eval()
    with torch.no_grad():
        trainer_loss = trainer.compute_loss(trainer.model, dict(batch)).item()
    hand = _hand_losses(trainer.model, rows)

    assert trainer_loss == pytest.approx(hand["masked"], abs=2e-5)
    # the interpreter tokens really are out of the loss: keeping them would give a clearly different value
    assert abs(hand["interpreter_kept"] - hand["masked"]) > 100 * 2e-5
