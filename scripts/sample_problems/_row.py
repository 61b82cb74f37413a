"""One bundled-sample row: the upstream record (OpenThoughts-114k `metadata` schema) plus its manifest entry."""

from __future__ import annotations

from typing import Any

# The manifest kinds. "ok" rows are correct and well formed; the others are deliberate (see docs/sources.md).
KINDS = (
    "ok",  # correct teacher answer, \boxed in the solution
    "equivalent_form",  # correct, but the teacher's answer is written differently from the gold one
    "gold_unboxed",  # correct, but the ground-truth solution has no \boxed{} (gold_answer stays null)
    "no_boxed",  # correct, but the teacher never writes \boxed{} (reasoning nor solution)
    "wrong_answer",  # the teacher's final answer differs from the gold one
    "second_response",  # another teacher response to an earlier row's problem: kept as response_index 1
    "malformed",  # quarantined at ingestion (expect_reject names the reason)
)
FLAWS = ("arithmetic_slip", "conceptual_error")


def row(
    problem: Any,
    reasoning: Any,
    solution: Any,
    gold: Any,
    *,
    source: str = "math",
    domain: Any = "math",
    kind: str = "ok",
    flaw: str | None = None,
    why: str = "",
    expect_reject: str | None = None,
    test_cases: Any = None,
    starter_code: Any = None,
    raw: Any = None,
) -> dict[str, Any]:
    """A row and its manifest entry. `raw` replaces the whole record (a line that is not an object)."""
    assert kind in KINDS, kind
    assert flaw is None or flaw in FLAWS, flaw
    assert (kind == "malformed") == (expect_reject is not None), (kind, expect_reject)
    assert (kind == "wrong_answer") == (flaw is not None), (kind, flaw)
    record = raw if raw is not None else {
        "problem": problem,
        "deepseek_reasoning": reasoning,
        "deepseek_solution": solution,
        "ground_truth_solution": gold,
        "domain": domain,
        "source": source,
        "test_cases": test_cases,
        "starter_code": starter_code,
    }
    meta = {"kind": kind, "flaw": flaw, "why": why, "expect_reject": expect_reject}
    return {"record": record, "meta": meta}
