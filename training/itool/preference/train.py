"""Preference optimisation on iTool pairs with TRL, interpreter tokens masked from the loss.

* ``loss="dpo"``: TRL 1.16 ``DPOTrainer`` (sigmoid loss; the reference is the policy the round started from: the
  adapter-disabled model with LoRA, a second copy otherwise).
* ``loss="simpo"``: SimPO through ``trl.experimental.cpo.CPOTrainer`` with ``loss_type="simpo"`` and
  ``cpo_alpha=0`` (reference-free, length-normalised log-probs, target margin ``simpo_gamma``).

TRL tokenizes preference data itself and does not know interpreter blocks, so both trainers are fed pre-tokenized
pairs (`training.itool.preference.data`) and two small overrides carry the masks into the loss:

* `MaskedDPOTrainer`: ``_prepare_dataset`` keeps our tokenization, and `MaskedPreferenceCollator` builds DPO's
  ``completion_mask`` (TRL's loss mask: labels are -100 where it is 0, and only its 1s are summed into the
  sequence log-probs) from ``chosen_mask`` / ``rejected_mask`` instead of "every completion token";
* `MaskedSimPOTrainer`: ``tokenize_row`` writes CPO's ``chosen_labels`` / ``rejected_labels`` with -100 on the
  prompt and on every interpreter token (CPO's log-probs, SimPO's length normalisation and the optional NLL term
  all read the labels).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PREFERENCE_LOSSES = ("simpo", "dpo")
RESULT_FILE = "preference_result.json"


@dataclass
class PreferenceSettings:
    """What a preference round trains with; ``trainer_args`` passes any other DPOConfig/CPOConfig field."""

    loss: str = "simpo"
    beta: float = 2.5  # SimPO's reward scale (iTool: 2.5); for DPO the KL coefficient (typically 0.1)
    simpo_gamma: float = 0.5  # SimPO's target margin (TRL: the logit margin is gamma / beta)
    learning_rate: float = 1e-6
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    max_length: int | None = 2048
    use_peft: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: list[str] | None = None
    seed: int = 42
    trainer_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loss not in PREFERENCE_LOSSES:
            raise ValueError(f"Set the preference loss to one of {PREFERENCE_LOSSES}, not {self.loss!r}.")


@dataclass
class PreferenceResult:
    output_dir: str
    is_adapter: bool  # output_dir holds a LoRA adapter (else a full model)
    global_step: int
    loss_history: list[tuple[int, float]]
    data_stats: dict[str, Any]
    train_runtime_s: float = 0.0


def _classes() -> tuple[type, type, type]:
    """The trainer subclasses (built lazily: TRL and torch are imported only when training)."""
    import torch
    from trl import DPOTrainer
    from trl.experimental.cpo import CPOTrainer
    from trl.trainer.dpo_trainer import DataCollatorForPreference
    from trl.trainer.utils import pad

    class MaskedPreferenceCollator(DataCollatorForPreference):
        """TRL's preference collator, with ``completion_mask`` = 0 on the prompt and the interpreter blocks."""

        def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
            out = super().torch_call(examples)
            masks = [[0] * len(e["prompt_ids"]) + list(e["chosen_mask"]) for e in examples]
            masks += [[0] * len(e["prompt_ids"]) + list(e["rejected_mask"]) for e in examples]
            if self.max_length is not None:  # the same cut TRL applies to the ids
                sl = (
                    slice(None, self.max_length)
                    if self.truncation_mode == "keep_start"
                    else slice(-self.max_length, None)
                )
                masks = [m[sl] for m in masks]
            width = out["input_ids"].shape[1]
            padded = pad(
                [torch.tensor(m, dtype=torch.long) for m in masks], padding_value=0, padding_side="right"
            )
            mask = torch.zeros_like(out["completion_mask"])
            mask[:, : padded.shape[1]] = padded[:, :width]
            out["completion_mask"] = mask
            return out

    class MaskedDPOTrainer(DPOTrainer):
        """DPOTrainer on pre-tokenized pairs whose interpreter tokens have preference-loss weight 0."""

        def _prepare_dataset(self, dataset: Any, processing_class: Any, args: Any, dataset_name: str) -> Any:
            missing = {"prompt_ids", "chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask"} - set(
                dataset.column_names
            )
            if missing:
                raise ValueError(
                    f"{dataset_name} dataset lacks {sorted(missing)}: build it with prepare_preference_dataset"
                )
            return dataset

        def _set_signature_columns_if_needed(self) -> None:
            super()._set_signature_columns_if_needed()
            self._signature_columns = [*self._signature_columns, "chosen_mask", "rejected_mask"]

    class MaskedSimPOTrainer(CPOTrainer):
        """CPOTrainer (SimPO loss) on pre-tokenized pairs: labels are -100 on the prompt and the interpreter."""

        def tokenize_row(self, feature: dict[str, Any], model: Any = None) -> dict[str, Any]:
            prompt = list(feature["prompt_ids"])
            row: dict[str, Any] = {"prompt_input_ids": prompt, "prompt_attention_mask": [1] * len(prompt)}
            for side in ("chosen", "rejected"):
                ids, mask = list(feature[f"{side}_ids"]), list(feature[f"{side}_mask"])
                row[f"{side}_input_ids"] = prompt + ids
                row[f"{side}_attention_mask"] = [1] * (len(prompt) + len(ids))
                row[f"{side}_labels"] = [-100] * len(prompt) + [
                    t if m else -100 for t, m in zip(ids, mask, strict=True)
                ]
            return row

    return MaskedPreferenceCollator, MaskedDPOTrainer, MaskedSimPOTrainer


def build_trainer(
    settings: PreferenceSettings,
    model: Any,
    tokenizer: Any,
    train_dataset: Any,
    output_dir: str,
    *,
    ref_model: Any = None,
    callbacks: list[Any] | None = None,
) -> Any:
    """The masked DPO or SimPO trainer for a pre-tokenized dataset (`prepare_preference_dataset`)."""
    from trl import DPOConfig
    from trl.experimental.cpo import CPOConfig

    from training.models.lora import lora_config

    collator_cls, dpo_cls, simpo_cls = _classes()
    common = {
        "output_dir": output_dir,
        "learning_rate": settings.learning_rate,
        "num_train_epochs": settings.num_train_epochs,
        "max_steps": settings.max_steps,
        "per_device_train_batch_size": settings.per_device_train_batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation_steps,
        "max_length": settings.max_length,
        "beta": settings.beta,
        "seed": settings.seed,
        "report_to": "none",
        "save_strategy": "no",
        **settings.trainer_args,
    }
    peft = None
    if settings.use_peft:
        peft = lora_config(
            settings.lora_r, settings.lora_alpha, settings.lora_dropout, settings.lora_target_modules
        )
    if settings.loss == "dpo":
        args = DPOConfig(**common)
        collator = collator_cls(
            pad_token_id=tokenizer.pad_token_id,
            max_length=args.max_length,
            truncation_mode=args.truncation_mode,
        )
        return dpo_cls(
            model=model,
            ref_model=None if peft is not None else ref_model,
            args=args,
            data_collator=collator,
            train_dataset=train_dataset,
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=callbacks,
        )
    args = CPOConfig(
        **{"loss_type": "simpo", "cpo_alpha": 0.0, "simpo_gamma": settings.simpo_gamma, **common}
    )
    trainer = simpo_cls(
        model=model,
        args=args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=callbacks,
    )
    # CPO's own columns are built (tokenize_row); ours would only ride along in every batch
    ours = ("pair_id", "prompt_ids", "chosen_ids", "chosen_mask", "rejected_ids", "rejected_mask")
    trainer.train_dataset = trainer.train_dataset.remove_columns(
        [c for c in ours if c in trainer.train_dataset.column_names]
    )
    return trainer


def train_preference(
    pairs: list[dict[str, Any]],
    policy: Any,
    tokenizer: Any,
    settings: PreferenceSettings,
    output_dir: str | Path,
    *,
    callbacks: list[Any] | None = None,
) -> PreferenceResult:
    """Tokenize the pairs (interpreter masked), train one round from ``policy`` (a `training.models.policy.PolicyRef`),
    save the adapter (LoRA) or model into ``output_dir`` with ``preference_result.json``."""
    from transformers import set_seed

    from training.itool.preference.data import prepare_preference_dataset
    from training.models.policy import load_policy

    set_seed(settings.seed)
    out = Path(output_dir)
    dataset, stats = prepare_preference_dataset(pairs, tokenizer, max_length=settings.max_length)
    if stats.pairs_kept == 0:
        raise ValueError(f"no trainable preference pairs (of {stats.pairs_in}): dropped {stats.dropped}")
    model = load_policy(policy)
    ref = load_policy(policy) if settings.loss == "dpo" and not settings.use_peft else None
    trainer = build_trainer(settings, model, tokenizer, dataset, str(out), ref_model=ref, callbacks=callbacks)
    output = trainer.train()
    trainer.save_model(str(out))
    history = trainer.state.log_history
    result = PreferenceResult(
        output_dir=str(out),
        is_adapter=settings.use_peft,
        global_step=trainer.state.global_step,
        loss_history=[(int(h["step"]), float(h["loss"])) for h in history if "loss" in h and "step" in h],
        data_stats=stats.to_dict(),
        train_runtime_s=float(output.metrics.get("train_runtime", 0.0)),
    )
    if trainer.is_world_process_zero():
        (out / RESULT_FILE).write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    return result
