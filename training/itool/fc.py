"""iTool on function calling: the phases of `training.itool.round` for ``environment: function_calling``.

* data: ToolACE dialogs (`retool_data.sources.toolace.read_toolace`: a local file or the Hub id with
  ``fc_revision``); the hardest ``fc_heldout`` dialogs are held out; every call turn (and every direct refusal)
  of the others is a search problem (`training.itool.envs.function_calling.load_fc_problems`);
* warm-up (`warmup_phase`): easy-to-hard SFT on whole dialogs, rows sorted by the ToolACE difficulty and trained
  in that order (a sequential sampler), loss on the assistant turns only (call blocks, answers, end-of-turn):
  system, user turns and tool results are masked; a LoRA adapter in ``<output_dir>/warmup/``;
* mining (`mine_fc`), MCTS (`FunctionCallEnv`: a node = one call), pairs and SimPO/DPO are the shared core;
* evaluation (`evaluate_fc`): BFCL with its own checker (`training.itool.bfcl.run_bfcl`) through the round's
  generation backend, greedy.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from retool_data.sources.toolace import FunctionCallExample, read_toolace
from training.itool.envs.function_calling import load_fc_problems
from training.itool.envs.tool_calls import render_messages
from training.itool.mcts.search import SearchProblem
from training.models.policy import PolicyRef

WARMUP_DIR = "warmup"
WARMUP_RESULT = "warmup_result.json"


def load_examples(config: Any) -> tuple[list[FunctionCallExample], list[FunctionCallExample], dict[str, Any]]:
    """(training dialogs in file order, held-out dialogs = the ``fc_heldout`` hardest, the reader's stats incl.
    quarantine counts)."""
    result = read_toolace(config.problems_path, revision=config.fc_revision)
    ranked = sorted(range(len(result.examples)), key=lambda i: result.examples[i].difficulty)
    held = set(ranked[len(ranked) - config.fc_heldout :]) if config.fc_heldout else set()
    train = [e for i, e in enumerate(result.examples) if i not in held]
    return (
        train,
        [result.examples[i] for i in sorted(held)],
        {**result.stats, "quarantine": result.quarantine},
    )


def load_problems_fc(config: Any, tokenizer: Any) -> list[SearchProblem]:
    train, _, _ = load_examples(config)
    return load_fc_problems(train, tokenizer, max_problems=config.max_problems)


# ------------------------------------------------------------------------------------------------ warm-up SFT


def tokenize_dialog(tokenizer: Any, example: FunctionCallExample) -> dict[str, list[int]] | None:
    """``input_ids`` + ``completion_mask`` (1 on assistant turns and their end-of-turn, 0 elsewhere) built turn
    by turn through the chat template; None when the template does not render a dialog as a prefix of its
    continuation (then no exact mask exists)."""
    from training.sft.tokenization import end_of_turn_text, prompt_token_ids

    messages = render_messages(example.system, example.tools, example.messages)
    ids: list[int] = []
    mask: list[int] = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        context = list(prompt_token_ids(tokenizer, messages[:i]))
        if context[: len(ids)] != ids:
            return None
        mask += [0] * (len(context) - len(ids))
        ids = context
        target = tokenizer.encode(
            m["content"] + end_of_turn_text(tokenizer, messages[:i]), add_special_tokens=False
        )
        ids, mask = ids + target, mask + [1] * len(target)
    return {"input_ids": ids, "completion_mask": mask} if 1 in mask else None


def warmup_phase(config: Any, policy: PolicyRef, tokenizer: Any, examples: list[FunctionCallExample],
                 out: Path) -> dict[str, Any]:  # fmt: skip
    """Easy-to-hard SFT (see the module docstring); resumes from ``out/warmup_result.json``."""
    if (out / WARMUP_RESULT).exists():
        return json.loads((out / WARMUP_RESULT).read_text())
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from training.models.policy import load_policy

    rows, dropped = [], {"template_not_prefix": 0, "overlong": 0}
    for ex in sorted(examples, key=lambda e: e.difficulty):  # easy -> hard, kept in this order
        row = tokenize_dialog(tokenizer, ex)
        if row is None:
            dropped["template_not_prefix"] += 1
        elif len(row["input_ids"]) > config.warmup_max_length:
            dropped["overlong"] += 1
        else:
            rows.append({"id": ex.id, "difficulty": ex.difficulty, **row})
    dataset = Dataset.from_list(rows)
    shared = {
        k: v for k, v in (config.pref_trainer_args or {}).items() if k in SFTConfig.__dataclass_fields__
    }
    args = SFTConfig(**{
        **shared,  # bf16, use_cpu, logging, scheduler... as the preference training runs
        "output_dir": str(out), "max_steps": config.warmup_steps, "learning_rate": config.warmup_learning_rate,
        "per_device_train_batch_size": 1, "gradient_accumulation_steps": 1, "save_strategy": "no",
        "train_sampling_strategy": "sequential",  # the rows are already easy -> hard
        "completion_only_loss": True, "report_to": [], "seed": config.seed, "max_length": None,
    })  # fmt: skip
    model = load_policy(policy)
    peft = (LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                       target_modules=config.lora_target_modules or "all-linear", task_type="CAUSAL_LM")
            if config.use_peft else None)  # fmt: skip
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft
    )
    train = trainer.train()
    trainer.save_model(str(out))
    order = [trainer.train_dataset[i]["id"] for i in range(len(trainer.train_dataset))]
    result = {"output_dir": str(out), "is_adapter": bool(config.use_peft), "global_step": train.global_step,
              "loss": train.training_loss, "rows": len(rows), "dropped": dropped, "order": order,
              "loss_tokens": sum(sum(r["completion_mask"]) for r in rows)}  # fmt: skip
    (out / WARMUP_RESULT).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


# ------------------------------------------------------------------------------------------------ evaluation


def evaluate_fc(config: Any, policy: PolicyRef, tokenizer: Any, run_dir: str | Path) -> dict[str, Any]:
    """BFCL on ``bfcl_categories`` x ``bfcl_per_category`` with the round's backend, greedy; the summary has
    ``pass_rate`` = the non-live AST average (what the report plots) and per-category accuracies."""
    from training.itool.backends import policy_backend
    from training.itool.bfcl import CATEGORY_FILES, run_bfcl

    greedy = dataclasses.replace(config, temperature=0.0)
    with policy_backend(greedy, policy, tokenizer) as backend:
        report = run_bfcl(backend, tokenizer, run_dir, categories=config.bfcl_categories or tuple(CATEGORY_FILES),
                          per_category=config.bfcl_per_category, max_new_tokens=config.max_completion_tokens,
                          multi_turn_steps=config.bfcl_multi_turn_steps)  # fmt: skip
    return {"pass_rate": report.summary["non_live_ast"], "pass_at_k": report.summary["non_live_ast"],
            "behaviour": {}, **report.summary,
            "categories": {k: v["accuracy"] for k, v in report.categories.items()},
            "cases": sum(v["cases"] for v in report.categories.values()), "wall_s": report.wall_s}  # fmt: skip
