"""Real-looking traces for the parser tests: (name, text, expected) triples.

`expected` lists what the parser must find: the code blocks, the interpreter outputs paired per call
(None = no output), the final answer, and the exact set of `validate_trace` problem codes.
"""

from __future__ import annotations

from dataclasses import dataclass

FENCE = "```"


def code(body: str, lang: str = "python") -> str:
    return f"<code>\n{FENCE}{lang}\n{body}\n{FENCE}\n</code>"


def interp(out: str) -> str:
    return f"<interpreter>\n{out}\n</interpreter>"


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    codes: list[str]
    outputs: list[str | None]
    answer: str | None
    problems: set[str]


CASES: list[Case] = [
    Case(
        "canonical_single_call",
        "Let me compute the product.\n" + code("print(12 * 7)") + "\n" + interp("84") + "\nSo the answer is 84.\n"
        "<answer>\\boxed{84}</answer>",
        ["print(12 * 7)"], ["84"], "84", set(),
    ),
    Case(
        "two_calls_with_state",
        "First define x.\n" + code("x = 3**4\nprint(x)") + "\n" + interp("81") + "\nNow x + 19:\n"
        + code("print(x + 19)") + "\n" + interp("100") + "\n<answer>\\boxed{100}</answer>",
        ["x = 3**4\nprint(x)", "print(x + 19)"], ["81", "100"], "100", set(),
    ),
    Case(
        "nested_frac_answer",
        "The probability is one half.\n" + code("from fractions import Fraction\nprint(Fraction(3, 6))") + "\n"
        + interp("1/2") + "\n<answer>\\boxed{\\frac{1}{2}}</answer>",
        ["from fractions import Fraction\nprint(Fraction(3, 6))"], ["1/2"], "\\frac{1}{2}", set(),
    ),
    Case(
        "deeply_nested_braces",
        "Simplify.\n" + code("import sympy as sp\nprint(sp.sqrt(8))") + "\n" + interp("2*sqrt(2)")
        + "\n<answer>\\boxed{\\frac{\\sqrt{2}}{\\sqrt{3}+{1}}}</answer>",
        ["import sympy as sp\nprint(sp.sqrt(8))"], ["2*sqrt(2)"], "\\frac{\\sqrt{2}}{\\sqrt{3}+{1}}", set(),
    ),
    Case(
        "missing_python_tag",
        "Bare fence.\n<code>\n```\nprint(2**10)\n```\n</code>\n" + interp("1024") + "\n<answer>\\boxed{1024}</answer>",
        ["print(2**10)"], ["1024"], "1024", set(),
    ),
    Case(
        "py_tag",
        "Short tag.\n<code>\n```py\nprint(5)\n```\n</code>\n" + interp("5") + "\n<answer>\\boxed{5}</answer>",
        ["print(5)"], ["5"], "5", set(),
    ),
    Case(
        "no_fences_at_all",
        "No fences.\n<code>\nprint(7 * 6)\n</code>\n" + interp("42") + "\n<answer>\\boxed{42}</answer>",
        ["print(7 * 6)"], ["42"], "42", {"missing_fence"},
    ),
    Case(
        "unclosed_final_code_block",
        "I will check numerically.\n<code>\n```python\nimport math\nprint(math.factorial(10)",
        ["import math\nprint(math.factorial(10)"], [None], None,
        {"unbalanced_tags", "code_without_interpreter", "no_answer"},
    ),
    Case(
        "unclosed_fence_but_closed_tag",
        "Oops.\n<code>\n```python\nprint(3)\n</code>\n" + interp("3") + "\n<answer>\\boxed{3}</answer>",
        ["print(3)"], ["3"], "3", set(),
    ),
    Case(
        "several_boxed_last_wins",
        "First guess \\boxed{12}, but that is wrong.\n" + code("print(13)") + "\n" + interp("13")
        + "\nSo it is \\boxed{13}.",
        ["print(13)"], ["13"], "13", {"answer_not_in_tags"},
    ),
    Case(
        "boxed_only_in_answer_tag_after_text_boxed",
        "Earlier I wrote \\boxed{7}.\n" + code("print(8)") + "\n" + interp("8") + "\n<answer>\\boxed{8}</answer>",
        ["print(8)"], ["8"], "8", set(),
    ),
    Case(
        "no_answer_at_all",
        "Reasoning only.\n" + code("print(1+1)") + "\n" + interp("2") + "\nI am not sure.",
        ["print(1+1)"], ["2"], None, {"no_answer"},
    ),
    Case(
        "text_after_answer",
        code("print(9)") + "\n" + interp("9") + "\n<answer>\\boxed{9}</answer>\nHope this helps!",
        ["print(9)"], ["9"], "9", {"text_after_answer"},
    ),
    Case(
        "whitespace_after_answer_is_fine",
        code("print(9)") + "\n" + interp("9") + "\n<answer>\\boxed{9}</answer>\n\n  ",
        ["print(9)"], ["9"], "9", set(),
    ),
    Case(
        "interpreter_without_code",
        "The interpreter said:\n" + interp("42") + "\n<answer>\\boxed{42}</answer>",
        [], [], "42", {"interpreter_without_code"},
    ),
    Case(
        "code_without_interpreter",
        "Compute.\n" + code("print(4)") + "\nSo 4.\n<answer>\\boxed{4}</answer>",
        ["print(4)"], [None], "4", {"code_without_interpreter"},
    ),
    Case(
        "empty_code",
        "Nothing here.\n" + code("") + "\n" + interp("") + "\n<answer>\\boxed{0}</answer>",
        [""], [""], "0", {"empty_code"},
    ),
    Case(
        "adjacent_tags_no_newlines",
        "Tight.<code>\n```python\nprint(6)\n```\n</code><interpreter>6</interpreter><answer>\\boxed{6}</answer>",
        ["print(6)"], ["6"], "6", set(),
    ),
    Case(
        "stray_closing_tag",
        "Something </code> odd.\n" + code("print(1)") + "\n" + interp("1") + "\n<answer>\\boxed{1}</answer>",
        ["print(1)"], ["1"], "1", {"unbalanced_tags"},
    ),
    Case(
        "code_unclosed_then_interpreter",
        "Forgot to close.\n<code>\n```python\nprint(2)\n```\n" + interp("2") + "\n<answer>\\boxed{2}</answer>",
        ["print(2)"], ["2"], "2", {"unbalanced_tags"},
    ),
    Case(
        "interpreter_unclosed_at_end",
        code("print(11)") + "\n<interpreter>\n11\n",
        ["print(11)"], ["11"], None, {"unbalanced_tags", "no_answer"},
    ),
    Case(
        "multiple_answers",
        code("print(5)") + "\n" + interp("5") + "\n<answer>\\boxed{4}</answer>\nWait.\n<answer>\\boxed{5}</answer>",
        ["print(5)"], ["5"], "5", {"multiple_answers"},
    ),
    Case(
        "empty_answer",
        code("print(5)") + "\n" + interp("5") + "\n<answer></answer>",
        ["print(5)"], ["5"], None, {"empty_answer"},
    ),
    Case(
        "answer_without_boxed",
        code("print(5)") + "\n" + interp("5") + "\n<answer>5</answer>",
        ["print(5)"], ["5"], "5", {"no_answer"},
    ),
    Case(
        "block_after_answer",
        "<answer>\\boxed{3}</answer>\n" + code("print(3)") + "\n" + interp("3"),
        ["print(3)"], ["3"], "3", {"block_after_answer"},
    ),
    Case(
        "error_output",
        "Try dividing.\n" + code("print(1/0)") + "\n" + interp("ZeroDivisionError: division by zero")
        + "\nRight, division by zero. The limit is infinite.\n<answer>\\boxed{\\infty}</answer>",
        ["print(1/0)"], ["ZeroDivisionError: division by zero"], "\\infty", set(),
    ),
    Case(
        "output_looks_like_code",
        code("print('<code>x</code>'.replace('x', 'y'))") + "\n" + interp("print(1)\n```python\n```")
        + "\n<answer>\\boxed{1}</answer>",
        ["print('<code>x</code>'.replace('x', 'y'))"], ["print(1)\n```python\n```"], "1", set(),
    ),
    Case(
        "unicode_and_latex_text",
        "Soit $x^2 = 2$, donc $x = \\sqrt{2} ≈ 1.414$ — vérifions.\n" + code("print(round(2**0.5, 3))") + "\n"
        + interp("1.414") + "\n<answer>\\boxed{\\sqrt{2}}</answer>",
        ["print(round(2**0.5, 3))"], ["1.414"], "\\sqrt{2}", set(),
    ),
    Case(
        "multiline_output",
        code("for i in range(3):\n    print(i, i**2)") + "\n" + interp("0 0\n1 1\n2 4") + "\n<answer>\\boxed{5}</answer>",
        ["for i in range(3):\n    print(i, i**2)"], ["0 0\n1 1\n2 4"], "5", set(),
    ),
    Case(
        "output_in_fences",
        code("print(10)") + "\n<interpreter>\n```output\n10\n```\n</interpreter>\n<answer>\\boxed{10}</answer>",
        ["print(10)"], ["10"], "10", set(),
    ),
    Case(
        "answer_with_newlines_like_rl_template",
        code("print(2+2)") + "\n" + interp("4") + "\n<answer>\n\\boxed{4}\n</answer>",
        ["print(2+2)"], ["4"], "4", set(),
    ),
    Case(
        "boxed_with_space_and_no_braces",
        "So the total is \\boxed 5 apples.",
        [], [], "5", {"answer_not_in_tags"},
    ),
    Case(
        "fbox_answer",
        "Final: \\fbox{12}",
        [], [], "12", {"answer_not_in_tags"},
    ),
    Case(
        "unclosed_boxed_is_no_answer",
        "The answer is \\boxed{\\frac{1}{2}",
        [], [], None, {"no_answer"},
    ),
    Case(
        "text_between_code_and_interpreter",
        code("print(3)") + "\nLet me run it.\n" + interp("3") + "\n<answer>\\boxed{3}</answer>",
        ["print(3)"], ["3"], "3", {"text_between_code_and_interpreter"},
    ),
    Case(
        "unsupported_language",
        "<code>\n```bash\necho 3\n```\n</code>\n" + interp("3") + "\n<answer>\\boxed{3}</answer>",
        ["echo 3"], ["3"], "3", {"unsupported_language"},
    ),
    Case(
        "two_codes_then_one_output",
        code("a = 1") + "\n" + code("print(a + 1)") + "\n" + interp("2") + "\n<answer>\\boxed{2}</answer>",
        ["a = 1", "print(a + 1)"], [None, "2"], "2", {"code_without_interpreter"},
    ),
    Case(
        "crlf_line_endings",
        "Windows.\r\n<code>\r\n```python\r\nprint(8)\r\n```\r\n</code>\r\n<interpreter>\r\n8\r\n</interpreter>\r\n"
        "<answer>\\boxed{8}</answer>",
        ["print(8)"], ["8"], "8", set(),
    ),
    Case(
        "r1_style_long_with_think",
        "<think>\nOkay, so I need the sum 1+2+...+100. Gauss: n(n+1)/2.\n</think>\n"
        + code("n = 100\nprint(n*(n+1)//2)") + "\n" + interp("5050") + "\nThat matches.\n\n**Final Answer**\n"
        "<answer>\\boxed{5050}</answer>",
        ["n = 100\nprint(n*(n+1)//2)"], ["5050"], "5050", set(),
    ),
    Case(
        "escaped_braces_in_boxed",
        code("print({1, 2})") + "\n" + interp("{1, 2}") + "\n<answer>\\boxed{\\{1, 2\\}}</answer>",
        ["print({1, 2})"], ["{1, 2}"], "\\{1, 2\\}", set(),
    ),
    Case(
        "interval_answer",
        "Solve the inequality.\n" + code("import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve_univariate_inequality(x**2 < 4, x, relational=False))")
        + "\n" + interp("Interval.open(-2, 2)") + "\n<answer>\\boxed{(-2, 2)}</answer>",
        ["import sympy as sp\nx = sp.symbols('x')\nprint(sp.solve_univariate_inequality(x**2 < 4, x, relational=False))"],
        ["Interval.open(-2, 2)"], "(-2, 2)", set(),
    ),
]
