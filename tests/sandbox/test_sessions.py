"""Sessions: the blocks of one trace share a namespace, like a notebook; sessions expire and are bounded."""

from __future__ import annotations

import time

from sandbox import Sandbox
from tests.sandbox.conftest import require_isolation


def test_state_is_kept_within_a_session_and_absent_across(sb: Sandbox) -> None:
    assert sb.run("import sympy as sp\nx = 41\nsym = sp.Symbol('t')", session="trace-a").status == "ok"
    assert sb.run("x + 1", session="trace-a").output == "42"
    assert sb.run("sp.expand((sym + 1)**2)", session="trace-a").output == "t**2 + 2*t + 1"
    assert sb.run("x", session="trace-b").output == "NameError: name 'x' is not defined"
    assert sb.run("x").output == "NameError: name 'x' is not defined"  # stateless runs see nothing
    assert sb.run("open('note.txt', 'w').write('kept')", session="trace-a").status == "ok"
    assert sb.run("print(open('note.txt').read())", session="trace-a").output == "kept\n"
    assert sb.close_session("trace-a") and sb.close_session("trace-b")
    assert not sb.close_session("trace-a")
    assert sb.run("x", session="trace-a").output == "NameError: name 'x' is not defined"
    sb.close_session("trace-a")


def test_an_error_keeps_the_session_a_timeout_resets_it(sb: Sandbox) -> None:
    sb.run("z = 5", session="trace-c")
    assert sb.run("1/0", session="trace-c").status == "error"
    assert sb.run("z", session="trace-c").output == "5"
    assert sb.run("while True:\n    pass", session="trace-c", timeout_s=0.5).status == "timeout"
    assert sb.run("z", session="trace-c").output == "NameError: name 'z' is not defined"
    sb.close_session("trace-c")


def test_each_block_gets_its_own_deadline(sb: Sandbox) -> None:
    for _ in range(3):
        r = sb.run("import time\ntime.sleep(0.4)", session="trace-d", timeout_s=1.0)
        assert r.status == "ok"
    sb.close_session("trace-d")


def test_sessions_expire_when_idle() -> None:
    require_isolation()
    with Sandbox(workers=1, session_ttl_s=0.3, preload=(), warmup="") as box:
        box.run("v = 1", session="s")
        assert box.run("v", session="s").output == "1"
        time.sleep(1.2)
        assert box.stats()["sessions"] == 0
        assert box.run("v", session="s").output == "NameError: name 'v' is not defined"


def test_session_count_is_bounded_least_recently_used_goes_first() -> None:
    require_isolation()
    with Sandbox(workers=1, max_sessions=2, preload=(), warmup="") as box:
        for name in ("s1", "s2"):
            box.run(f"name = {name!r}", session=name)
        box.run("name", session="s1")  # s1 is now the most recently used
        box.run("name = 's3'", session="s3")
        assert box.stats()["sessions"] == 2
        assert box.run("name", session="s1").output == "'s1'"
        assert box.run("name", session="s3").output == "'s3'"
        assert box.run("name", session="s2").output == "NameError: name 'name' is not defined"
