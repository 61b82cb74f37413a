"""Done-when check: on benchmark rows with a worked solution and a final answer, the answer extracted from
the solution is equivalent to the recorded one for >= 98% of rows per file.

Which files qualify is decided from the data, not by name: a row needs a worked solution (not just the
answer repeated) and a final answer, and the file's solutions must mark their final answer (a box or an
``<answer>`` tag) -- `extract_answer` deliberately never guesses an answer from prose. The files that do not
qualify, and why, are pinned in NOT_QUALIFYING so a change in the data shows up here (docs/answers.md).
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path

import pytest

from retool_data.answers import AnswerChecker, extract_answer, find_boxed

MIN_AGREEMENT = 0.98
MIN_MARKED = 0.5  # share of solutions that must mark a final answer for the file to qualify

# Misses in qualifying files, with why they are not extractor/checker bugs: none at present.
KNOWN_MISSES: dict[str, dict[str, str]] = {}

NOT_QUALIFYING = {
    "aime25": "the `solution` field repeats the answer (no worked solution)",
    "amc23": "no solution field",
    "gaokao2023en": "no solution field",
    "gsm8k": "the final answer is only marked `#### n` inside the solution itself (no box, no separate gold)",
    "olympiadbench": "solutions state the answer in prose (`... is $\\mathbf{1 0 9 8 9 0}$`), never boxed",
}


def _minerva_gold(solution: str) -> str | None:
    """Minerva rows record no answer field; their gold is the solution's boxed answer. Take it with
    math-verify's own extractor, an implementation independent of ours, in its normalized spelling."""
    from math_verify import LatexExtractionConfig, parse

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    found = parse(
        solution, extraction_config=[LatexExtractionConfig(boxed_match_priority=0)], parsing_timeout=None
    )
    return found[-1] if found and isinstance(found[-1], str) else None


def worked_rows(path: Path) -> list[tuple[str, str, str]]:
    """(row id, worked solution, gold answer) for the rows that carry both; [] for files without them."""
    rows = []
    for n, line in enumerate(path.read_text().splitlines()):
        row = json.loads(line)
        row_id = str(row.get("id", row.get("idx", n)))
        solution, gold = row.get("solution"), row.get("answer", row.get("final_answer"))
        if isinstance(solution, list) and isinstance(gold, list):  # OlympiadBench: several solutions/answers
            solution, gold = "\n\n".join(solution), ", ".join(gold)
        if isinstance(solution, str) and gold is None and "\\boxed" in solution:
            gold = _minerva_gold(solution)
        if isinstance(solution, str) and isinstance(gold, str) and solution.strip() != gold.strip():
            rows.append((row_id, solution, gold))
    return rows


def _marks_answer(solution: str) -> bool:
    return bool(find_boxed(solution)) or "<answer>" in solution


@pytest.fixture
def survey(benchmarks_dir: Path) -> dict[str, tuple[list[tuple[str, str, str]], float]]:
    return _survey(benchmarks_dir)


@functools.cache
def _survey(benchmarks_dir: Path) -> dict[str, tuple[list[tuple[str, str, str]], float]]:
    """benchmark name -> (worked rows, share of them whose solution marks its final answer)."""
    found = {}
    for path in sorted(benchmarks_dir.glob("*/test.jsonl")):
        rows = worked_rows(path)
        marked = sum(_marks_answer(solution) for _, solution, _ in rows) / len(rows) if rows else 0.0
        found[path.parent.name] = (rows, marked)
    return found


def test_which_files_qualify(survey):
    qualifying = {name for name, (rows, marked) in survey.items() if rows and marked >= MIN_MARKED}
    assert {"aime24", "minerva_math"} <= qualifying
    assert not qualifying & NOT_QUALIFYING.keys()
    assert survey.keys() <= qualifying | NOT_QUALIFYING.keys(), "a new benchmark file: classify it"
    # OlympiadBench has worked solutions and answers, but not one solution marks its answer
    rows, marked = survey["olympiadbench"]
    assert len(rows) > 600 and marked == 0.0
    assert all(extract_answer(solution) is None for _, solution, _ in rows)


def test_extracted_answers_match_recorded_ones(survey):
    checked = 0
    with AnswerChecker(workers=2) as checker:
        for name, (rows, marked) in survey.items():
            if not rows or marked < MIN_MARKED:
                continue
            preds = [extract_answer(solution) for _, solution, _ in rows]
            verdicts = checker.are_equivalent(preds, [gold for _, _, gold in rows])
            misses = {
                row_id: (gold, pred)
                for (row_id, _, gold), pred, ok in zip(rows, preds, verdicts, strict=True)
                if not ok
            }
            unexplained = {k: v for k, v in misses.items() if k not in KNOWN_MISSES.get(name, {})}
            assert unexplained == {}, f"{name}: misses not in KNOWN_MISSES"
            assert sum(verdicts) / len(rows) >= MIN_AGREEMENT, name
            checked += len(rows)
    assert checked >= 300
