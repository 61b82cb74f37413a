"""One prompt for every stage: the export's `messages`, SFT, GRPO, evaluation and iTool render the same prompt ids
for a problem with a real chat template (`retool_data.templates.build_prompt_messages`)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from retool_data.benchmark_sets import BenchmarkItem
from retool_data.export import sft_rows
from retool_data.templates import RL_TEMPLATE
from tests.training.grpo_helpers import qwen2_style_tokenizer

PROBLEM = "What is the sum of all positive divisors of 360?"
TRACE = (
    "Enumerate them.\n<code>\n```python\nprint(sum(d for d in range(1, 361) if 360 % d == 0))\n```\n</code>\n"
    "<interpreter>\n1170\n</interpreter>\nSo <answer>\\boxed{1170}</answer>"
)
# Qwen2.5-Instruct's template, reduced to the part that matters here: its default system turn when none is given.
QWEN25_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- set rest = messages[1:] %}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- set rest = messages %}{%- endif %}"
    "{%- for m in rest %}{{- '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


@pytest.fixture(scope="module")
def qwen_tokenizer():
    tok = qwen2_style_tokenizer()
    tok.chat_template = QWEN25_TEMPLATE
    return tok


def stage_prompts(tokenizer, tmp_path: Path) -> dict[str, list[int]]:
    """The prompt ids each stage builds for PROBLEM, through each stage's own loading code."""
    from training.eval.config import EvalConfig
    from training.eval.run import _prompt_ids
    from training.grpo.config import GRPORunConfig
    from training.grpo.rollout_func import prompt_token_ids
    from training.grpo.train import load_problems as grpo_problems
    from training.itool.deficiency import load_problems as itool_problems
    from training.sft.data import row_chat
    from training.sft.tokenization import tokenize_trace

    (exported,) = sft_rows(pl.DataFrame({"problem": [PROBLEM], "trace": [TRACE], "gold_answer": ["1170"]}))
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps({"id": "p1", "problem": PROBLEM, "answer": "1170"}) + "\n")

    def sft_prompt(row: dict) -> list[int]:  # the masked (weight 0) head of the tokenized SFT row
        prompt, trace = row_chat(row)
        out = tokenize_trace(tokenizer, prompt, trace)
        return out["input_ids"][: out["assistant_masks"].index(1)]

    grpo_config = GRPORunConfig(
        output_dir=str(tmp_path / "grpo"), model_name_or_path="m", dataset_name_or_path=str(problems),
        num_generations=2, per_device_train_batch_size=2, use_cpu=True, bf16=False, report_to="none",
    )  # fmt: skip
    grpo_dataset, _ = grpo_problems(grpo_config)
    eval_config = EvalConfig(output_dir=str(tmp_path / "eval"), model="m", benchmarks=[f"toy={problems}"])
    return {
        "export": prompt_token_ids(tokenizer, exported["messages"][:-1]),
        "sft (messages)": sft_prompt(exported),
        "sft (problem + trace)": sft_prompt({"problem": PROBLEM, "trace": TRACE}),
        "grpo": prompt_token_ids(tokenizer, grpo_dataset[0]["prompt"]),
        "eval": _prompt_ids(eval_config, tokenizer, BenchmarkItem("toy", "p1", PROBLEM, "1170")),
        "itool": itool_problems(str(problems), tokenizer)[0].prompt_ids,
    }


@pytest.mark.parametrize("tokenizer_name", ["qwen_tokenizer", "smollm2_tokenizer"])
def test_every_stage_renders_the_same_prompt(tokenizer_name, request, tmp_path):
    tokenizer = request.getfixturevalue(tokenizer_name)
    prompts = stage_prompts(tokenizer, tmp_path)
    reference = prompts["export"]
    assert {name: ids == reference for name, ids in prompts.items()} == dict.fromkeys(prompts, True)
    text = tokenizer.decode(reference, skip_special_tokens=False)
    assert RL_TEMPLATE.format(question=PROBLEM) in text  # the paper's RL template around the problem
    assert text.count("<|im_start|>system") == 1  # the template's own default system turn, once, for everyone
    if tokenizer_name == "qwen_tokenizer":
        assert "You are Qwen" in text
