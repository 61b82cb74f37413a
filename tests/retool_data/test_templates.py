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
