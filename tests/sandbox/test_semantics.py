"""What a run returns: stdout, the last error line, the last expression's repr, truncation, exits."""

from __future__ import annotations

import base64

from sandbox import TRUNCATION_MARKER, Sandbox


def test_the_contract_example(sb: Sandbox) -> None:
    r = sb.run("print(2+3)")
    assert (r.status, r.output, r.stdout, r.stderr, r.truncated) == ("ok", "5\n", "5\n", "", False)
    assert r.return_code == 0 and 0 < r.duration_s < 5


def test_last_expression_repr_only_when_nothing_was_printed(sb: Sandbox) -> None:
    assert sb.run("x = 3\nx * 2").output == "6"
    assert sb.run("import sympy as sp\nsp.Rational(1, 3) + 1").output == "4/3"
    assert sb.run("'text'").output == "'text'"
    assert sb.run("print('hi')\n41 + 1").output == "hi\n"
    assert sb.run("None").output == ""
    assert sb.run("x = 1").output == ""


def test_error_gives_stdout_then_the_last_traceback_line(sb: Sandbox) -> None:
    r = sb.run("print('before')\n1/0")
    assert r.status == "error" and r.return_code == 1
    assert r.output == "before\nZeroDivisionError: division by zero"
    assert r.error == "ZeroDivisionError: division by zero"
    assert r.stderr.startswith("Traceback (most recent call last):") and 'File "<string>", line 2' in r.stderr
    assert "runner.py" not in r.stderr  # the sandbox's own frames are not shown


def test_syntax_and_name_errors(sb: Sandbox) -> None:
    assert sb.run("x = (").output == "SyntaxError: '(' was never closed"
    assert sb.run("undefined_name + 1").output == "NameError: name 'undefined_name' is not defined"
    # The sandbox's own `from __future__ import annotations` must not leak into snippets.
    assert sb.run("def f(x: undefined_ann): pass").output == "NameError: name 'undefined_ann' is not defined"


def test_sys_exit(sb: Sandbox) -> None:
    r = sb.run("print('bye')\nimport sys\nsys.exit(3)")
    assert (r.status, r.output) == ("error", "bye\nSystemExit: 3")
    assert sb.run("import sys\nsys.exit()").status == "ok"
    assert sb.run("import sys\nsys.exit('fatal problem')").output == "SystemExit: fatal problem"
    r = sb.run("import os\nprint('x', flush=True)\nos._exit(0)")
    assert (r.status, r.output) == ("ok", "x\n")
    r = sb.run("import os\nos._exit(7)")
    assert (r.status, r.output, r.return_code) == ("error", "SystemExit: 7", 7)


def test_output_truncated_head_and_tail_with_the_marker(sb: Sandbox) -> None:
    r = sb.run("print('a' * 1000 + 'b' * 1000)")
    assert r.truncated and r.status == "ok"
    assert r.output == "a" * 200 + TRUNCATION_MARKER.format(n=1601) + "b" * 199 + "\n"
    assert r.stdout == "a" * 1000 + "b" * 1000 + "\n"  # the stream itself is kept (up to the capture limit)


def test_max_output_chars_is_configurable(sb: Sandbox) -> None:
    with Sandbox(workers=1, max_output_chars=10, preload=("math",), warmup="") as small:
        r = small.run("print('0123456789abcdef')")
        assert r.output == "01234" + TRUNCATION_MARKER.format(n=7) + "cdef\n"
    with Sandbox(workers=1, max_output_chars=None, preload=(), warmup="") as unlimited:
        assert unlimited.run("print('z' * 5000)").output == "z" * 5000 + "\n"


def test_warm_math_stack(sb: Sandbox) -> None:
    r = sb.run("import sympy as sp; print(sp.factorint(2**64-1))")
    assert r.output == "{3: 1, 5: 1, 17: 1, 257: 1, 641: 1, 65537: 1, 6700417: 1}\n"
    assert sb.run("import numpy as np\nprint(np.linalg.det(np.eye(3)))").output == "1.0\n"
    assert sb.run("import scipy.special\nprint(scipy.special.comb(5, 2, exact=True))").output == "10\n"


def test_fresh_interpreter_per_run(sb: Sandbox) -> None:
    assert sb.run("import math\nmath.tau = 1\nleaked = 1").status == "ok"
    assert sb.run("import math\nprint(math.tau == 2 * math.pi)").output == "True\n"
    assert sb.run("leaked").output == "NameError: name 'leaked' is not defined"
    assert sb.run("print(__name__)").output == "__main__\n"


def test_randomness_is_fresh_and_hashing_is_stable(sb: Sandbox) -> None:
    draws = {sb.run("import random, numpy as np\nprint(random.random(), np.random.rand())").output for _ in range(4)}
    assert len(draws) == 4
    hashes = {sb.run("print(hash('retool'))").output for _ in range(3)}
    assert len(hashes) == 1


def test_stdin_files_and_per_run_limits(sb: Sandbox) -> None:
    assert sb.run("print(input()[::-1])", stdin="abc\n").output == "cba\n"
    assert sb.run("import sys\nprint(repr(sys.stdin.read()))").output == "''\n"
    files = {"data/in.txt": base64.b64encode(b"21").decode()}
    r = sb.run("n = int(open('data/in.txt').read())\nopen('out.txt', 'w').write(str(2 * n))",
               files=files, fetch_files=["out.txt", "missing.txt"])
    assert r.status == "ok" and r.extra["files"] == {"out.txt": base64.b64encode(b"42").decode()}
    bad = sb.run("print(1)", files={"../escape": base64.b64encode(b"x").decode()})
    assert bad.status == "error" and "outside the working directory" in bad.output
    r = sb.run("import time\ntime.sleep(3)", timeout_s=0.5)
    assert r.status == "timeout" and r.output == "TimeoutError: execution timed out after 0.5 s"


def test_output_printed_before_a_timeout_is_kept(sb: Sandbox) -> None:
    r = sb.run("print('partial')\nwhile True: pass", timeout_s=1)
    assert r.status == "timeout"
    assert r.output == "partial\nTimeoutError: execution timed out after 1 s"
