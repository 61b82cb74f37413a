"""Zero rows reaching a stage is a normal stage (issue 15, item 10): every stage, and the export, takes an empty
frame and returns an empty result with its columns, instead of a dtype-Null crash."""

from __future__ import annotations

from typing import Any

import datasets
import polars as pl
import pytest

from retool_data.export import export_dataset
from retool_data.schema import PROBLEM_SCHEMA, REJECT_SCHEMA, REWRITE_COLUMNS, VERIFY_COLUMNS, empty_frame
from retool_data.stages.consistency import consistency_stage
from retool_data.stages.decontam import Decontaminator, decontaminate
from retool_data.stages.dedup import dedup
from retool_data.stages.filters import TraceFilter
from retool_data.stages.heuristic_rewrite import heuristic_rewrite
from retool_data.stages.rewrite import rewrite
from retool_data.stages.verify import verify
from sandbox import Sandbox

CURATED = {**PROBLEM_SCHEMA, **VERIFY_COLUMNS, **REWRITE_COLUMNS}


class NoCalls:
    """A chat backend that fails the test if a stage sends anything for zero rows."""

    name = "openai:none"

    @property
    def usage(self) -> Any:
        from retool_data.llm.types import UsageLedger

        return UsageLedger()

    def complete(self, requests, *, desc: str = ""):
        assert not requests, "no rows, no requests"
        return []


@pytest.fixture(scope="module")
def sb():
    with Sandbox(workers=1, timeout_s=5.0) as box:
        yield box


def stages(sb: Sandbox) -> dict[str, Any]:
    index = Decontaminator(
        {"bench": ["Find the number of positive divisors of 2024 that are perfect squares."]}
    )
    return {
        "verify": lambda df: verify(df, NoCalls()),
        "rewrite": lambda df: rewrite(df, NoCalls()),
        "heuristic_rewrite": lambda df: heuristic_rewrite(df, sb),
        "filter": TraceFilter(),
        "consistency": lambda df: consistency_stage(df, sb),
        "dedup": dedup,
        "decontaminate": lambda df: decontaminate(df, index),
    }


@pytest.mark.parametrize(
    "name", ["verify", "rewrite", "heuristic_rewrite", "filter", "consistency", "dedup", "decontaminate"]
)
def test_every_stage_takes_zero_rows(sb, name):
    result = stages(sb)[name](empty_frame(CURATED))
    result.check_invariant(0)
    assert result.kept.height == 0 and result.rejected.height == 0
    assert set(CURATED) <= set(result.kept.columns)  # the columns survive, for the next stage's schema check
    assert result.rejected.schema == REJECT_SCHEMA


def test_an_empty_export_writes_every_file_with_the_schema(tmp_path):
    result = export_dataset(empty_frame(CURATED), tmp_path / "out", stage_summary=[])
    assert result.rows == 0
    reloaded = datasets.load_from_disk(str(result.out_dir / "hf_dataset"))
    assert len(reloaded) == 0 and "messages" in reloaded.column_names
    [shard] = result.shards
    assert pl.read_parquet(shard).height == 0 and "problem" in pl.read_parquet(shard).columns
    assert pl.read_parquet(result.verl_path).columns[:2] == ["data_source", "prompt"]
    assert result.card_path.read_text().startswith("---")
