"""Decontamination against the real AIME24/AIME25/AMC23 files: perturbed copies are found, clean problems are not."""

from __future__ import annotations

import functools
import random
import re
from pathlib import Path

import polars as pl
import pytest

from retool_data.benchmark_sets import load_benchmark, load_benchmarks
from retool_data.stages.decontam import REASON, STAGE, TEMPLATE_REASON, Decontaminator, decontaminate
from tests.retool_data.frames import frame, row, simple_trace

NAMES = ("aime24", "aime25", "amc23")
# Same-domain problems from other benchmark files: competition math on the same topics, different problems.
CLEAN_SOURCES = ("olympiadbench", "minerva_math", "gsm8k")


@functools.cache
def _bench(bdir: Path) -> dict[str, list[str]]:
    return load_benchmarks(NAMES, local_dir=bdir)


@functools.cache
def _index(bdir: Path) -> Decontaminator:
    return Decontaminator(_bench(bdir))


@pytest.fixture
def bench(benchmarks_dir: Path) -> dict[str, list[str]]:
    return _bench(benchmarks_dir)


@pytest.fixture
def index(benchmarks_dir: Path) -> Decontaminator:
    return _index(benchmarks_dir)


@pytest.fixture
def clean_problems(benchmarks_dir: Path) -> list[str]:
    return [r["problem"] for name in CLEAN_SOURCES for r in load_benchmark(name, benchmarks_dir / name)]


def _first_sentence_split(p: str) -> tuple[str, str] | None:
    m = re.search(r"[.?!]\$?\s+(?=[A-Z$\\])", p)
    return (p[: m.end()], p[m.end() :]) if m else None


def reword_first_sentence(p: str) -> str | None:
    parts = _first_sentence_split(p)
    if parts is None:
        return None
    first, rest = parts
    swaps = [
        ("Let ", "Suppose "),
        ("Find ", "Determine "),
        ("There exist ", "There are "),
        ("Every ", "Each "),
        ("Each ", "Every "),
        (" is ", " equals "),
        (" a ", " one "),
        (" the ", " this "),
        ("How many", "Count how many"),
    ]
    new = first
    for a, b in swaps:
        new = new.replace(a, b, 1)
    return (new if new != first else "In this problem, " + first[0].lower() + first[1:]) + rest


PERTURBATIONS = {
    "whitespace": lambda p: re.sub(r"\s+", lambda m: "  \n " if random.random() < 0.5 else " ", p),
    "dollars": lambda p: p.replace("$", ""),
    "latex_spacing": lambda p: (
        re.sub(r"\\[dt]?frac\{(\w)\}\{(\w)\}", r"\\frac\1\2", p)
        .replace("\\left", "")
        .replace("\\right", "")
        .replace("=", " = ")
    ),
    "punctuation": lambda p: p.replace(",", "").replace(".", "!").replace("?", "."),
    "reworded_first_sentence": reword_first_sentence,
}


@pytest.mark.parametrize("kind", sorted(PERTURBATIONS))
def test_every_perturbed_benchmark_item_is_found_with_its_index(
    kind: str, bench: dict[str, list[str]], index: Decontaminator
) -> None:
    random.seed(0)
    tried = missed = 0
    for name, problems in bench.items():
        for i, problem in enumerate(problems):
            copy = PERTURBATIONS[kind](problem)
            if copy is None or copy == problem:  # e.g. no `$` to drop in this one
                continue
            tried += 1
            m = index.match(copy)
            if m is None or (m.benchmark, m.index) != (name, i):
                missed += 1
    assert tried >= 60
    assert missed == 0


def test_hand_reworded_first_sentences(bench: dict[str, list[str]], index: Decontaminator) -> None:
    aya = bench["aime24"][0].replace(
        "Every morning Aya goes for a $9$-kilometer-long walk and stops at a coffee shop afterwards.",
        "Aya walks 9 kilometers each morning, then she visits a coffee shop.",
    )
    assert aya != bench["aime24"][0]
    m = index.match(aya)
    assert (m.benchmark, m.index, m.method) == ("aime24", 0, "ngram")
    frac = bench["aime24"][0].replace("s+\\frac{1}{2}", "s+\\frac12")
    assert index.match(frac).layer == "exact" and index.match(frac).score == pytest.approx(1.0)


def test_clean_same_domain_problems_are_not_flagged(index: Decontaminator, clean_problems: list[str]) -> None:
    assert len(clean_problems) > 2000
    flagged = [(p[:80], index.match(p)) for p in clean_problems if index.match(p) is not None]
    assert flagged == []


def test_other_years_of_the_same_contest_are_not_flagged(bench: dict[str, list[str]]) -> None:
    # AIME 2024 problems are the same contest, style and topics as AIME 2025, and none is a copy of one.
    only_2025 = Decontaminator({"aime25": bench["aime25"], "amc23": bench["amc23"]})
    assert [p[:60] for p in bench["aime24"] if only_2025.match(p)] == []


def test_changed_numbers_alone_do_not_make_a_new_problem_but_a_new_question_does(
    index: Decontaminator,
) -> None:
    # A different question on the same topic, sharing only the AIME boilerplate about m/n.
    other = (
        "A bag holds 4 red and 6 blue marbles. Two are drawn without replacement. The probability that both are "
        "blue is $\\frac{m}{n}$, where $m$ and $n$ are relatively prime positive integers. Find $m+n$."
    )
    assert index.match(other) is None


def test_frame_stage_finds_inserted_copies_among_clean_rows(
    bench: dict[str, list[str]], index: Decontaminator, clean_problems: list[str]
) -> None:
    random.seed(1)
    clean = random.sample(clean_problems, 200)
    planted = {
        "aime24": (7, PERTURBATIONS["dollars"](bench["aime24"][7])),
        "aime25": (3, PERTURBATIONS["punctuation"](bench["aime25"][3])),
        "amc23": (12, reword_first_sentence(bench["amc23"][12]) or bench["amc23"][12].replace(" ", "  ")),
    }
    problems = clean + [p for _, p in planted.values()]
    random.shuffle(problems)
    df = frame([row(p, simple_trace("1+1", "2"), "2", source_id=str(i)) for i, p in enumerate(problems)])
    result = decontaminate(df, index)
    result.check_invariant(df.height)
    assert result.kept.height == 200
    assert set(result.rejected["stage"]) == {STAGE} and set(result.rejected["reason"]) == {REASON}
    found = sorted(result.rejected["detail"].to_list())
    assert [d.split(" ")[0] for d in found] == ["aime24[7]", "aime25[3]", "amc23[12]"]
    assert result.stats["per_benchmark"] == {"aime24": 1, "aime25": 1, "amc23": 1}
    assert result.kept["decontam_score"].max() < 0.95


def test_match_reports_benchmark_index_and_score() -> None:
    dc = Decontaminator(
        {"toy": ["What is the sum of the first 100 positive odd integers?", "Compute $2^{10}$."]},
        answers={"toy": ["10000", "1024"]},
    )
    m = dc.match("what is the sum of the first 100 positive odd integers")
    assert (m.benchmark, m.index, m.layer, m.reason) == ("toy", 0, "exact", REASON) and m.score == 1.0
    # another number and another answer: the same template, another problem
    more = dc.match("What is the sum of the first 200 positive odd integers?", answer="40000")
    assert (more.index, more.reason) == (0, TEMPLATE_REASON) and more.answer_equal is False
    # the item's numbers with another answer (a wrong one, or one word changed): still a copy of the item
    even = dc.match("What is the sum of the first 100 positive even integers?", answer="10100")
    assert even is None or (even.index, even.reason) == (0, REASON)
    assert dc.match("Compute $2^{10}$", answer="1024").reason == REASON
    assert dc.match("Compute $2^{11}$.") is None  # a four-word item is no template
    with pytest.raises(ValueError):
        Decontaminator({"toy": ["x"]}, min_containment=None, min_ratio=None, layers=("ngram", "fuzzy"))


def test_local_override_reads_hub_style_columns(tmp_path: Path, benchmarks_dir: Path) -> None:
    # Maxwell-Jia/AIME_2024 names its columns `Problem` / `Answer`: a parquet copy in that layout loads the same.
    rows = load_benchmark("aime24", benchmarks_dir / "aime24")
    path = tmp_path / "aime_2024_problems.parquet"
    pl.DataFrame(
        {
            "ID": list(range(len(rows))),
            "Problem": [r["problem"] for r in rows],
            "Answer": [r["answer"] for r in rows],
        }
    ).write_parquet(path)
    assert load_benchmark("aime24", path) == rows
    assert load_benchmarks(("aime24",), overrides={"aime24": str(path)})["aime24"][0] == rows[0]["problem"]
    only_aime = tmp_path / "only_aime"
    (only_aime / "aime24").mkdir(parents=True)
    (only_aime / "aime24" / "test.jsonl").write_bytes((benchmarks_dir / "aime24" / "test.jsonl").read_bytes())
    with pytest.raises(FileNotFoundError, match="math500"):
        load_benchmarks(("aime24", "math500"), local_dir=only_aime)
    with pytest.raises(KeyError):
        load_benchmark("not-a-benchmark")


def test_finds_the_amc23_problems_reused_in_gaokao2023en(index: Decontaminator, benchmarks_dir: Path) -> None:
    # A real cross-benchmark leak: the "gaokao2023en" eval set reuses AMC 2023 problems, reworded and trimmed.
    gaokao = [r["problem"] for r in load_benchmark("gaokao2023en", benchmarks_dir / "gaokao2023en")]
    hits = [index.match(p) for p in gaokao]
    hits = [m for m in hits if m is not None]
    assert len(hits) >= 20
    assert {m.benchmark for m in hits} == {"amc23"}
    assert len({m.index for m in hits}) >= 20


def test_local_override_reads_a_save_to_disk_directory(tmp_path: Path, benchmarks_dir: Path) -> None:
    from datasets import Dataset

    rows = load_benchmark("amc23", benchmarks_dir / "amc23")
    Dataset.from_dict(
        {"question": [r["problem"] for r in rows], "answer": [r["answer"] for r in rows]}
    ).save_to_disk(str(tmp_path / "amc23"))
    assert load_benchmarks(("amc23",), local_dir=tmp_path)["amc23"] == [r["problem"] for r in rows]
