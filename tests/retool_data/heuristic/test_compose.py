"""Cutting a code block into the text: close the math at the cut, reopen it where the text resumes."""

from __future__ import annotations

from retool_data.heuristic.calculations import find_calculations
from retool_data.heuristic.compose import Placement, assemble, unbox
from retool_data.heuristic.mathspans import can_cut, math_spans, subject
from retool_data.trace import parse_trace, validate_trace


def placements(text: str) -> list[Placement]:
    return [Placement(c.kind, c.start, c.cut, c.resume, c.statement, "OUT") for c in find_calculations(text)]


def test_unbox_keeps_the_content():
    assert unbox("so $x = \\boxed{16}$ and \\boxed{\\frac{1}{2}}.") == "so $x = 16$ and \\frac{1}{2}."


def test_the_block_follows_its_expression_and_the_text_states_the_result_once():
    text = "We have that $r = \\sqrt{0^2 + 3^2} + 1024 - 243 = 784.$  Also, if we draw the line."
    trace = assemble(text, placements(text), "784")
    assert trace.startswith("We have that $r = \\sqrt{0^2 + 3^2} + 1024 - 243$\n<code>")
    assert "</interpreter>\nThis gives $r = 784.$  Also, if we draw the line." in trace
    assert "= 784" in trace and "243 = 784" not in trace  # the hand result is cited, not re-derived
    assert trace.endswith("<answer>\\boxed{784}</answer>") and validate_trace(trace) == []


def test_displays_and_align_environments_are_closed_and_reopened():
    text = "Hence\n\\begin{align*}\nL &= \\frac{3}{4} + \\frac{5}{6} \\\\\n&= \\frac{19}{12}.\n\\end{align*}\nDone."
    trace = assemble(text, placements(text), "\\frac{19}{12}")
    assert "L &= \\frac{3}{4} + \\frac{5}{6}\\end{align*}\n<code>" in trace
    assert "This gives \\begin{align*}L &= \\frac{19}{12}.\n\\end{align*}\nDone." in trace
    assert validate_trace(trace) == [] and len(parse_trace(trace).code_blocks) == 1


def test_equations_resume_at_the_stated_solution():
    text = "We have the equation 3x + 5 = 20.\nSubtracting 5 gives 3x = 15, so x = 5."
    trace = assemble(text, placements(text), "5")
    assert "3x = 15" not in trace  # the algebra the block replaced
    assert "We have the equation 3x + 5 = 20\n<code>" in trace and "</interpreter>\nSo x = 5." in trace


def test_where_a_block_may_go():
    text = "$\\begin{pmatrix} 1 + 2 = 3 \\end{pmatrix}$ and $\\frac{1 + 2}{3}$"
    spans = math_spans(text)
    assert not can_cut(text, spans, text.index(" = 3"))  # inside a matrix
    assert not can_cut(text, spans, text.index("}{3}"))  # inside a brace group
    assert can_cut("so $1 + 2 = 3$", math_spans("so $1 + 2 = 3$"), 9)
    plain = "So x = 12 \\times 17 = 204"
    assert subject(plain, math_spans(plain), plain.index("12")) == "x = "
