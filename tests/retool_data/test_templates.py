"""PromptTemplate: placeholders, missing fields, and values that quote a placeholder."""

import pytest

from retool_data.templates import CURATION_TEMPLATE, RL_TEMPLATE, PromptTemplate


def test_fields_are_the_placeholders_of_the_text() -> None:
    t = PromptTemplate("t", "1", "Q: {question}\nR: {original_response}\nbox: \\boxed{'x'} and {}")
    assert t.fields == ["original_response", "question"]
    assert set(CURATION_TEMPLATE.fields) == {"question", "original_response"}
    assert RL_TEMPLATE.fields == ["question"]


def test_missing_field_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="question"):
        CURATION_TEMPLATE.format(original_response="r")


def test_a_value_that_quotes_a_placeholder_is_inserted_verbatim() -> None:
    t = PromptTemplate("t", "1", "Q: {question}\nR: {original_response}")
    out = t.format(question="Why does {original_response} appear here?", original_response="{question} 42")
    assert out == "Q: Why does {original_response} appear here?\nR: {question} 42"


def test_the_rewrite_template_shows_code_that_does_the_work() -> None:
    """Version 2 carries rules and worked examples; the examples themselves meet the scorer's bar."""
    from retool_data.trace_quality import score_trace

    assert CURATION_TEMPLATE.id == "retool-coldstart@2"
    prompt = CURATION_TEMPLATE.format(question="Q?", original_response="R.")
    assert "never redo its calculation by hand" in prompt and "substitute the answer back" in prompt
    examples = prompt[prompt.index("Example 1.") : prompt.index("Revised Thinking Process")].split(
        "Example "
    )[1:]
    assert len(examples) == 2
    for example in examples:
        revised = example[example.index("Revised:") + len("Revised:") :]
        score = score_trace(revised)
        assert score.blocks and score.tool_use_score == 1.0 and score.boxed_answers == 1
        assert not score.opens_with_code
