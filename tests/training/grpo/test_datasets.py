"""RL problem sets: the paper's DAPO-Math-17k (verl layout) beside the curated export, and recipes that point at
what the pipeline writes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from retool_data.export import HF_DATASET_DIR, verl_rows
from retool_data.templates import build_prompt_messages
from tests.conftest import REPO_ROOT
from training.grpo.config import GRPORunConfig
from training.grpo.datasets import DAPO_MATH_17K, problem_from_prompt
from training.grpo.train import load_problems

DAPO_HEAD = (
    "Solve the following math problem step by step. The last line of your response should be of the form "
    "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
)
DAPO_TAIL = '\n\nRemember to put your answer on its own line after "Answer:".'
PROBLEMS = [
    (
        "9a9b6eb4-a1cb-49d1-8c1e-62eaf2f74079",
        "In triangle $ABC$, $\\sin \\angle A = \\frac{4}{5}$. Find $x+y$.",
        "34",
    ),
    ("b426d104-244d-4831-a2c4-cd756b61700a", "Let $f(x) = x^2 + 1$. Compute $f(f(2))$.", "26"),
    ("6ff0b17f-7e5c-4ae9-b5e9-63ebecd2b9f7", "How many primes are below 30?", "10"),
]


def write_dapo_layout(root: Path, copies: int = 2) -> Path:
    """A local copy of DAPO-Math-17k in its Hub layout (data/dapo-math-17k.parquet; each problem repeated)."""
    rows = [
        {
            "data_source": "math_dapo",
            "prompt": [{"content": DAPO_HEAD + problem + DAPO_TAIL, "role": "user"}],
            "ability": "MATH",
            "reward_model": {"ground_truth": answer, "style": "rule-lighteval/MATH_v2"},
            "extra_info": {"index": index},
        }
        for _ in range(copies)
        for index, problem, answer in PROBLEMS
    ]
    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "data" / "dapo-math-17k.parquet")
    return root


def grpo_config(tmp_path: Path, dataset: str) -> GRPORunConfig:
    return GRPORunConfig(
        output_dir=str(tmp_path / "run"), model_name_or_path="m", dataset_name_or_path=dataset, num_generations=2,
        per_device_train_batch_size=2, use_cpu=True, bf16=False, report_to="none",
    )  # fmt: skip


def test_dapo_math_17k_maps_to_problems_with_the_one_prompt(tmp_path):
    root = write_dapo_layout(tmp_path / "DAPO-Math-17k", copies=2)
    dataset, dropped = load_problems(grpo_config(tmp_path, str(root)))
    assert dropped == {"duplicate_problem": 3}  # each problem is in the file twice
    assert dataset["id"] == [index for index, _, _ in PROBLEMS]
    assert dataset["answer"] == [answer for _, _, answer in PROBLEMS]
    # DAPO's "Answer: $Answer" instruction is gone: the policy sees the ReTool prompt of the bare problem
    assert dataset["prompt"] == [build_prompt_messages(problem) for _, problem, _ in PROBLEMS]


def test_our_verl_export_maps_back_to_its_problems(tmp_path):
    frame = pl.DataFrame({"problem": [p for _, p, _ in PROBLEMS], "gold_answer": [a for _, _, a in PROBLEMS]})
    path = tmp_path / "verl.parquet"
    pq.write_table(pa.Table.from_pylist(verl_rows(frame)), path)
    dataset, dropped = load_problems(grpo_config(tmp_path, str(path)))
    assert dropped == {} and dataset["answer"] == [a for _, _, a in PROBLEMS]
    assert dataset["prompt"] == [build_prompt_messages(p) for _, p, _ in PROBLEMS]


@pytest.mark.parametrize(
    ("content", "problem"),
    [(DAPO_HEAD + "What is 1+1?" + DAPO_TAIL, "What is 1+1?"), ("  A bare question?  ", "A bare question?")],
)
def test_problem_from_prompt(content, problem):
    assert problem_from_prompt(content) == problem


def _recipe(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "configs" / name).read_text())


GPU_SFT = sorted(p.name for p in (REPO_ROOT / "configs").glob("sft_qwen*.yaml"))
GPU_GRPO = sorted(p.name for p in (REPO_ROOT / "configs").glob("grpo_qwen*.yaml"))


@pytest.mark.parametrize("recipe", GPU_SFT + GPU_GRPO)
def test_gpu_recipes_read_the_export_the_pipeline_writes(recipe):
    from pipelines.resources import project_dir, resources_from_env

    export_dir = Path(resources_from_env({})["export"].out_dir).relative_to(project_dir())
    assert GPU_SFT and GPU_GRPO
    # relative paths in a recipe are read from its folder (retool_data/recipe_paths.py)
    from_recipe = (REPO_ROOT / "configs" / _recipe(recipe)["dataset_name_or_path"]).resolve()
    assert from_recipe.relative_to(REPO_ROOT) == export_dir / HF_DATASET_DIR


@pytest.mark.parametrize("recipe", GPU_GRPO)
def test_gpu_grpo_recipes_offer_the_papers_rl_set(recipe):
    assert f"--dataset_name_or_path {DAPO_MATH_17K}" in (REPO_ROOT / "configs" / recipe).read_text()
