"""Preference pairs with the interpreter masked: the weighted tokens, and the DPO / SimPO losses TRL computes."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from retool_data.trace import format_interpreter_block
from tests.training.itool_script import code, interpreter
from training.itool.preference.data import prepare_preference_dataset, tokenize_pair
from training.itool.preference.train import PreferenceSettings, build_trainer
from training.models.tiny import tiny_qwen2

pytestmark = pytest.mark.timeout(300)

NONCE = "INTERP_OUT_7f3a9c"  # printed only by the interpreter: must never carry preference-loss weight
PROMPT = [{"role": "system", "content": "S"}, {"role": "user", "content": "What is 12 * 7 + 1?"}]
PREFIX = "Let x be the product.\n" + code("x = 12 * 7\nprint(x)") + interpreter(f"84 {NONCE}")


def fragment_pair(output_right=f"85 {NONCE}", output_wrong=f"83 {NONCE}"):
    return {
        "pair_id": "frag",
        "prompt": PROMPT,
        "prefix": PREFIX,
        "chosen": "Add one.\n" + code("print(x + 1)") + interpreter(output_right),
        "rejected": "Subtract one.\n" + code("print(x - 1)") + interpreter(output_wrong),
        "chosen_ends_turn": False,
        "rejected_ends_turn": False,
    }


def trace_pair(output=f"85 {NONCE}"):
    """Whole traces: the interpreter block sits between model spans, and the turn ends."""
    right = (
        PREFIX + "Add one.\n" + code("print(x + 1)") + interpreter(output) + "<answer>\\boxed{85}</answer>"
    )
    wrong = PREFIX + "So it is <answer>\\boxed{84}</answer>"
    return {"pair_id": "trace", "prompt": PROMPT, "prefix": "", "chosen": right, "rejected": wrong,
            "chosen_ends_turn": True, "rejected_ends_turn": True}  # fmt: skip


def weighted_text(tok, ids, mask, weight):
    return tok.decode([t for t, m in zip(ids, mask, strict=True) if m == weight], skip_special_tokens=False)


@pytest.mark.parametrize("make", [fragment_pair, trace_pair])
def test_tokens_with_preference_weight_hold_no_interpreter_output(any_tokenizer, make):
    tok, pair = any_tokenizer, make()
    row = tokenize_pair(tok, pair)
    eot = "<|im_end|>"
    for side in ("chosen", "rejected"):
        ids, mask = row[f"{side}_ids"], row[f"{side}_mask"]
        trained = weighted_text(tok, ids, mask, 1)
        assert NONCE not in trained and "<interpreter>" not in trained
        # what has weight 1 is exactly what the model wrote (and the end of turn when the turn ends)
        model_text = pair[side]
        for block in (interpreter(f"84 {NONCE}"), interpreter(f"85 {NONCE}"), interpreter(f"83 {NONCE}")):
            model_text = model_text.replace(block, "")
        assert trained == model_text + (eot if pair[f"{side}_ends_turn"] else "")
        # what has weight 0 is exactly the interpreter blocks
        blocks = [format_interpreter_block(o) for o in (f"84 {NONCE}\n", f"85 {NONCE}\n", f"83 {NONCE}\n")]
        assert weighted_text(tok, ids, mask, 0) == "".join(b for b in blocks if b in pair[side])
    # the shared prefix is prompt: context only, identical for both sides
    prompt_text = tok.decode(row["prompt_ids"], skip_special_tokens=False)
    assert prompt_text.endswith("<|im_start|>assistant\n" + pair["prefix"])


def test_pairs_that_cannot_be_exact_are_dropped_with_a_reason(tiny_tokenizer):
    bad = fragment_pair()
    bad["chosen"] = "I write <|im_end|> as text"
    long = fragment_pair()
    pairs = [fragment_pair(), bad, long]
    ds, stats = prepare_preference_dataset(pairs, tiny_tokenizer, max_length=None)
    assert (stats.pairs_in, stats.pairs_kept, stats.dropped) == (3, 2, {"special_token_in_trace": 1})
    ds, stats = prepare_preference_dataset(pairs[:1], tiny_tokenizer, max_length=20)
    assert stats.dropped == {"overlong": 1} and ds.num_rows == 0


# ----------------------------------------------------------------------------------------- the losses


def settings(loss, **kw):
    args = {"use_cpu": True, "bf16": False, "disable_dropout": True, "dataloader_pin_memory": False}
    return PreferenceSettings(loss=loss, beta=0.5, simpo_gamma=0.3, use_peft=False, max_length=None,
                              trainer_args=args, **kw)  # fmt: skip


def unmask(ds):
    """Every completion token weighted, as TRL would do (the control)."""
    return ds.map(lambda r: {f"{s}_mask": [1] * len(r[f"{s}_mask"]) for s in ("chosen", "rejected")})


def trainer_loss(tok, loss, pairs, tmp_path, policy, ref, weight_interpreter=False):
    ds, stats = prepare_preference_dataset(pairs, tok)
    assert stats.pairs_kept == len(pairs)
    ds = unmask(ds) if weight_interpreter else ds
    trainer = build_trainer(settings(loss), policy, tok, ds, str(tmp_path), ref_model=ref)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(pairs))])
    batch = {k: v.to(policy.device) if torch.is_tensor(v) else v for k, v in batch.items()}
    with torch.no_grad():
        return trainer, ds, float(trainer.compute_loss(trainer.model, batch))


def masked_logps(model, ds, average):
    """Hand computation: sum (or mean) of log p(token) over the weight-1 tokens of each side."""
    out = {}
    for side in ("chosen", "rejected"):
        values = []
        for row in ds:
            ids = torch.tensor([row["prompt_ids"] + row[f"{side}_ids"]])
            weights = torch.tensor([0] * len(row["prompt_ids"]) + row[f"{side}_mask"])
            with torch.no_grad():
                logp = F.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            token_logp = logp.gather(1, ids[0, 1:, None])[:, 0] * weights[1:]
            values.append(token_logp.sum() / (weights[1:].sum() if average else 1))
        out[side] = torch.stack(values)
    return out


@pytest.fixture
def models(tiny_tokenizer):
    policy = tiny_qwen2(len(tiny_tokenizer), seed=1)
    ref = tiny_qwen2(len(tiny_tokenizer), seed=2)
    for m in (policy, ref):
        m.config.pad_token_id = tiny_tokenizer.pad_token_id
        m.eval()
    return policy, ref


@pytest.mark.parametrize("loss", ["dpo", "simpo"])
def test_trainer_loss_equals_the_hand_computed_masked_loss(tiny_tokenizer, models, tmp_path, loss):
    policy, ref = models
    pairs = [fragment_pair(), trace_pair()]
    trainer, ds, value = trainer_loss(tiny_tokenizer, loss, pairs, tmp_path, policy, copy.deepcopy(ref))
    if loss == "dpo":
        pi, rf = masked_logps(policy, ds, average=False), masked_logps(ref, ds, average=False)
        margin = (pi["chosen"] - rf["chosen"]) - (pi["rejected"] - rf["rejected"])
        expected = -F.logsigmoid(0.5 * margin).mean()
    else:
        pi = masked_logps(policy, ds, average=True)
        expected = -F.logsigmoid(0.5 * (pi["chosen"] - pi["rejected"]) - 0.3).mean()
    assert value == pytest.approx(float(expected), abs=2e-5)
    # and it is not the unmasked loss: weighting the interpreter tokens too changes it by far more than that
    _, _, unmasked = trainer_loss(tiny_tokenizer, loss, pairs, tmp_path, policy, copy.deepcopy(ref), True)
    assert abs(unmasked - value) > 1e-3


@pytest.mark.parametrize("loss", ["dpo", "simpo"])
def test_changing_interpreter_output_does_not_change_the_loss(tiny_tokenizer, models, tmp_path, loss):
    """In a fragment pair the interpreter block ends the step: with weight 0 its content cannot matter."""
    policy, ref = models
    _, _, a = trainer_loss(tiny_tokenizer, loss, [fragment_pair()], tmp_path, policy, copy.deepcopy(ref))
    other = fragment_pair("a much longer and different output\nover two lines", "-1")
    _, ds, b = trainer_loss(tiny_tokenizer, loss, [other], tmp_path, policy, copy.deepcopy(ref))
    assert a == b
    # control: with the interpreter tokens weighted (TRL's default), the same change does move the loss
    _, _, c = trainer_loss(
        tiny_tokenizer, loss, [fragment_pair()], tmp_path, policy, copy.deepcopy(ref), True
    )
    _, _, d = trainer_loss(tiny_tokenizer, loss, [other], tmp_path, policy, copy.deepcopy(ref), True)
    assert abs(c - d) > 1e-3
