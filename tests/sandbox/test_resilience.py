"""Crashes around the runs: the pool replaces what died, and nothing outlives the caller."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from tests.conftest import REPO_ROOT
from tests.sandbox.conftest import host_processes_with_uid, require_isolation, wait_until


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.fixture
def box() -> Iterator[Sandbox]:
    require_isolation()
    with Sandbox(workers=2, preload=("math",), warmup="") as sandbox:
        yield sandbox


@pytest.mark.parametrize("victim", ["forkserver_pid", "supervisor_pid"])
def test_a_killed_worker_process_is_replaced(box: Sandbox, victim: str) -> None:
    box.run("x = 1", session="lost")
    old = box.info
    results = []
    runner = threading.Thread(target=lambda: results.append(box.run("import time\ntime.sleep(20)", timeout_s=30)))
    runner.start()
    time.sleep(0.5)
    os.kill(old[victim], signal.SIGKILL)
    runner.join(10)
    assert results and results[0].status == "killed"
    assert wait_until(lambda: gone(old["supervisor_pid"]) and gone(old["forkserver_pid"]))
    assert wait_until(lambda: not host_processes_with_uid(range(*old["uid_range"])))
    assert [box.run(f"print({i} * 3)").output for i in range(5)] == [f"{i * 3}\n" for i in range(5)]
    assert box.restarts == 1 and box.info["supervisor_pid"] != old["supervisor_pid"]
    # Sessions died with their processes: the next block starts from an empty namespace.
    assert box.run("x", session="lost").output == "NameError: name 'x' is not defined"


PARENT = """
import json, sys, threading, time
sys.path.insert(0, sys.argv[1])
from sandbox import Sandbox
sb = Sandbox(workers=2, preload=("math",), warmup="")
sb.run("import subprocess\\nsubprocess.Popen(['sleep', '876.54'])", session="background", keep_background=True)
threading.Thread(target=sb.run, args=("import time\\ntime.sleep(600)",), kwargs={"timeout_s": 600}, daemon=True).start()
time.sleep(0.3)
print(json.dumps(sb.info), flush=True)
time.sleep(600)
"""


def test_killing_the_parent_process_kills_everything() -> None:
    require_isolation()
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(REPO_ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(parent.stdout.readline())
        assert any("876.54" in cmd for _, _, cmd in host_processes_with_uid(range(*info["uid_range"])))
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        assert wait_until(lambda: gone(info["supervisor_pid"]) and gone(info["forkserver_pid"]), 10.0)
        assert wait_until(lambda: not host_processes_with_uid(range(*info["uid_range"])), 10.0)
        if info["memory_cgroup"]:  # left behind by the killed caller: the next sandbox removes it
            assert os.path.isdir(info["memory_cgroup"])
            Sandbox(workers=1, preload=("math",), warmup="").close()
            assert not os.path.exists(info["memory_cgroup"])
    finally:
        parent.kill()
        parent.wait()


def test_closing_the_sandbox_stops_its_processes() -> None:
    require_isolation()
    sandbox = Sandbox(workers=1, preload=("math",), warmup="")
    sandbox.run("import subprocess\nsubprocess.Popen(['sleep', '765.43'])", session="bg", keep_background=True)
    info = sandbox.info
    sandbox.close()
    assert gone(info["supervisor_pid"]) and wait_until(lambda: gone(info["forkserver_pid"]))
    assert wait_until(lambda: not host_processes_with_uid(range(*info["uid_range"])))
    if info["memory_cgroup"]:  # the sandbox's cgroup goes with it
        assert not os.path.exists(info["memory_cgroup"])
    with pytest.raises(Exception, match="closed"):
        sandbox.run("print(1)")


def children_of(pid: int) -> list[int]:
    kids = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/stat") as f:
                if name.isdigit() and int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(name))
        except OSError:
            continue
    return kids


def test_killed_spares_are_replaced(box: Sandbox) -> None:
    forkserver = box.info["forkserver_pid"]
    assert wait_until(lambda: len(children_of(forkserver)) >= 2)
    killed = set(children_of(forkserver))  # the idle pre-forked runs
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: len(set(children_of(forkserver)) - killed) >= 2)  # fresh spares took their place
    assert [box.run(f"print({i} + 1)").output for i in range(4)] == [f"{i + 1}\n" for i in range(4)]
    assert box.restarts == 0 and box.info["forkserver_pid"] == forkserver


USERNS_LAUNCHER = """
import ctypes, os, sys
# Become root of a new user namespace that maps ids 0-65535 onto the host's (a rootless container's view).
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:
        sys.exit("unshare(CLONE_NEWUSER) failed")
    os.read(r, 1)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
os.close(r)
import time
while os.readlink(f"/proc/{pid}/ns/user") == os.readlink("/proc/self/ns/user"):
    time.sleep(0.005)
for name in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{name}", "w") as f:
        f.write("0 0 65536\\n")
os.write(w, b"x")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""

INSIDE = """
import json, sys
sys.path.insert(0, %r)
from sandbox import Sandbox
with Sandbox(workers=1, preload=("math",), warmup="") as sb:
    r = sb.run("import os, socket\\nprint(os.getuid())\\nsocket.create_connection(('127.0.0.1', 22))")
    print(json.dumps({"layers": sb.layers, "uids": sb.info["uid_range"], "output": r.output}))
"""


def test_works_as_root_of_a_user_namespace_with_few_ids() -> None:
    require_isolation()
    out = subprocess.run([sys.executable, "-c", USERNS_LAUNCHER, INSIDE % str(REPO_ROOT)], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.splitlines()[-1])
    lo, hi = got["uids"]
    assert lo >= 1000 and hi <= 65534  # only mapped ids, never nobody
    assert "uid_drop" in got["layers"] and "network_namespace" in got["layers"]
    uid, error = got["output"].splitlines()
    assert lo <= int(uid) < hi and error == "OSError: [Errno 101] Network is unreachable"


def test_the_restart_budget_counts_real_deaths_only_and_recovers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15 item 1: refused calls are not deaths; once deaths stop, the pool serves again."""
    require_isolation()
    from sandbox import SandboxError
    from sandbox import pool as pool_module

    monkeypatch.setattr(pool_module, "RESTART_WINDOW_S", 300.0)
    with Sandbox(workers=1, preload=("math",), warmup="") as box:

        def kill_supervisor() -> None:
            sup = box._sup
            os.kill(sup.info["supervisor_pid"], signal.SIGKILL)
            assert wait_until(lambda: not sup.alive)

        for i in range(pool_module.MAX_RESTARTS):
            kill_supervisor()
            assert box.run(f"print({i})").output == f"{i}\n"  # restarted
        kill_supervisor()  # one death too many within the window
        for _ in range(20):
            with pytest.raises(SandboxError, match="not restarting"):
                box.run("print(1)")
        assert box.restarts == pool_module.MAX_RESTARTS + 1  # the 20 refusals were not counted as deaths
        monkeypatch.setattr(pool_module, "RESTART_WINDOW_S", 0.5)  # time passes: the deaths leave the window
        time.sleep(0.6)
        assert box.run("print('back')").output == "back\n"
        assert box.restarts == pool_module.MAX_RESTARTS + 1
