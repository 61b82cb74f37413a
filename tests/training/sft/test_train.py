"""End-to-end `run_sft` on a tiny random-init Qwen2: overfitting, the mask in effect after training, LoRA
save/reload, exact resume, and the saved artifacts (model, tokenizer, run config, dataset fingerprint, plot)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from datasets import Dataset

from tests.training.traces import CASES, chat_row
from training.sft.data import dataset_fingerprint, load_sft_dataset, row_chat
from training.sft.train import SFTRunConfig, parse_config, run_sft, tokenize_trace

SYSTEM = "Solve with code."  # short prompts keep the tiny runs fast


@pytest.fixture(scope="module")
def traces_dir(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sft_data") / "cold_start"
    Dataset.from_list(
        [chat_row(c.trace, f"problem {i}", SYSTEM) for i, c in enumerate(CASES[:4])]
    ).save_to_disk(path)
    return str(path)


def _config(tmp_path, checkpoint, data, **overrides) -> SFTRunConfig:
    settings = {
        "output_dir": str(tmp_path / "out"),
        "model_name_or_path": checkpoint,
        "dataset_name_or_path": data,
        "bf16": False,
        "use_cpu": True,
        "report_to": "none",
        "save_strategy": "no",
        "activation_checkpointing": False,
        "disable_tqdm": True,
        "logging_steps": 1,
        "lr_scheduler_type": "constant",
        "learning_rate": 1e-2,
        "per_device_train_batch_size": 4,
        "max_length": 1024,
        "seed": 0,
    }
    return SFTRunConfig(**{**settings, **overrides})


def _nll_by_weight(model, tokenizer, data) -> tuple[float, float]:
    """Mean next-token NLL over trained tokens and over interpreter tokens (mask 0 after the prompt)."""
    trained, interp = [], []
    with torch.no_grad():
        for row in load_sft_dataset(data):
            enc = tokenize_trace(tokenizer, *row_chat(row))
            ids = torch.tensor([enc["input_ids"]])
            nll = -torch.log_softmax(model(input_ids=ids).logits[0, :-1], -1).gather(1, ids[0, 1:, None])[
                :, 0
            ]
            mask = enc["assistant_masks"]
            start = mask.index(1)
            for pos in range(start, len(mask)):
                (trained if mask[pos] else interp).append(nll[pos - 1].item())
    return sum(trained) / len(trained), sum(interp) / len(interp)


def test_tiny_model_overfits_and_learns_only_the_model_tokens(tmp_path, tiny_checkpoint, traces_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = _config(tmp_path, tiny_checkpoint, traces_dir, max_steps=50)
    result = run_sft(config)
    assert result.global_step == 50 and len(result.loss_history) == 50
    assert result.final_loss < result.first_loss / 5  # stated factor: 5x (observed ~10x)

    out = tmp_path / "out"
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    trained_nll, interpreter_nll = _nll_by_weight(model, tokenizer, traces_dir)
    assert trained_nll < result.first_loss / 5
    assert interpreter_nll > 2 * trained_nll  # never a target, so never learned

    # artifacts: run config (re-parsable), dataset fingerprint, result, loss plot
    again = parse_config(["--config", str(out / "run_config.yaml")])
    assert again.to_recipe_dict() == config.to_recipe_dict()
    fingerprint = json.loads((out / "dataset_fingerprint.json").read_text())
    assert (
        fingerprint["content_sha256"]
        == dataset_fingerprint(load_sft_dataset(traces_dir), "x")["content_sha256"]
    )
    assert fingerprint["tokenization"]["rows_kept"] == 4 and fingerprint["max_length"] == 1024
    saved = json.loads((out / "sft_result.json").read_text())
    assert saved["global_step"] == 50 and saved["loss_curve_png"] == str(out / "loss_curve.png")
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0 < result.masked_token_share < 1 and result.loss_tokens == result.data_stats["loss_tokens"]
    assert result.tokens_seen == 50 * result.data_stats["total_tokens"]  # one batch = the whole dataset


def test_lora_with_checkpointing_saves_reloads_and_gives_the_same_logits(tmp_path, tiny_checkpoint, traces_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    captured = {}

    class Capture(TrainerCallback):
        def on_train_end(self, args, state, control, model=None, **kwargs):
            captured["model"] = model

    config = _config(
        tmp_path,
        tiny_checkpoint,
        traces_dir,
        max_steps=5,
        use_peft=True,
        lora_r=4,
        lora_alpha=8,
        lora_dropout=0.0,
        loss_plot=False,
        activation_checkpointing=True,  # LoRA + checkpointing needs input grads enabled (TRL does it)
    )
    run_sft(config, callbacks=[Capture()])
    assert captured["model"].get_base_model().is_activation_checkpointing
    out = tmp_path / "out"
    assert (out / "adapter_model.safetensors").exists() and not (out / "model.safetensors").exists()

    assert yaml.safe_load((out / "run_config.yaml").read_text())["use_peft"] is True
    assert not (out / "loss_curve.png").exists()  # loss_plot: false

    tokenizer = AutoTokenizer.from_pretrained(out)
    ids = torch.tensor([tokenize_trace(tokenizer, *row_chat(load_sft_dataset(traces_dir)[0]))["input_ids"]])
    trained = captured["model"].eval()
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_checkpoint), out).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_checkpoint).eval()
    with torch.no_grad():
        want, got, before = (
            trained(input_ids=ids).logits,
            reloaded(input_ids=ids).logits,
            base(input_ids=ids).logits,
        )
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert (want - before).abs().max() > 1e-2  # the adapter learned something


def test_resume_from_checkpoint_continues_exactly(tmp_path, tiny_checkpoint, traces_dir):
    common = {"max_steps": 6, "per_device_train_batch_size": 2, "learning_rate": 5e-3}
    straight = run_sft(_config(tmp_path / "a", tiny_checkpoint, traces_dir, **common))

    first = _config(
        tmp_path / "b",
        tiny_checkpoint,
        traces_dir,
        **{**common, "max_steps": 3},
        save_strategy="steps",
        save_steps=3,
    )
    run_sft(first)
    assert (tmp_path / "b" / "out" / "checkpoint-3").is_dir()
    resumed = run_sft(
        _config(tmp_path / "b", tiny_checkpoint, traces_dir, **common, resume_from_checkpoint="auto")
    )

    assert resumed.resumed_from == str(tmp_path / "b" / "out" / "checkpoint-3")
    assert resumed.global_step == 6
    tail = {s: loss for s, loss in resumed.loss_history if s > 3}
    assert sorted(tail) == [4, 5, 6]
    for step, loss in straight.loss_history[3:]:
        assert tail[step] == pytest.approx(loss, rel=1e-4)
