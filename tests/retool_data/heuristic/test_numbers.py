"""Numbers as text states them and as an interpreter prints them, compared at the text's precision."""

from __future__ import annotations

from fractions import Fraction

from retool_data.heuristic.numbers import Printed, agrees, near, printed_numbers, stated_numbers


def one(text: str):
    found = stated_numbers(text)
    assert len(found) == 1, found
    return found[0]


def test_each_spelling_states_a_value_and_a_precision():
    assert one("so 84 apples").value == 84 and one("so 84 apples").exact
    assert one("about 10{,}000").value == 10000 and one("it is 50,625").value == 50625
    seven = one("it is 7.6")
    assert seven.value == Fraction(76, 10) and seven.tolerance == Fraction(
        1, 20
    )  # half a unit, not a whole one
    assert one("$8.\\overline{4}$").value == Fraction(76, 9) and one("$8.\\overline{4}$").exact
    assert one("so \\frac{19}{12}").value == Fraction(19, 12)
    assert one("L = 4.5 \\times 10^{33}").value == Fraction(45, 10) * 10**33
    assert one("\\approx 3").tolerance == Fraction(1, 2)  # an approximated integer: good to half a unit
    assert [
        s.value for s in stated_numbers("x^{2} + a_1")
    ] == []  # exponents and indices are not stated values


def test_printed_numbers_are_exactly_what_was_printed():
    assert [p.value for p in printed_numbers("2.9999999999999996\n")] == [Fraction("2.9999999999999996")]
    assert [p.value for p in printed_numbers("[2, 3] 5")] == [2, 3, 5]
    assert [p.value for p in printed_numbers("19/12")] == [Fraction(19, 12)]
    root = printed_numbers("sqrt(2)/2")
    assert len(root) == 1 and abs(root[0].value - 2**0.5 / 2) < 1e-12 and root[0].decimal
    assert printed_numbers("x**2 - x - 6") == [Printed(Fraction(6), False)]


def test_the_issues_contradictions_disagree_at_the_texts_precision():
    cases = [
        ("8.4444", "which is $8.\\overline{4}$"),  # a repeating decimal read as a truncated one
        ("7.54", "so about 7.6"),  # outside half a unit of the last place
        ("2.9999999999999996", "which is 3"),  # a float artifact beside an exact integer
    ]
    for out, text in cases:
        p, s = printed_numbers(out)[0], stated_numbers(text)[0]
        assert near(p, s) and not agrees(p, s), (out, text)
    for out, text in [
        ("8.444444444444445", "about 8.44"),
        ("7.6", "so 7.6"),
        ("3.0", "which is 3"),
        ("76/9", "$8.\\overline{4}$"),
    ]:
        p, s = printed_numbers(out)[0], stated_numbers(text)[0]
        assert agrees(p, s), (out, text)


def test_an_exact_print_is_never_read_as_a_nearby_integer():
    assert not near(printed_numbers("2/3")[0], stated_numbers("one of 1")[0])
    assert not near(printed_numbers("100")[0], stated_numbers("the 99 numbers")[0])
