"""Export: the dataset reloads, shards and the verl parquet have the right layout, the card renders, Hub push."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from retool_data import PIPELINE_VERSION
from retool_data.export import export_dataset, push_to_hub
from retool_data.quarantine import Quarantine
from retool_data.stages.dedup import dedup
from retool_data.stages.filters import TraceFilter
from retool_data.templates import PROMPT_TEMPLATE_ID, build_prompt_messages
from retool_data.tool_protocol import HERMES_TEMPLATE, hermes_prompt
from tests.retool_data.fake_hub import FakeHub
from tests.retool_data.frames import frame, row, simple_trace, trace


def curated(n: int = 7) -> tuple[pl.DataFrame, Quarantine]:
    rows = [
        row(
            f"What is {i} squared plus {i}?",
            simple_trace(f"{i}**2+{i}", str(i * i + i)),
            str(i * i + i),
            source_id=str(i),
            source="olympiads" if i % 2 else "amc_aime",
            difficulty=float(i % 3 + 1),
        )
        for i in range(n)
    ]
    rows.append(row("What is 3 squared plus 3?", simple_trace("12", "12"), "12", source_id="dup"))
    rows.append(row("Say hi.", "hi <answer>\\boxed{hi}</answer>", "hi", source_id="nocode"))
    two = trace(("code", "x = 6"), ("out", ""), ("code", "print(x * 7)"), ("out", "42"), answer="42")
    rows.append(row("What is six times seven?", two, "42", source_id="two", rewrite_backend="openai:test"))
    q = Quarantine()
    kept = q.run(frame(rows), [("dedup", dedup), ("filter", TraceFilter(check_answer=False))])
    return kept, q


@pytest.fixture
def exported(tmp_path: Path):  # noqa: ANN201
    kept, q = curated()
    result = export_dataset(
        kept,
        tmp_path / "out",
        config={"filter": {"max_tokens": 16384}},
        stage_summary=q.summary(),
        rejects=q.rejects,
        source_revision="abc123",
        rows_per_shard=3,
    )
    return kept, q, result


def test_dataset_reloads_with_messages_and_columns(exported) -> None:  # noqa: ANN001
    from datasets import load_from_disk

    kept, _, result = exported
    ds = load_from_disk(str(result.dataset_dir))
    assert len(ds) == kept.height == result.rows == 8
    first = ds[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["problem"] == kept["problem"][0]
    assert first["messages"][:-1] == build_prompt_messages(first["problem"])  # the prompt every stage uses
    assert first["messages"][1]["content"] == first["trace"] == kept["trace"][0]
    assert first["answer"] == kept["gold_answer"][0] and first["prompt_template"] == PROMPT_TEMPLATE_ID
    for column in (
        "source",
        "source_id",
        "verify_verdict",
        "answer_verdict",
        "num_code_blocks",
        "rewrite_backend",
        "dedup_cluster_size",
        "format_warnings",
        "trace_tokens",
    ):
        assert column in ds.column_names
    assert ds.filter(lambda r: r["source_id"] == "two")[0]["num_code_blocks"] == 2
    # the source's rating travels with the row (iTool's curriculum reads it); rows without one hold None
    assert ds.filter(lambda r: r["source_id"] == "2")[0]["difficulty"] == 3.0
    assert ds.filter(lambda r: r["source_id"] == "two")[0]["difficulty"] is None


def test_parquet_shards_hold_every_row_once(exported) -> None:  # noqa: ANN001
    from datasets import load_dataset, load_from_disk

    kept, _, result = exported
    assert [p.name for p in result.shards] == [f"train-{i:05d}-of-00003.parquet" for i in range(3)]
    shards = pl.concat([pl.read_parquet(p) for p in result.shards])
    assert sorted(shards["id"].to_list()) == sorted(kept["id"].to_list())
    ds = load_dataset("parquet", data_files=[str(p) for p in result.shards], split="train")
    assert ds.features["messages"].feature["role"].dtype == "string"
    assert ds.features == load_from_disk(str(result.dataset_dir)).features


def test_verl_parquet_layout(exported) -> None:  # noqa: ANN001
    kept, _, result = exported
    verl = pl.read_parquet(result.verl_path)
    assert verl.columns == ["data_source", "prompt", "ability", "agent_name", "reward_model", "extra_info"]
    first = verl.row(0, named=True)
    # verl's tool agent loop speaks Hermes tool calls: the RL prompt is the Hermes template, whatever the SFT rows use
    assert first["prompt"] == [{"role": "user", "content": hermes_prompt(kept["problem"][0])}]
    assert verl["agent_name"].unique().to_list() == ["tool_agent"]
    assert first["ability"] == "math"
    assert first["reward_model"] == {"style": "rule", "ground_truth": kept["gold_answer"][0]}
    assert first["extra_info"]["index"] == 0 and first["extra_info"]["id"] == kept["id"][0]
    assert verl["extra_info"].struct.field("index").to_list() == list(range(kept.height))


def test_card_renders_with_metadata_counts_and_histograms(exported) -> None:  # noqa: ANN001
    from huggingface_hub import DatasetCard

    kept, q, result = exported
    text = result.card_path.read_text(encoding="utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["retool_data"]["pipeline_version"] == PIPELINE_VERSION
    assert meta["retool_data"]["config_hash"] == result.config_hash
    assert meta["retool_data"]["source_revision"] == "abc123"
    assert meta["retool_data"]["templates"]["prompt"] == PROMPT_TEMPLATE_ID
    assert meta["retool_data"]["templates"]["rl_prompt"] == HERMES_TEMPLATE.id  # the verl parquet's prompt
    assert meta["retool_data"]["templates"]["rewrite"] == ["retool-coldstart@1"]
    assert meta["configs"][0]["data_files"][0]["path"] == "data/train-*"
    card = DatasetCard.load(result.card_path)
    assert card.data.pretty_name == "ReTool cold-start traces" and card.data.license == "apache-2.0"
    assert "| dedup | 10 | 9 | 1 | `duplicate_exact` 1 |" in card.text
    assert "| filter | 9 | 8 | 1 | `too_few_code_blocks` 1 |" in card.text
    assert "**code blocks per trace**" in card.text and "| 2 | 1 |" in card.text
    assert "| openai:test | 1 |" in card.text


def test_export_is_idempotent_and_config_changes_the_hash(tmp_path: Path) -> None:
    kept, q = curated()
    a = export_dataset(kept, tmp_path / "x", config={"t": 1}, rows_per_shard=3)
    first = {p.name: p.read_bytes() for p in a.shards} | {"README.md": a.card_path.read_bytes()}
    b = export_dataset(kept.head(2), tmp_path / "x", config={"t": 1}, rows_per_shard=3)
    assert len(b.shards) == 1 and len(list((tmp_path / "x" / "data").iterdir())) == 1  # no stale shards
    c = export_dataset(kept, tmp_path / "x", config={"t": 1}, rows_per_shard=3)
    assert {p.name: p.read_bytes() for p in c.shards} | {"README.md": c.card_path.read_bytes()} == first
    assert export_dataset(kept, tmp_path / "y", config={"t": 2}).config_hash != a.config_hash
    with pytest.raises(ValueError, match="lacks columns"):
        export_dataset(kept.drop("trace"), tmp_path / "z")
    with pytest.raises(ValueError, match="1 rows without a problem or trace"):
        export_dataset(
            kept.with_columns(
                pl.when(pl.col("source_id") == "2").then(None).otherwise(pl.col("trace")).alias("trace")
            ),
            tmp_path / "z",
        )


def test_push_to_hub_commits_card_shards_and_verl(exported, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    _, _, result = exported
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_from_env")
    with FakeHub() as hub:
        url = push_to_hub(result.out_dir, "retool/cold-start", endpoint=hub.endpoint)
    state = hub.state
    assert url.startswith(f"{hub.endpoint}/datasets/retool/cold-start/commit/")
    assert state.repos == [
        {"name": "cold-start", "organization": "retool", "visibility": "private", "type": "dataset"}
    ]
    expected = {"README.md", *(f"data/{p.name}" for p in result.shards), "verl/train.parquet"}
    assert set(state.files) == {f"retool/cold-start/{p}" for p in expected}
    for rel in expected:
        assert state.files[f"retool/cold-start/{rel}"] == (result.out_dir / rel).read_bytes()
    assert all(auth == "Bearer hf_test_token_from_env" for _, _, auth in state.requests)
    assert not any(p.startswith("hf_dataset") for p in state.files)


def test_push_to_hub_needs_a_token_and_an_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="HF_TOKEN"):
        push_to_hub(tmp_path, "retool/x")
    with pytest.raises(FileNotFoundError, match="not an export directory"):
        push_to_hub(tmp_path, "retool/x", token="t")


def test_rows_carry_the_trace_quality_columns_and_the_card_summarizes_them(exported) -> None:  # noqa: ANN001
    from datasets import load_from_disk

    kept, _, result = exported
    ds = load_from_disk(str(result.dataset_dir))
    assert {"tool_use_score", "useful_block_share", "block_labels"} <= set(ds.column_names)
    two = ds.filter(lambda r: r["source_id"] == "two")[0]
    assert len(two["block_labels"]) == 2 and 0.0 <= two["tool_use_score"] <= 1.0
    text = result.card_path.read_text(encoding="utf-8")
    assert "## Trace quality (how the code does the work)" in text and "| mean tool-use score |" in text


def test_the_rl_ground_truth_is_spelled_like_the_traces_answers(tmp_path: Path) -> None:
    rows = [
        row(
            "How many square units?", simple_trace("10**2", "100"), "100\\text{ square units}", source_id="u"
        ),
        row("How many in ten thousand?", simple_trace("10**4", "10000"), "10{,}000", source_id="g"),
        row("What is 225 squared?", simple_trace("225**2", "50625"), "50,625", source_id="c"),
    ]
    result = export_dataset(frame(rows), tmp_path / "out")
    verl = pl.read_parquet(result.verl_path)
    assert verl["reward_model"].struct.field("ground_truth").to_list() == ["100", "10000", "50625"]
    sft = pl.concat([pl.read_parquet(p) for p in result.shards])
    assert sft["answer"].to_list() == ["100", "10000", "50625"]


def test_the_card_and_its_config_block_name_no_folder_of_this_machine(tmp_path: Path) -> None:
    """Paths in the run's config become relative to the export, or to the project (the bundled sample), or
    their file name: the published card is the same wherever it was built."""
    import json
    import re

    from retool_data.sources import sample_path

    kept, _ = curated()
    out = tmp_path / "deep" / "export"
    config = {
        "export": {"out_dir": str(out), "hf_dataset_dir": str(out / "hf_dataset")},
        "source": {"path": str(sample_path()), "local_dir": str(tmp_path / "bench" / "aime24.jsonl")},
        "filters": {"benchmarks_dir": [str(tmp_path / "bench")], "note": "/ not a path\nsecond line"},
    }
    result = export_dataset(kept, out, config=config)
    card = result.card_path.read_text(encoding="utf-8")
    block = json.loads(card.split("```json\n", 1)[1].split("\n```", 1)[0])
    assert block["export"] == {"out_dir": ".", "hf_dataset_dir": "hf_dataset"}
    project = Path(__file__).resolve().parents[2]
    assert block["source"] == {"path": Path(sample_path()).resolve().relative_to(project).as_posix(),
                               "local_dir": "aime24.jsonl"}  # fmt: skip
    assert block["filters"]["benchmarks_dir"] == ["bench"]
    assert str(tmp_path) not in card
    assert not re.search(r"(?<![\w.])/(tmp|home|root|work|srv|usr|opt|var)/", card)
