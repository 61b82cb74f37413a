"""The bundled sample's data: reproducible, calculations correct except where the manifest says otherwise."""

from __future__ import annotations

import json
import re

import pytest

from retool_data.answers import extract_answer
from retool_data.sources import sample_path
from scripts import build_sample_problems
from tests.conftest import REPO_ROOT
from tests.retool_data.calculations import find_claims

RECORDS = [json.loads(line) for line in sample_path().read_text().splitlines()]
MANIFEST = json.loads(sample_path().with_name("sample_manifest.json").read_text())["rows"]
CONTENT = [(e, r) for e, r in zip(MANIFEST, RECORDS, strict=True) if e["kind"] != "malformed"]


def _norm(answer: str | None) -> str | None:
    """Spelling-level normalization only (\\dfrac, \\sqrt2, \\frac49, spaces); the verify stage does maths."""
    if answer is None:
        return None
    a = re.sub(r"\s+", "", answer).replace(r"\dfrac", r"\frac")
    a = re.sub(r"\\sqrt(\d)", r"\\sqrt{\1}", a)
    return re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", a)


def test_committed_files_are_what_the_script_builds():
    sample_text, manifest_text = build_sample_problems.render()
    assert sample_path().read_text() == sample_text
    assert sample_path().with_name("sample_manifest.json").read_text() == manifest_text


def test_size_and_mix():
    assert 40 <= len(RECORDS) <= 80
    kinds = [e["kind"] for e in MANIFEST]
    assert kinds.count("ok") >= 40
    assert kinds.count("wrong_answer") >= 5 and kinds.count("no_boxed") >= 3 and kinds.count("malformed") >= 8
    golds = [extract_answer(r["ground_truth_solution"]) or "" for _, r in CONTENT]
    assert any(r"\frac" in g for g in golds) and any(r"\sqrt" in g for g in golds)
    assert any(re.fullmatch(r"[(\[].*,.*[)\]]", g) for g in golds)  # intervals
    assert len({r["source"] for _, r in CONTENT}) >= 4


@pytest.mark.parametrize(("entry", "record"), CONTENT, ids=[f"line{e['line']}" for e, _ in CONTENT])
def test_every_stated_calculation_holds_unless_the_slip_is_deliberate(entry, record):
    reasoning = find_claims(record["deepseek_reasoning"])
    claims = reasoning + find_claims(record["deepseek_solution"])
    false = [c.text for c in claims if not c.holds]
    if entry["flaw"] == "arithmetic_slip":
        assert false, "the manifest promises an arithmetic slip the checker cannot see"
    else:
        assert not false
        assert len(reasoning) >= (2 if entry["kind"] != "wrong_answer" else 1), "too few explicit calculations"
    assert all(c.holds for c in find_claims(record["ground_truth_solution"]))


@pytest.mark.parametrize(("entry", "record"), CONTENT, ids=[f"line{e['line']}" for e, _ in CONTENT])
def test_final_answers_match_the_manifest(entry, record):
    teacher = extract_answer(record["deepseek_solution"])
    gold = extract_answer(record["ground_truth_solution"])
    if entry["kind"] == "no_boxed":
        assert teacher is None and extract_answer(record["deepseek_reasoning"]) is None
    elif entry["kind"] == "gold_unboxed":
        assert gold is None and teacher is not None
    elif entry["kind"] == "wrong_answer":
        assert _norm(teacher) != _norm(gold) and teacher and gold
    elif entry["kind"] == "equivalent_form":
        assert _norm(teacher) != _norm(gold)  # equal in value only: the verify stage must see through it
    else:
        assert _norm(teacher) == _norm(gold), (teacher, gold)
        assert r"\boxed" in record["ground_truth_solution"]


def test_docs_list_every_deliberate_row():
    docs = (REPO_ROOT / "docs" / "sources.md").read_text()
    assert build_sample_problems.markdown({"rows": MANIFEST}) in docs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"So 12 \times 7 = 84.", [True]),
        (r"then \frac{3}{4} \cdot 8 = 6 and 2^{10} = 1024", [True, True]),
        (r"17 \times 23 = 381", [False]),
        (r"\sqrt{72} = 6\sqrt{2} \approx 8.485", [True]),
        (r"\frac{8!}{5! \cdot 3!} = 56, \binom{7}{3} = 35", [True, True]),
        (r"so 3x + 5 = 20 gives x = 5", [True]),
        (r"so 3x + 5 = 20 gives x = 6", [False]),
        (r"f(4) = 32 - 12 + 1 = 21", [True]),
        (r"\log_2 64 = 6, and 1,000 - 7 = 993, and 25% = 0.25", []),  # subscripts, separators, percent
        (r"- 252 = 1 \cdot 198 + 54", [True]),  # a bullet, not a minus sign
        (r"Area = \frac{1}{2} \times 9 \times 12 = 54", [True]),
        (r"$\frac16\cdot\frac34=\frac18$ and $80(1-0.25)=60$", [True, True]),
    ],
)
def test_calculation_checker(text, expected):
    assert [c.holds for c in find_claims(text)] == expected
