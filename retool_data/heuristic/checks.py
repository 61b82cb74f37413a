"""Does what the sandbox printed for a block agree with what the reasoning says? (Otherwise the block is dropped.)"""

from __future__ import annotations

from typing import Any

from retool_data.heuristic.claims import Calculation, values_agree


def _parse_printed(line: str) -> Any:
    import sympy

    return sympy.sympify(line.strip(), rational=False)


def _identity_holds(line: str, calc: Calculation) -> bool:
    """An identity block prints the text's result (as sympy writes it), or True for a checked identity."""
    import sympy

    if line.strip() == "True":
        return True
    names = {str(s): s for s in getattr(calc.expected, "free_symbols", set())}
    got = sympy.sympify(line.strip(), locals=names)
    return sympy.expand(got - calc.expected) == 0 or sympy.cancel(got - calc.expected) == 0


def output_matches(status: str, output: str, calcs: list[Calculation]) -> str | None:
    """None when every printed line agrees with its calculation's value; else why not (a stats key)."""
    if status != "ok":
        return f"sandbox_{status}"
    printed = output.rstrip("\n").split("\n") if output.strip() else []
    if len(printed) != len(calcs):
        return "unexpected_output_lines"
    for line, calc in zip(printed, calcs, strict=True):
        try:
            if calc.kind == "identity":
                if not _identity_holds(line, calc):
                    return "identity_differs"
                continue
            got = _parse_printed(line)
        except Exception:  # noqa: BLE001 - sympify raises many types on text it cannot read
            return "unreadable_output"
        if calc.kind == "equation":  # every solution the text states is among the printed ones
            want = list(calc.expected)
            if not isinstance(got, (list, tuple)) or not got:
                return "solutions_differ"
            if not all(any(values_agree(g, w, 1e-9) for g in got) for w in want):
                return "solutions_differ"
        elif not values_agree(got, calc.expected, calc.tolerance):
            return "value_differs"
    return None


# `problem_checks`: one expected value per printed line
LINE_CHECKS = ("number_theory", "enumerate", "simplify", "series", "function", "ode", "system", "intervals")


def _line_agrees(line: str, want: Any) -> bool:
    """A printed line against its expected value: ``True``, a list of numbers, or a (symbolic) sympy value."""
    import sympy

    if want is True:
        return line.strip() == "True"
    if isinstance(want, str):
        return line.strip() == want
    if isinstance(want, sympy.Set):  # Interval.open(5, oo), Union(...): sympy's own spelling
        return sympy.sympify(line.strip()) == want
    if isinstance(want, list):
        got = _parse_printed(line)
        return (
            isinstance(got, (list, tuple))
            and len(got) == len(want)
            and all(values_agree(g, w, 0.0) for g, w in zip(got, want, strict=True))
        )
    free = getattr(want, "free_symbols", set())
    if free:
        got = sympy.sympify(line.strip(), locals={str(s): s for s in free})
        return sympy.simplify(got - want) == 0
    return values_agree(_parse_printed(line), want, 0.0)


def _lines_match(output: str, expected: list[Any]) -> str | None:
    lines = output.strip().split("\n")
    if len(lines) != len(expected):
        return "unexpected_output_lines"
    for line, want in zip(lines, expected, strict=True):
        try:
            if not _line_agrees(line, want):
                return "value_differs"
        except Exception:  # noqa: BLE001 - sympify raises many types on text it cannot read
            return "unreadable_output"
    return None


def final_check_matches(status: str, output: str, check: Any) -> str | None:
    """None when a final check printed what was planned: zero residuals, or the answer's value."""
    if status != "ok":
        return f"sandbox_{status}"
    if check.kind == "point":  # True per condition, then the answer's value
        lines = output.strip().split("\n")
        if len(lines) != len(check.expected):
            return "unexpected_output_lines"
        for line, want in zip(lines, check.expected, strict=True):
            if want is True:
                if line.strip() != "True":
                    return "condition_fails"
                continue
            try:
                if not values_agree(_parse_printed(line), want, 0.0):
                    return "value_differs"
            except Exception:  # noqa: BLE001 - sympify raises many types on text it cannot read
                return "unreadable_output"
        return None
    if check.kind in LINE_CHECKS:
        return _lines_match(output, check.expected)
    if check.kind == "substitute":  # one residual per value of the answer
        lines = output.strip().split("\n")
        ok = len(lines) == len(check.expected) and all(line.strip() == "0" for line in lines)
        return None if ok else "residual_not_zero"
    try:
        got = _parse_printed(output.strip())
    except Exception:  # noqa: BLE001 - sympify raises many types on text it cannot read
        return "unreadable_output"
    return None if values_agree(got, check.expected, 0.0) else "value_differs"
