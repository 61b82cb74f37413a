"""The Hub readers, fed local datasets in the Hub's exact schema and layout through `datasets.load_dataset`."""

from __future__ import annotations

import json

import datasets
import pytest

from retool_data.schema import PROBLEM_SCHEMA, problem_id
from retool_data.sources import (
    OPENTHOUGHTS3,
    OPENTHOUGHTS_114K,
    load_source,
    read_openthoughts,
    read_openthoughts3,
    split_think,
)
from retool_data.sources.open_thoughts import load_hub_rows
from tests.retool_data.hub_layout import ot3_row, ot114k_row, write_openthoughts3, write_openthoughts_114k

BIG_TEST_CASES = json.dumps({"inputs": ["1\n"] * 2000, "outputs": ["1\n"] * 2000})


@pytest.fixture
def ot114k(tmp_path):
    rows = [
        ot114k_row("Write a function that reverses a string.", domain="code", test_cases=BIG_TEST_CASES,
                   starter_code="def rev(s):"),
        ot114k_row("What is 2 + 2?"),
        ot114k_row("Return your final response within \\boxed{}. Compute $3 \\cdot 4$.",
                   ground_truth_solution="$3\\cdot 4=\\boxed{12}$",
                   deepseek_reasoning="<|begin_of_thought|>3 \\times 4 = 12<|end_of_thought|>"),
        ot114k_row("Why is the sky blue?", domain="physics"),
        ot114k_row("What is 2 + 2?", deepseek_reasoning="Second sample: 2 + 2 = 4."),
        ot114k_row("Find $x$ if $2x = 10$.", ground_truth_solution="So $x=5$."),
        ot114k_row("Find the largest prime below 20.", deepseek_reasoning=None),
    ] + [ot114k_row(f"What is {i} + {i}?") for i in range(10, 16)]
    return write_openthoughts_114k(tmp_path / "OpenThoughts-114k", rows)


@pytest.fixture
def ot3(tmp_path):
    think = "<think>\nOkay, 6 \\times 7 = 42.\n</think>\n\nThe answer is $\\boxed{42}$."
    rows = [
        ot3_row("What is 6 times 7?", think, difficulty=3),
        ot3_row("What is 6 times 7?", think.replace("Okay", "Hmm"), difficulty=3),  # a second annotation
        ot3_row("Balance the equation H2 + O2 -> H2O.", "<think>2H2 + O2</think> 2H2 + O2 -> 2H2O", domain="science"),
        ot3_row("Sum the first 10 integers.", "<think>\n10 \\times 11 / 2 = 55, so", difficulty=8),  # truncated
        ot3_row("What is 9 squared?", "The answer is 81."),  # no <think>: no reasoning
        ot3_row("What is 5 factorial?", None),  # no assistant turn
    ]
    return write_openthoughts3(tmp_path / "OpenThoughts3-1.2M", rows)


def test_openthoughts_maps_the_metadata_config_and_keeps_math_only(ot114k, tmp_path):
    result = read_openthoughts(path=str(ot114k), cache_dir=str(tmp_path / "cache"))
    kept = result.kept
    assert kept.schema == PROBLEM_SCHEMA
    assert result.rows_in == 13 and kept.height == 10  # "What is 2 + 2?" twice: two responses, one problem
    assert result.reject_counts() == {"missing_reasoning": 1, "non_math_domain": 2}
    row = kept.filter(kept["source_id"] == "train/2").row(0, named=True)
    assert row["problem"] == "Compute $3 \\cdot 4$."  # the Open-Thoughts prompt prefix is not part of the problem
    assert row["reasoning"] == "3 \\times 4 = 12"  # section markers stripped
    assert row["gold_answer"] == "12" and row["dataset"] == str(ot114k) and row["source"] == "olympiads"
    assert row["id"] == row["problem_id"] == problem_id("Compute $3 \\cdot 4$.") and row["difficulty"] is None
    first = kept.filter(kept["source_id"] == "train/1").row(0, named=True)
    assert first["solution"] == "Thus the answer is \\(\\boxed{4}\\)." and first["gold_answer"] == "4"
    unboxed = kept.filter(kept["source_id"] == "train/5").row(0, named=True)
    assert unboxed["gold_solution"] == "So $x=5$." and unboxed["gold_answer"] is None
    assert kept["id"].n_unique() == kept.height


def test_non_math_rejects_keep_identity_not_the_trace(ot114k, tmp_path):
    result = read_openthoughts(path=str(ot114k), cache_dir=str(tmp_path / "cache"))
    rejected = result.rejected.filter(result.rejected["reason"] == "non_math_domain")
    assert rejected["detail"].to_list() == ["domain='code'", "domain='physics'"]
    code = json.loads(rejected["row"][0])
    assert code["source_id"] == "train/0" and code["problem"].startswith("Write a function")
    assert code["reasoning"] is None and code["solution"] is None
    second = result.kept.filter(result.kept["source_id"] == "train/4").row(0, named=True)
    assert second["reasoning"] == "Second sample: 2 + 2 = 4." and second["response_index"] == 1
    assert second["id"] == f"{problem_id('What is 2 + 2?')}-r1"


def test_hub_rows_are_projected_to_the_columns_we_map(ot114k, tmp_path):
    """Code rows carry megabytes of test cases: the parquet reader must not even decode them."""
    rows = load_hub_rows(str(ot114k), "metadata", "train", streaming=True, revision=None,
                         cache_dir=str(tmp_path / "cache"), columns=["problem", "domain"])
    first = next(iter(rows))
    assert first == {"problem": "Write a function that reverses a string.", "domain": "code"}


def test_domains_none_keeps_every_domain(ot114k, tmp_path):
    result = read_openthoughts(path=str(ot114k), domains=None, cache_dir=str(tmp_path / "cache"))
    assert sorted(set(result.kept["domain"])) == ["code", "math", "physics"]
    assert result.reject_counts() == {"missing_reasoning": 1}


def test_streaming_limit_stops_reading_early_and_writes_no_cache(ot114k, tmp_path):
    cache = tmp_path / "cache"
    result = read_openthoughts(path=str(ot114k), limit=2, streaming=True, cache_dir=str(cache))
    assert result.kept["source_id"].to_list() == ["train/1", "train/2"]
    assert result.rows_in == 3  # the code row, then two kept rows; nothing after was consumed
    assert result.stats["limit"] == 2 and result.stats["streaming"] is True
    assert not list(cache.rglob("*.arrow"))  # streaming materializes nothing


def test_non_streaming_downloads_and_matches_streaming(ot114k, tmp_path):
    cache = tmp_path / "cache"
    downloaded = read_openthoughts(path=str(ot114k), streaming=False, cache_dir=str(cache))
    streamed = read_openthoughts(path=str(ot114k), streaming=True, cache_dir=str(cache))
    assert list(cache.rglob("*.arrow"))  # the split was prepared on disk
    assert downloaded.kept.equals(streamed.kept)
    assert downloaded.rejected.equals(streamed.rejected)


def test_defaults_ask_datasets_for_the_real_hub_ids(ot114k, ot3, tmp_path, monkeypatch):
    """With no overrides, the readers request the Hub ids, config, split and revision given."""
    calls = []
    real = datasets.load_dataset
    local = {OPENTHOUGHTS_114K: str(ot114k), OPENTHOUGHTS3: str(ot3)}

    def redirect(path, name=None, **kwargs):  # only the location changes; the real loader does the work
        calls.append((path, name, kwargs["split"], kwargs["streaming"], kwargs["revision"]))
        return real(local[path], name, **{**kwargs, "revision": None, "cache_dir": str(tmp_path / "c")})

    monkeypatch.setattr(datasets, "load_dataset", redirect)
    a = read_openthoughts(revision="0123abcd", limit=1)
    b = load_source("openthoughts3", split="train", revision="v1", limit=1)
    assert calls == [
        (OPENTHOUGHTS_114K, "metadata", "train", True, "0123abcd"),
        (OPENTHOUGHTS3, None, "train", True, "v1"),
    ]
    assert a.kept["dataset"].to_list() == [OPENTHOUGHTS_114K] and a.stats["revision"] == "0123abcd"
    assert b.kept["dataset"].to_list() == [OPENTHOUGHTS3] and b.stats["revision"] == "v1"
    assert b.stats["reader"] == "openthoughts3" and a.stats["config"] == "metadata"


def test_openthoughts3_splits_think_and_keeps_every_annotation_as_a_response(ot3, tmp_path):
    result = read_openthoughts3(path=str(ot3), cache_dir=str(tmp_path / "cache"))
    assert result.rows_in == 6
    assert result.reject_counts() == {"missing_reasoning": 2, "non_math_domain": 1}
    kept = result.kept
    assert kept["source_id"].to_list() == ["train/0", "train/1", "train/3"]
    assert kept["response_index"].to_list() == [0, 1, 0] and result.stats["problems"] == 2
    first, second, truncated = kept.rows(named=True)
    assert second["problem_id"] == first["problem_id"] and second["reasoning"].startswith("Hmm, 6")
    assert first["problem"] == "What is 6 times 7?" and first["reasoning"] == "Okay, 6 \\times 7 = 42."
    assert first["solution"] == "The answer is $\\boxed{42}$." and first["difficulty"] == 3.0
    assert first["gold_solution"] is None and first["gold_answer"] is None
    assert truncated["reasoning"] == "10 \\times 11 / 2 = 55, so" and truncated["solution"] is None
    assert truncated["difficulty"] == 8.0


def test_openthoughts3_streaming_limit(ot3, tmp_path):
    result = read_openthoughts3(path=str(ot3), limit=1, cache_dir=str(tmp_path / "cache"))
    assert result.kept.height == 1 and result.rows_in == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("<think>a</think>b", ("a", "b")),
        ("<think>\na\n</think>\n\nb", ("\na\n", "\n\nb")),
        ("<think>never closed", ("never closed", None)),
        ("a</think>b", ("a", "b")),  # chat templates that put <think> in the prompt
        ("no tags at all", (None, "no tags at all")),
    ],
)
def test_split_think(reply, expected):
    assert split_think(reply) == expected


def test_a_json_dataset_without_column_projection_still_reads(tmp_path):
    """`path` may point at a json dataset: its builder has no `columns`, so every column is read."""
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(ot114k_row("What is 1 + 1?")) + "\n")
    result = read_openthoughts(path="json", name=None, data_files=str(path), cache_dir=str(tmp_path / "c"))
    assert result.kept["problem"].to_list() == ["What is 1 + 1?"]
