"""Unicode folding for problem identity (issue 15, item 12): confusables, invisible and bidi characters."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from retool_data.schema import normalize_problem, problem_id
from retool_data.stages.dedup import dedup
from retool_data.textnorm import fold_confusables, identity_text, strip_invisible
from tests.retool_data.frames import frame, row, simple_trace

PROBLEM = "Find the sum of all positive integers n such that n^2 + 3n + 2 is a perfect square."
# Cyrillic а е о р с х у і and Greek ο ν in place of their Latin look-alikes
CYRILLIC = str.maketrans({"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441",
                          "x": "\u0445", "y": "\u0443", "i": "\u0456"})  # fmt: skip
GREEK = str.maketrans({"o": "\u03bf", "v": "\u03bd"})
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\ufe0f", "\U000e0041"]
BIDI = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
]


def old_normalize(text: str) -> str:
    """The normalization problem ids used before this change (NFKC, lowercase, `$`, whitespace)."""
    t = unicodedata.normalize("NFKC", text or "").lower().replace("$", "")
    return re.sub(r"\s+", " ", t).strip()


def sprinkle(text: str, chars: list[str]) -> str:
    return "".join(ch + chars[i % len(chars)] if ch == " " else ch for i, ch in enumerate(text))


def test_cyrillic_and_greek_lookalikes_fold_to_the_latin_problem():
    assert PROBLEM.translate(CYRILLIC) != PROBLEM
    assert problem_id(PROBLEM.translate(CYRILLIC)) == problem_id(PROBLEM)
    assert problem_id(PROBLEM.translate(GREEK)) == problem_id(PROBLEM)
    assert problem_id(PROBLEM.upper().translate(CYRILLIC)) == problem_id(PROBLEM)  # capitals too


def test_zero_width_format_and_bidi_controls_are_removed():
    assert problem_id(sprinkle(PROBLEM, INVISIBLE)) == problem_id(PROBLEM)
    assert problem_id(sprinkle(PROBLEM, BIDI)) == problem_id(PROBLEM)
    assert strip_invisible("a\u200bb\u202ec\ufe0f") == "abc"


def test_fullwidth_and_math_alphanumerics_fold_by_nfkc_and_skeletons():
    assert fold_confusables("\uff26ind \U0001d431") == "Find x"  # fullwidth F, bold x
    assert fold_confusables("2 \u00d7 3 \u2212 1") == "2 x 3 - 1"  # multiplication sign, minus sign


def test_ascii_text_is_untouched_so_existing_ids_stay():
    for text in [PROBLEM, "If $x = 10$, find m.", "Let l1 and I0 be lines; |x| = 0."]:
        assert identity_text(text) == old_normalize(text)
        assert problem_id(text) == hashlib.sha256(old_normalize(text).encode()).hexdigest()[:16]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_ascii_identity_equals_the_old_normalization(text):
    assert identity_text(text) == old_normalize(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40))
def test_identity_never_fails_and_is_idempotent(text):
    once = identity_text(text)
    problem_id(text)  # lone surrogates included: hashing never raises
    assert identity_text(once) == once


def test_genuinely_different_problems_stay_different():
    assert problem_id("Find x if 2x = 10.") != problem_id("Find x if 2x = 12.")
    assert problem_id("Compute \u03c0 r^2 for r = 2.") != problem_id("Compute n r^2 for r = 2.")  # π is not n
    assert normalize_problem("\u0410\u0411") != normalize_problem("AB")  # Б has no Latin look-alike


def test_dedup_catches_confusable_copies_exactly_and_nearly():
    spoofed = sprinkle(PROBLEM.translate(CYRILLIC), ["\u200b", "\u202e"])
    reworded = PROBLEM.replace("Find", "Determine").translate(CYRILLIC)
    df = frame(
        [
            row(PROBLEM, simple_trace("3", "3"), "3", source_id="a"),
            row(spoofed, simple_trace("3", "3"), "3", source_id="b"),
            row(reworded, simple_trace("3", "3"), "3", source_id="c"),
        ]
    )
    result = dedup(df)
    result.check_invariant(df.height)
    assert result.kept.height == 1
    assert sorted(result.rejected["reason"].to_list()) == ["duplicate_exact", "duplicate_near"]
