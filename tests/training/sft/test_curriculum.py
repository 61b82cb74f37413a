"""Easy-to-hard curriculum: difficulty sources, orderings, the SFT switch, and the order SFT really trains in."""

from __future__ import annotations

import json

import pytest
from datasets import Dataset
from transformers import TrainerCallback

from tests.training.traces import chat_row
from training.sft.config import SFTRunConfig
from training.sft.curriculum import curriculum_order, difficulty_scores, load_pass_rates
from training.sft.train import run_sft

CODE = "<code>\n```python\nprint({})\n```\n</code>\n<interpreter>\n{}\n</interpreter>\n"


def trace(calls: int, words: int = 1) -> str:
    return "word " * words + "".join(CODE.format(i, i) for i in range(calls)) + "<answer>\\boxed{1}</answer>"


def test_each_row_takes_the_first_difficulty_source_it_has_and_is_ranked_within_it():
    rows = [
        {"id": "a", "difficulty": 7, "trace": trace(0)},
        {"id": "b", "difficulty": 2.0, "trace": trace(5)},
        {"id": "c", "difficulty": None, "trace": trace(1)},  # pass rate 0.25 -> 0.75
        {"id": "d", "trace": trace(1)},  # pass rate 1.0 -> 0.0
        {"id": "e", "trace": trace(2, 3)},  # no rating, no pass rate: 2 code blocks
        {"id": "f", "trace": trace(2, 1)},  # same blocks, shorter
        {"id": "g", "trace": trace(0, 50)},  # no code, long: fewer blocks beat any length
        {"id": "h", "difficulty": float("nan"), "trace": trace(0)},  # NaN is no rating
    ]
    scores = difficulty_scores(rows, {"c": 0.25, "d": 1.0})
    assert [s.source for s in scores] == ["difficulty"] * 2 + ["pass_rate"] * 2 + ["length"] * 4
    assert [s.raw[0] for s in scores[:4]] == [7.0, 2.0, 0.75, 0.0]
    # percentile rank within the source: difficulty [b, a], pass_rate [d, c], length [h, g, f, e]
    assert [s.score for s in scores] == pytest.approx([1, 0, 1, 0, 1, 2 / 3, 1 / 3, 0])


def test_ties_share_a_rank():
    scores = difficulty_scores([{"difficulty": d} for d in (1, 3, 3, 5)])
    assert [s.score for s in scores] == pytest.approx([0, 0.5, 0.5, 1])


def test_orderings():
    scores = difficulty_scores([{"difficulty": d} for d in (5, 1, 4, 2, 3, 6)])
    assert curriculum_order(scores, "none") == [0, 1, 2, 3, 4, 5]
    assert curriculum_order(scores, "easy_to_hard") == [1, 3, 4, 2, 0, 5]
    staged = curriculum_order(scores, "staged", stages=3, seed=1)
    assert len(staged) == 2 + 4 + 6
    assert (
        sorted(staged[:2]) == [1, 3]
        and sorted(staged[2:6]) == [1, 2, 3, 4]
        and sorted(staged[6:]) == list(range(6))
    )
    assert staged == curriculum_order(scores, "staged", stages=3, seed=1)  # seeded
    with pytest.raises(ValueError, match="curriculum must be one of"):
        curriculum_order(scores, "hard_first")


def test_sft_config_switch():
    base = {
        "model_name_or_path": "m",
        "dataset_name_or_path": "d",
        "bf16": False,
        "use_cpu": True,
        "report_to": "none",
    }
    assert SFTRunConfig(**base).train_sampling_strategy == "random"
    config = SFTRunConfig(**base, curriculum="easy_to_hard")
    assert config.train_sampling_strategy == "sequential"
    with pytest.raises(ValueError, match="packing: false"):
        SFTRunConfig(**base, curriculum="staged", packing=True)
    with pytest.raises(ValueError, match="Set curriculum to one of"):
        SFTRunConfig(**base, curriculum="random")


class Record(TrainerCallback):
    def __init__(self):
        self.batches = []

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self.batches = [b["input_ids"].tolist() for b in train_dataloader]


@pytest.mark.parametrize("mode", ["easy_to_hard", "staged"])
def test_sft_trains_rows_in_curriculum_order(tiny_checkpoint, tmp_path, mode):
    # difficulty from three sources: a rating, a pass rate from an iTool mining file, and the trace length
    rows = [
        {**chat_row(trace(3), "hard rated"), "id": "r1", "difficulty": 9.0},
        {**chat_row(trace(1), "easy rated"), "id": "r2", "difficulty": 1.0},
        {**chat_row(trace(0), "never solved"), "id": "p1", "difficulty": None},
        {**chat_row(trace(0), "always solved"), "id": "p2", "difficulty": None},
        {**chat_row(trace(2), "two blocks"), "id": "l1", "difficulty": None},
        {**chat_row(trace(0), "no block"), "id": "l2", "difficulty": None},
    ]
    data = tmp_path / "data"
    Dataset.from_list(rows).save_to_disk(data)
    rates = tmp_path / "mining.jsonl"
    rates.write_text(
        "".join(json.dumps({"problem_id": i, "pass_rate": r}) + "\n" for i, r in [("p1", 0.0), ("p2", 1.0)])
    )
    assert load_pass_rates(rates) == {"p1": 0.0, "p2": 1.0}
    record = Record()
    config = SFTRunConfig(
        output_dir=str(tmp_path / "out"), model_name_or_path=tiny_checkpoint, dataset_name_or_path=str(data),
        bf16=False, use_cpu=True, report_to="none", save_strategy="no", max_steps=1, per_device_train_batch_size=1,
        max_length=1024, curriculum=mode, curriculum_pass_rates=str(rates), loss_plot=False, seed=3,
    )  # fmt: skip
    result = run_sft(config, callbacks=[record])
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    problems = [
        tok.decode(b[0]).split("<|im_start|>user\n")[1].split("<|im_end|>")[0] for b in record.batches
    ]
    easy, hard = {"easy rated", "always solved", "no block"}, {"hard rated", "never solved", "two blocks"}
    if mode == "easy_to_hard":
        assert set(problems[:3]) == easy and set(problems[3:]) == hard
    else:  # stage 1: the easiest third of each source's rank order; stage 2: two thirds; stage 3: all
        assert len(problems) == 2 + 4 + 6 and set(problems[:2]) <= easy and set(problems[6:]) == easy | hard
    assert result.dataset_fingerprint["curriculum"]["sources"] == {
        "difficulty": 2,
        "pass_rate": 2,
        "length": 2,
    }
