"""Format, tool-use, length and answer rules: each rule's exact reason string, and None switching it off."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from retool_data.stages.filters import DEFAULT_FATAL_CODES, STAGE, TraceFilter, filter_traces
from retool_data.tokens import count_regex_tokens, make_token_counter
from tests.retool_data.frames import frame, row, simple_trace, trace

GOOD = trace(("text", "Multiply."), ("code", "print(12 * 7)"), ("out", "84"), ("text", "So 84."), answer="84")


def reasons(result) -> dict[str, str]:  # noqa: ANN001 - StageResult
    return dict(zip(result.rejected["id"].to_list(), result.rejected["reason"].to_list(), strict=True))


def one(trace_text: str | None, gold: str | None = "84", **thresholds) -> str | None:  # noqa: ANN003
    result = filter_traces(frame([row("What is 12 times 7?", trace_text, gold)]), **thresholds)
    result.check_invariant(1)
    return result.rejected["reason"][0] if result.rejected.height else None


def test_a_good_trace_is_kept_with_its_added_columns() -> None:
    result = filter_traces(frame([row("What is 12 times 7?", GOOD, "84")]))
    assert result.rejected.height == 0
    kept = result.kept.row(0, named=True)
    assert kept["num_code_blocks"] == 1 and kept["final_answer"] == "84"
    assert kept["answer_verdict"] == "equivalent" and kept["format_warnings"] == []
    assert kept["trace_tokens"] == count_regex_tokens(GOOD)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "missing_trace"),
        ("   ", "missing_trace"),
        ("Hmm.\n<code>\n```python\nprint(1)\n```\n</code>\n<interpreter>\n1\n", "format_unbalanced_tags"),
        (
            "x\n<code>\n```python\nprint(1)\n```\n</code>\nso\n<answer>\\boxed{84}</answer>",
            "format_code_without_interpreter",
        ),
        (
            "x\n<code>\nprint(84)\n</code>\n<interpreter>\n84\n</interpreter>\n<answer>\\boxed{84}</answer>",
            "format_missing_fence",
        ),
        (GOOD.replace("<answer>\\boxed{84}</answer>", "so \\boxed{84}"), "format_answer_not_in_tags"),
        (GOOD + "\n<answer>\\boxed{84}</answer>", "format_multiple_answers"),
        ("Just thinking. <answer>\\boxed{84}</answer>", "too_few_code_blocks"),
    ],
)
def test_each_rule_has_its_reason(text: str | None, reason: str) -> None:
    assert one(text) == reason


def test_fatal_codes_are_configurable() -> None:
    not_in_tags = GOOD.replace("<answer>\\boxed{84}</answer>", "so \\boxed{84}")
    assert one(not_in_tags, fatal_codes=DEFAULT_FATAL_CODES - {"answer_not_in_tags"}) is None
    trailing = GOOD + "\nHope this helps!"
    assert one(trailing) is None  # text_after_answer is tolerated by default ...
    assert one(trailing, fatal_codes={"text_after_answer"}) == "format_text_after_answer"
    unfenced = "x <code>print(1)</code> <answer>\\boxed{84}</answer>"
    assert one(unfenced, fatal_codes=None, min_code_blocks=None) is None
    with pytest.raises(ValueError, match="unknown trace problem codes"):
        TraceFilter(fatal_codes={"no_such_code"})


def test_non_fatal_problems_are_kept_as_warnings() -> None:
    result = filter_traces(frame([row("q", GOOD + "\nHope this helps!", "84")]))
    assert result.kept["format_warnings"].to_list() == [["text_after_answer"]]


def test_code_block_limits() -> None:
    three = trace(*[p for i in range(3) for p in (("code", f"print({i})"), ("out", str(i)))], answer="84")
    assert one(three, max_code_blocks=2) == "too_many_code_blocks"
    assert one(three, min_code_blocks=4) == "too_few_code_blocks"
    assert one(three, max_code_blocks=None, min_code_blocks=3) is None
    assert one("No code. <answer>\\boxed{84}</answer>", min_code_blocks=None) is None


def test_token_limits_with_default_and_custom_tokenizers() -> None:
    n = count_regex_tokens(GOOD)
    assert one(GOOD, max_tokens=n - 1) == "too_long"
    assert one(GOOD, max_tokens=n) is None
    assert one(GOOD, min_tokens=n + 1) == "too_short"
    assert one(GOOD, max_tokens=None, min_tokens=None) is None
    assert one(GOOD, max_tokens=10, tokenizer=lambda text: 3) is None  # any callable str -> int
    with pytest.raises(ValueError, match="unknown tokenizer"):
        make_token_counter("sentencepiece")


def test_hf_tokenizer_from_a_local_directory(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted(set(GOOD.replace("\n", " ").split()))
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path)
    count = make_token_counter(f"hf:{tmp_path}")
    assert count(GOOD) == len(GOOD.split())
    assert one(GOOD, tokenizer=f"hf:{tmp_path}", max_tokens=len(GOOD.split()) - 1) == "too_long"


def test_answer_rule() -> None:
    assert one(GOOD, gold="84") is None
    assert one(GOOD, gold="85") == "answer_mismatch"
    assert one(GOOD, gold="84.0") is None  # equivalent, not equal
    verified_teacher = frame([row("q", GOOD, None, teacher_answer="84", verify_verdict="correct")])
    assert filter_traces(verified_teacher).kept.height == 1  # no gold: the verified teacher answer is the reference
    no_box = trace(("code", "print(84)"), ("out", "84")) + "\n<answer>84</answer>"
    assert one(no_box, fatal_codes=None) is None  # <answer> content counts as the final answer
    assert one(GOOD, gold="85", check_answer=False) is None


def test_no_reference_answer_when_gold_missing_and_teacher_unverified() -> None:
    df = frame([row("q", GOOD, None, teacher_answer="84", verify_verdict="undecided")])
    assert filter_traces(df).rejected["reason"].to_list() == ["no_reference_answer"]
    df = frame([row("q", GOOD, None, teacher_answer=None)])
    assert filter_traces(df).rejected["reason"].to_list() == ["no_reference_answer"]


def test_frame_stage_keeps_order_and_accounts_for_every_row() -> None:
    rows = [
        row("p0", GOOD, "84"),
        row("p1", None, "84"),
        row("p2", GOOD, "85"),
        row("p3", simple_trace("2+2", "4"), "4"),
        row("p4", "Nothing. <answer>\\boxed{84}</answer>", "84"),
    ]
    df = frame(rows)
    result = filter_traces(df)
    result.check_invariant(df.height)
    assert result.kept["problem"].to_list() == ["p0", "p3"]
    assert sorted(result.rejected["reason"].to_list()) == [
        "answer_mismatch",
        "missing_trace",
        "too_few_code_blocks",
    ]
    assert set(result.rejected["stage"]) == {STAGE}
    assert result.stats == {"rows_in": 5, "kept": 2, "rejected": 3}
    empty = filter_traces(df.clear())
    assert empty.kept.height == 0 and "answer_verdict" in empty.kept.columns
    assert isinstance(empty.kept, pl.DataFrame)
