"""extract_answer / normalize_answer / is_equivalent on hard, real-looking cases, true and false."""

from __future__ import annotations

import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retool_data.answer_forms import reference_form, strip_units
from retool_data.answers import (
    AnswerChecker,
    are_equivalent,
    extract_answer,
    find_boxed,
    is_equivalent,
    normalize_answer,
)


@pytest.fixture(scope="module")
def checker():
    with AnswerChecker(workers=2) as shared:
        yield shared


# ------------------------------------------------------------------------------------------- extraction

R1_SOLUTION = r"""<think>
Let me set $s$ and $t$. From $\frac{9}{s} + \frac{t}{60} = 4$ and $\frac{9}{s+2} + \frac{t}{60} = 2.4$ ...
Maybe the answer is \boxed{3.4}? No wait, that's hours; the question wants minutes.
</think>
Subtracting, $\frac{9}{s} - \frac{9}{s+2} = 1.6$, so $s = 2.5$ and $t = 24$.
At $s + \frac12 = 3$ km/h the walk takes $3$ hours, i.e. $180$ minutes, plus $24$:

**Final Answer**
\[
\boxed{204}
\]"""

EXTRACTION_CASES = [
    (R1_SOLUTION, "204"),  # several boxes: the last one wins
    (r"so $x = \boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),  # nested braces
    (r"\boxed{\dfrac{\sqrt{3}}{2}}", r"\dfrac{\sqrt{3}}{2}"),
    (r"The set is $\boxed{\{1, 2\}}$", r"\{1, 2\}"),  # escaped braces do not count
    (r"\boxed{\left\{ x \mid x > 0 \right\}}", r"\left\{ x \mid x > 0 \right\}"),
    (r"\boxed{\begin{pmatrix} 1 \\ 2 \end{pmatrix}}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"),
    (r"\boxed{a \\{b}}", r"a \\{b}"),  # "\\" is a line break, the "{" after it opens a group
    (r"The answer is $\boxed 5$.", "5"),  # no braces
    (r"hence \boxed 42.", "42"),
    (r"\boxed {7}", "7"),
    (r"\fbox{3}", "3"),
    (r"$\frac{9}{3} + 0.4 = 3.4$ hours, or $\framebox{204}$ minutes", "204"),
    (r"\framebox[2cm][c]{17}", "17"),
    (r"\boxed{\boxed{5}}", "5"),
    (r"\boxed{x = \boxed{5}}", r"x = \boxed{5}"),  # only a box spanning the whole answer is unwrapped
    (r"first \boxed{2}, then \boxed{-3}", "-3"),
    (r"$CE = \boxed{104.}$", "104."),
    (r"so $d = \boxed{\textbf{(073)}}.$", r"\textbf{(073)}"),
    ("<answer>42</answer>", "42"),
    (r"<answer>\boxed{7}</answer>", "7"),
    (r"reasoning \boxed{6} <answer>\boxed{7}</answer>", "7"),
    ("<answer> 1, 2 </answer> then <answer>3</answer>", "3"),
    ("<answer>5 cut off", "5 cut off"),  # unclosed final tag: its content runs to the end
    (r"\boxed{\frac{1}{2}", None),  # truncated inside the final answer: no final answer
    (r"\boxed{3} ... so the answer is \boxed{\frac{1}{2}", None),  # the earlier box was superseded
    (r"\boxed{3 and later \boxed{4}", "4"),  # an unclosed box followed by a complete one
    (r"Put the answer in \boxed{}.", None),
    (r"\boxed", None),
    (r"\boxedfoo{3}", None),  # a different command
    ("The answer is 12.", None),  # no marker: no guessing from prose
    ("", None),
    (None, None),
    (12, None),
]


@pytest.mark.parametrize(("text", "expected"), EXTRACTION_CASES)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extract_answer_ignores_boxes_printed_by_code_before_the_answer():
    trace = (
        "<code>\n```python\nprint('\\\\boxed{' + str(6 * 7) + '}')\n```\n</code>\n"
        "<interpreter>\n\\boxed{42}\n</interpreter>\n"
        "So the answer is <answer>\\boxed{42}</answer>"
    )
    assert extract_answer(trace) == "42"


def test_find_boxed_lists_top_level_boxes_in_order():
    assert find_boxed(r"\boxed{1} x \fbox{2} \boxed{\boxed{3}} \boxed 4 \boxed{5") == [
        "1",
        "2",
        r"\boxed{3}",
        "4",
    ]
    assert find_boxed(None) == []


_atoms = st.text(alphabet="ab01+-=^_ ,.()[]|x", max_size=6) | st.sampled_from([r"\frac", r"\{", r"\}", r"\\"])
_balanced = st.recursive(
    _atoms, lambda inner: st.lists(inner, max_size=3).map(lambda xs: "{" + "".join(xs) + "}")
)


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(alphabet="abc $.\n", max_size=20), body=st.lists(_balanced, max_size=4).map("".join))
def test_extract_answer_returns_any_balanced_box_content(prefix, body):
    got = extract_answer(f"{prefix}\\boxed{{{body}}} and that is all.")
    assert got == (body.strip() or None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("\\{}[] boxedfmra<>/nsw$5")), max_size=80))
def test_extract_answer_never_raises_on_junk(text):
    got = extract_answer(text)
    assert got is None or (isinstance(got, str) and got)


# ---------------------------------------------------------------------------------------- normalization


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (r"$\dfrac{1}{2}$", r"\frac{1}{2}"),
        (r"\boxed{\left( 1, 2 \right]}", "(1,2]"),
        (r"30^{\circ}", "30"),
        ("30°", "30"),
        (r"1{,}000{,}000", "1000000"),
        ("1,234,567.5", "1234567.5"),
        (r"12\,345", "12345"),
        (r"5 \text{ cm}", "5cm"),
        (r"\textbf{(073)}", "073"),
        ("−3", "-3"),
        ("104.", "104"),
        (r"50\%", "50%"),
        ("{{7}}", "7"),
        ("1,2", "1,2"),  # not a thousands separator: stays a pair
        ("1, 234", "1,234"),  # a list of two numbers, not 1234
        (None, ""),
        (7, "7"),
    ],
)
def test_normalize_answer(raw, canonical):
    assert normalize_answer(raw) == canonical


# ------------------------------------------------------------------------------------------ equivalence

T, F = True, False
# fmt: off
HARD_CASES = {
    "fraction_vs_decimal": [(r"\frac{1}{2}", "0.5", T), ("1/2", r"\frac12", T), (r"\frac{1}{3}", "0.333333", T),
                            (r"\frac{1}{3}", "0.33", F), (r"\frac{2}{3}", r"\frac{3}{2}", F), ("0.25", "1/5", F)],
    "dfrac": [(r"\dfrac{3}{4}", r"\frac{3}{4}", T), ("0.25", r"\dfrac{1}{4}", T), (r"\tfrac{3}{4}", "0.75", T),
              (r"\dfrac{3}{4}", "0.7", F), (r"\dfrac{1}{4}", r"\dfrac{1}{5}", F)],
    "sqrt": [(r"2\sqrt{2}", r"\sqrt{8}", T), (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", T),
             (r"\sqrt2", r"\sqrt{2}", T), (r"3\sqrt{3}", r"\sqrt{27}", T), (r"\sqrt{3}", r"\sqrt{2}", F),
             (r"\frac{\sqrt{3}}{2}", "0.866", F), (r"2\sqrt{2}", r"\sqrt{6}", F)],
    "interval": [("(1,2]", "(1, 2]", T), (r"[0,\infty)", r"[0, \infty)", T), (r"x \in (1,2)", "(1,2)", T),
                 (r"\left[ -1, 3 \right)", "[-1,3)", T), ("(1,2]", "[1,2]", F), (r"(-\infty, 3)", r"(-\infty,3]", F),
                 ("(0,1)", "(0,2)", F)],
    "set": [(r"\{1,2,3\}", r"\{3,2,1\}", T), ("1, 2, 3", "3, 2, 1", T), (r"\{-1, 1\}", r"\{1,-1\}", T),
            (r"\{1,2\}", r"\{1,2,3\}", F), (r"\{1, 2\}", r"\{1,3\}", F)],
    "units_and_text": [("5", r"5 \text{ cm}", T), (r"5\text{ cm}", "5", T), ("12", r"12\ \mathrm{m}", T),
                       ("6.5", r"6.5 \mathrm{~m}", T), ("20", r"20 \text{ dollars}", T), ("7", "7 apples", T),
                       ("12", r"13 \text{ meters}", F), ("7", "8 apples", F), ("5", r"50 \text{ cm}", F)],
    "text": [(r"\text{(A)}", "(A)", T), (r"\text{yes}", "yes", T), (r"\textbf{(113)}", "113", T),
             (r"\text{(A)}", r"\text{(B)}", F), (r"\text{yes}", r"\text{no}", F)],
    "percent": [(r"50\%", "50", T), (r"50\%", "0.5", T), (r"50\%", "50%", T), (r"12.5\%", "12.5", T),
                (r"12.5\%", "0.125", T), (r"25\%", "50", F), (r"25\%", "0.5", F)],
    "negative": [("-3", "−3", T), (r"-\frac{1}{2}", "-0.5", T), ("-7", "- 7", T), ("-3", "3", F),
                 (r"-\frac{1}{2}", "0.5", F), ("1", "-1", F)],
    "degrees": [(r"30^\circ", "30", T), (r"30^{\circ}", "30°", T), ("45", r"45^\circ", T), ("90°", "90", T),
                (r"30^\circ", r"60^\circ", F), ("45", "45.5°", F)],
    "thousands": [("1234", "1,234", T), ("1000000", r"1{,}000{,}000", T), ("12345", r"12\,345", T),
                  ("1234567", "1,234,567", T), ("1234", "1,235", F), ("1000", "1,000,000", F), ("12", "1,2", F),
                  ("1234", "1, 234", F)],
    "boxed_answers": [(r"\frac{1}{2}", r"\boxed{\frac{1}{2}}", T), ("5", r"$\boxed{5}$", T), ("025", "25", T),
                      ("104", "104.", T), ("073", r"\textbf{(073)}", T), ("5", r"\boxed{6}", F)],
    "expressions": [(r"x^2+2x+1", r"(x+1)^2", T), (r"2\pi", r"2 \pi", T), ("x=5", "5", T), ("5", "x=5", T),
                    (r"x^2+1", r"(x+1)^2", F), (r"\pi", "3.14", F), ("(1,2)", "(2,1)", F), ("10", "100", F)],
}
# fmt: on
HARD_PARAMS = [
    pytest.param(*case, id=f"{name}-{i}")
    for name, cases in HARD_CASES.items()
    for i, case in enumerate(cases)
]


@pytest.mark.parametrize(("gold", "pred", "expected"), HARD_PARAMS)
def test_hard_cases(checker, gold, pred, expected):
    assert checker.is_equivalent(pred, gold) is expected


def test_every_hard_category_has_true_and_false_cases():
    for name, cases in HARD_CASES.items():
        assert {T, F} == {expected for _, _, expected in cases}, name


def test_batch_matches_single_calls_and_module_api(checker):
    golds = [g for g, _, _ in (p.values for p in HARD_PARAMS)]
    preds = [p for _, p, _ in (p.values for p in HARD_PARAMS)]
    expected = [e for _, _, e in (p.values for p in HARD_PARAMS)]
    assert checker.are_equivalent(preds, golds) == expected
    assert are_equivalent(preds, golds) == expected
    assert is_equivalent("0.5", r"\frac{1}{2}") and not is_equivalent("0.5", r"\frac{1}{3}")


# fmt: off
DISTINCT = ["0", "1", "-1", "2", "100", r"\frac{1}{3}", "0.3", r"\sqrt{2}", r"\sqrt{3}", r"\pi", "e", "x+1",
            "x-1", "x^2", "(1,2)", "[1,2]", r"\{1,3\}", "(1,2]", r"\infty", r"\text{yes}", r"\text{no}", "(A)"]
# fmt: on


def test_no_false_positives_between_clearly_different_answers(checker):
    pairs = list(itertools.product(DISTINCT, repeat=2))
    verdicts = checker.are_equivalent([p for p, _ in pairs], [g for _, g in pairs])
    wrong = [(p, g) for (p, g), ok in zip(pairs, verdicts, strict=True) if ok != (p == g)]
    assert wrong == []


# fmt: off
JUNK = [None, "", "   ", "$$", "\\", "}{", r"\frac{", r"\boxed{", "\x00\x01", "🙂", "nan", "inf", "1/0", r"\frac{1}{0}",
        "1e99999999", "9" * 5000, "{" * 3000, r"\text{" * 500, "a" * 100_000, b"5", [5], {"a": 1}, True, object()]
# fmt: on


@pytest.mark.parametrize("junk", JUNK)
def test_never_raises_on_junk(checker, junk):
    assert checker.is_equivalent(junk, "5") is False
    assert checker.is_equivalent("5", junk) is False


def test_numbers_and_non_string_scalars(checker):
    assert checker.is_equivalent(5, "5") and checker.is_equivalent("0.5", 0.5)
    assert not checker.is_equivalent(None, None) and not checker.is_equivalent("", "")
    with pytest.raises(ValueError, match="2 predictions but 1 gold"):
        checker.are_equivalent(["1", "2"], ["1"])


@settings(max_examples=300, deadline=None)
@given(
    a=st.fractions(-(10**6), 10**6, max_denominator=64), b=st.fractions(-(10**6), 10**6, max_denominator=64)
)
def test_plain_numbers_are_equal_exactly_when_their_values_are(checker, a, b):
    assert checker.is_equivalent(f"{a}", f"{b}") == (a == b)
    if 10**6 % a.denominator == 0:  # a terminating decimal: its exact spelling equals the fraction
        decimal = format(Decimal(a.numerator) / Decimal(a.denominator), "f")
        frac = rf"\frac{{{abs(a.numerator)}}}{{{a.denominator}}}"
        assert checker.is_equivalent(decimal, ("-" if a < 0 else "") + frac)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=-(10**12), max_value=10**12))
def test_thousands_separators_and_signs(checker, n):
    assert checker.is_equivalent(f"{n:,}", str(n))
    assert checker.is_equivalent(f"{n:,}".replace(",", "{,}"), str(n))
    assert checker.is_equivalent(str(n + 1), str(n)) is False
    assert Fraction(normalize_answer(f"{n:,}")) == n


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("x > 4", "(4,\\infty)", True),  # math-verify alone only matches this with the inequality as gold
        ("(4,\\infty)", "x > 4", True),
        ("x \\geq 1", "[1,\\infty)", True),
        ("-2 < x < 3", "(-2,3)", True),
        ("3 > x \\ge -2", "[-2, 3)", True),
        ("4 < x", "(4, \\infty)", True),
        ("x \\le \\frac{1}{2}", "(-\\infty, \\frac12]", True),
        ("x > 4", "[4,\\infty)", False),  # the endpoint's bracket matters
        ("x > 5", "(4,\\infty)", False),
        ("x < 4", "(4,\\infty)", False),
    ],
)
def test_one_variable_inequalities_compare_as_intervals(pred: str, gold: str, expected: bool) -> None:
    assert is_equivalent(pred, gold) is expected


@pytest.mark.parametrize(
    ("raw", "reference"),
    [
        ("100\\text{ square units}", "100"),
        ("18 \\text{cm}^2", "18"),
        ("12 inches", "12"),
        ("10{,}000", "10000"),
        ("50,625", "50625"),
        ("1,000,000", "1000000"),
        ("4:30 \\text{ p.m.}", "4:30 p.m."),
        ("\\boxed{7}", "7"),
        ("$\\frac{3}{4}$", "\\frac{3}{4}"),
        ("1, 2", "1, 2"),  # a list, not a number with a separator
        ("\\text{Alice wins}", "\\text{Alice wins}"),  # no value before the words
        ("x = 5 \\text{ or } x = 7", "x = 5 \\text{ or } x = 7"),  # text inside, not a trailing unit
    ],
)
def test_reference_form_drops_units_and_digit_groups(raw, reference):
    assert reference_form(raw) == reference
    assert strip_units("4:30 \\text{ a.m.}") == "4:30 \\text{ a.m.}"  # a.m./p.m. is part of the value
