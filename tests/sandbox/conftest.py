"""Fixtures for the sandbox tests: real supervisor processes, real namespaces, no mocks."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox import Sandbox
from tests.conftest import require


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A deadlocked sandbox must fail its test, not hang CI (needs pytest-timeout, in the dev extra).
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(120))


def require_isolation() -> None:
    require(sys.platform == "linux" and os.geteuid() == 0,
            "the sandbox's isolation needs Linux and root (CI and containers run as root)")


@pytest.fixture(scope="session")
def sb() -> Iterator[Sandbox]:
    """One shared pool for the tests that need no special settings (2 workers, as on CI's 2 cores)."""
    require_isolation()
    with Sandbox(workers=2, timeout_s=5.0, memory_mb=512) as sandbox:
        yield sandbox


def host_processes_with_uid(uids: range) -> list[tuple[int, int, str]]:
    """(pid, uid, cmdline) of live host processes whose real uid is in `uids` (zombies excluded)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                status = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields["Uid"].split()[0])
        if uid in uids and not fields.get("State", "").strip().startswith("Z"):
            found.append((int(name), uid, cmd))
    return found


def wait_until(predicate, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def assert_serves_correctly(sandbox: Sandbox, n: int = 8) -> None:
    """The pool still gives every caller its own, correct result."""
    codes = [f"import sympy as sp\nprint(sp.factorint({k} * 2**20 + 1), {k})" for k in range(n)]
    with ThreadPoolExecutor(n) as ex:
        results = list(ex.map(sandbox.run, codes))
    for k, r in enumerate(results):
        expected = "{} {}\n".format(__import__("sympy").factorint(k * 2**20 + 1), k)
        assert (r.status, r.output) == ("ok", expected)
