"""Started by an unprivileged user, the sandbox refuses to run unless weaker isolation is asked for explicitly."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534

PROBE = """
import json
from sandbox import Sandbox
from sandbox.isolation import IsolationError
out = {}
try:
    Sandbox(workers=1, start_timeout_s=60).close()
    out["strict"] = "started"
except IsolationError as e:
    out["strict"] = str(e)
with Sandbox(workers=1, allow_degraded=True, start_timeout_s=60) as box:
    r = box.run("print(6 * 7)")
    out.update(uid=box.run("import os; print(os.getuid())").stdout, stdout=r.stdout, status=r.status,
               layers=sorted(box.layers), warnings=box.info["warnings"])
print(json.dumps(out))
"""


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost folder above ``path`` that other users cannot enter (mode without o+x), if any."""
    return next((p for p in reversed(path.parents) if p != Path("/") and not p.stat().st_mode & 0o001), None)


def _as_nobody(command: list[str], scratch: Path) -> list[str]:
    """`command` as uid/gid 65534 in a private mount namespace where the folders it needs are traversable.

    The interpreter (pyenv), a venv or the checkout may live under a folder another user cannot enter (e.g. /root,
    mode 700, whatever $HOME says). Inside the namespace a tmpfs covers each such folder and only those trees are
    bound back on it; the host is unchanged.
    """
    needed = {Path(os.path.realpath(sys.executable)).parents[2], Path(sys.prefix).resolve(), ROOT.resolve()}
    closed = {tree: _closed_ancestor(tree) for tree in needed}
    hidden = sorted({c for c in closed.values() if c is not None})
    kept = sorted(tree for tree, c in closed.items() if c is not None)
    setup = []
    for i, tree in enumerate(kept):  # set aside before the tmpfs hides them
        (scratch / f"keep{i}").mkdir()
        setup.append(f"mount --bind {shlex.quote(str(tree))} {scratch / f'keep{i}'}")
    setup += [f"mount -t tmpfs -o mode=755 tmpfs {shlex.quote(str(c))}" for c in hidden]
    for i, tree in enumerate(kept):
        setup += [f"mkdir -p {shlex.quote(str(tree))}", f"mount --bind {scratch / f'keep{i}'} {shlex.quote(str(tree))}"]
    run = f"exec setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups {shlex.join(command)}"
    return ["unshare", "--mount", "sh", "-ec", "; ".join([*setup, run])]


def test_an_unprivileged_start_is_refused_unless_degraded_isolation_is_allowed(tmp_path: Path) -> None:
    require(sys.platform == "linux" and os.geteuid() == 0, "needs root to start a child as an unprivileged user")
    require(bool(shutil.which("unshare") and shutil.which("setpriv")), "needs util-linux's unshare and setpriv")
    work = tmp_path / "work"
    work.mkdir(mode=0o777)
    os.chmod(work, 0o777)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(work),
           "TMPDIR": str(work)}
    proc = subprocess.run(_as_nobody([sys.executable, "-c", PROBE], tmp_path), env=env, cwd=work,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "allow_degraded" in out["strict"]  # refused, and the message says how to opt in
    assert (out["status"], out["stdout"]) == ("ok", "42\n")
    assert out["uid"] == f"{NOBODY}\n"  # runs keep the caller's uid: no per-run uid without root
    assert "uid_drop" not in out["layers"] and "kill_descendants" not in out["layers"]
    assert any(w.startswith("DEGRADED") for w in out["warnings"])


def test_without_a_memory_cgroup_unaccounted_memory_is_denied() -> None:
    """The degraded memory mode (docs/sandbox.md): no cgroup, so memfd_create and System V shared memory, which
    no rlimit bounds, are refused by the seccomp profile; /tmp and /dev/shm stay capped at scratch_mb."""
    require(sys.platform == "linux" and os.geteuid() == 0, "needs root to start the sandbox")
    from sandbox import Sandbox

    with Sandbox(workers=1, preload=("math",), warmup="", memory_cgroup=False) as box:
        assert "memory_cgroup" not in box.layers and "seccomp" in box.layers
        assert any("DEGRADED: no memory cgroup" in w for w in box.info["warnings"])
        assert box.run("import os\nos.memfd_create('x')").output == "PermissionError: [Errno 1] Operation not permitted"
        r = box.run("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                    "print(libc.shmget(0, 1 << 20, 0o1600), ctypes.get_errno())")
        assert r.output == "-1 1\n"
        assert box.run("import sys\nprint(sys.stdin.read())", stdin="still works").output == "still works\n"
        r = box.run("for i in range(100):\n    open(f'/dev/shm/f{i}', 'wb').write(b'x' * (1 << 20))")
        assert "No space left on device" in r.output
        assert box.run("print(6 * 7)").output == "42\n"
