"""Canonical math tokens: spellings of one statement agree, different numbers or operators do not."""

from __future__ import annotations

import pytest

from retool_data.mathtext import canonical_text, math_tokens, ngrams


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (r"Find $s+\frac{1}{2}$.", r"find s + \frac12"),
        (r"$\dfrac{m}{n}$", r"\tfrac mn"),
        (r"$x \le 1{,}000$", r"x\leq 1000"),
        (r"$\left( a+b \right)^{2}$", r"(a+b)^2"),
        (r"$\sqrt2\,\cdot\;3$", r"\sqrt{2} \cdot 3"),
        (r"the $\text{area}$ is $5\ \mathrm{cm}$", "The area is 5 cm."),
        ("A  B\n\tC?", "a b c"),
        (r"\binom{8}{4}", r"\dbinom84"),
    ],
)
def test_spellings_of_the_same_statement_agree(a: str, b: str) -> None:
    assert canonical_text(a) == canonical_text(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x = 12", "x = 1 2"),
        ("x = 0.3", "x = 0.30"),
        (r"\frac{1}{2}", r"\frac{2}{1}"),
        ("a+b", "a-b"),
        ("12", "13"),
    ],
)
def test_different_statements_stay_different(a: str, b: str) -> None:
    assert canonical_text(a) != canonical_text(b)


def test_tokens_and_ngrams() -> None:
    assert math_tokens(r"Let $f(x)=x^2$.") == ["let", "f", "(", "x", ")", "=", "x", "^", "2"]
    assert ngrams(["a", "b", "c"], 2) == {("a", "b"), ("b", "c")}
    assert ngrams(["a"], 3) == {("a",)} and ngrams([], 3) == set()
