"""Red team: hostile snippets against one shared pool (issue 15, items 1-6).

Every case attacks, checks the attack failed in the documented way, and then checks that the same pool still
serves a normal run correctly (`assert_serves_correctly`): one run must never take the pool down with it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
from collections.abc import Iterator

import pyseccomp
import pytest

from sandbox import Sandbox
from tests.sandbox.conftest import assert_serves_correctly, require_isolation

pytestmark = pytest.mark.timeout(180)

_ARCH = pyseccomp.system_arch()
NR = {
    name: pyseccomp.resolve_syscall(_ARCH, name)
    for name in (
        "keyctl",
        "add_key",
        "request_key",
        "ptrace",
        "io_uring_setup",
        "unshare",
        "clone",
        "mount",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "setns",
        "pivot_root",
        "init_module",
        "userfaultfd",
        "process_vm_readv",
    )
}
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17


@pytest.fixture(scope="module")
def pool() -> Iterator[Sandbox]:
    require_isolation()
    with Sandbox(workers=2, timeout_s=10.0, memory_mb=256) as sandbox:
        yield sandbox


def healthy(pool: Sandbox) -> None:
    assert_serves_correctly(pool, n=4)


def syscall_snippet(nr: int, *args: int) -> str:
    return (
        f"import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"rc = libc.syscall({nr}, {', '.join(str(a) for a in args) or '0'})\n"
        f"print(rc, ctypes.get_errno())"
    )


# ------------------------------------------------------------------------------ 1. the report on fd 3


def forged_frame(body: bytes, then: str = "import time\ntime.sleep(2)") -> str:
    return f"import os, struct\nbody = {body!r}\nos.write(3, struct.pack('>I', len(body)) + body)\n{then}"


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # the reported supervisor killer
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,  # the same with objects
        b'{"status":"ok","error":null,"expr":null,"files":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"status":"ok","error":null,"expr":' + b"9" * 5000 + b"}",  # int beyond Python's digit limit
        b'[{"status":"ok"}]',  # not an object
        b'{"status":123,"error":null,"expr":null}',  # wrong types
        b'{"status":"ok","error":null,"expr":null,"files":{"a":1}}',  # files not base64 strings
        b"\xff\xfe not json at all",
    ],
)
def test_a_malformed_report_fails_that_run_alone(pool: Sandbox, body: bytes) -> None:
    pool.run("x = 41", session="bystander")
    r = pool.run(forged_frame(body))
    assert r.status == "error" and r.extra.get("reason") == "bad_report", r
    assert "invalid result (bad_report" in r.output
    assert pool.run("print(x + 1)", session="bystander").output == "42\n"  # a session in flight survived
    pool.close_session("bystander")
    assert pool.restarts == 0
    healthy(pool)


def test_an_oversized_frame_header_is_a_bad_report(pool: Sandbox) -> None:
    r = pool.run("import os\nos.write(3, b'\\xff\\xff\\xff\\xff' + b'x' * 100)\nimport time\ntime.sleep(2)")
    assert (r.status, r.extra.get("reason")) == ("error", "bad_report")
    healthy(pool)


def test_a_flood_of_small_valid_frames_keeps_only_the_first(pool: Sandbox) -> None:
    frame = json.dumps({"status": "ok", "error": None, "expr": "'forged'"}).encode()
    r = pool.run(
        f"import os, struct\nf = struct.pack('>I', {len(frame)}) + {frame!r}\n"
        "for _ in range(20000):\n    os.write(3, f)\nprint('never reported')"
    )
    assert (r.status, r.output) == ("ok", "'forged'")  # a run may lie about its own result, only its own
    healthy(pool)


def test_a_lone_surrogate_in_a_forged_report_comes_back_escaped(pool: Sandbox) -> None:
    r = pool.run(forged_frame(b'{"status":"error","error":"Boom: \\ud800","expr":null}'))
    assert r.error == "Boom: \\ud800"
    r.output.encode("utf-8")
    healthy(pool)


# -------------------------------------------------------------------------- 2. memory a run can pin


def test_memfd_and_fallocate_do_not_bypass_memory_mb(pool: Sandbox) -> None:
    code = (
        "import os\nfds = []\nfor i in range(48):\n    fd = os.memfd_create('x')\n"
        "    os.posix_fallocate(fd, 0, 64 << 20)\n    fds.append(fd)\nprint('held', 48 * 64, 'MB')"
    )
    r = pool.run(code, memory_mb=256)
    assert "held" not in r.output
    if "memory_cgroup" in pool.layers:
        assert r.status == "memory" and "memory limit (256 MB)" in r.output, r
    else:
        assert r.status == "error" and r.output.startswith("PermissionError"), r
    healthy(pool)


def test_system_v_shared_memory_counts_too(pool: Sandbox) -> None:
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.shmat.restype = ctypes.c_void_p\n"
        "ids = [libc.shmget(0, 64 << 20, 0o1600) for _ in range(16)]\n"
        "assert min(ids) >= 0, ctypes.get_errno()\n"
        "for i in ids:\n    p = libc.shmat(i, None, 0)\n    ctypes.memset(p, 1, 64 << 20)\n"
        "    libc.shmdt(ctypes.c_void_p(p))\nprint('held')"
    )
    r = pool.run(code, memory_mb=256)
    assert "held" not in r.output
    assert r.status == ("memory" if "memory_cgroup" in pool.layers else "error"), r
    healthy(pool)


def test_dev_shm_and_tmp_are_capped(pool: Sandbox) -> None:
    for base in ("/dev/shm", "/tmp"):  # many files, each under the file-size limit: 200 MB in all
        code = f"for i in range(200):\n    with open('{base}/f%d' % i, 'wb') as f:\n        f.write(b'x' * (1 << 20))"
        r = pool.run(code)
        assert r.status in ("error", "memory") and (
            "No space left" in r.output or "MemoryError" in r.output
        ), r
    healthy(pool)


def test_memory_of_all_a_runs_processes_counts_against_one_limit(pool: Sandbox) -> None:
    # Each child stays under the per-process address-space limit; together they exceed memory_mb.
    code = """
import os, time
pids = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(150 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(1.5)
        os._exit(0)
    pids.append(pid)
print(sorted(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids))
"""
    r = pool.run(code, memory_mb=256)
    if "memory_cgroup" in pool.layers:
        assert r.status != "ok" or "-9" in r.output, r  # the cgroup's OOM killer took at least one child
    healthy(pool)


# ----------------------------------------------------------------- 3. keyrings and the seccomp profile


@pytest.mark.parametrize(
    "name,args",
    [
        ("keyctl", (0, -3, 0)),  # KEYCTL_GET_KEYRING_ID of the session keyring
        ("keyctl", (1, 0x1000)),  # join a *named* keyring
        ("add_key", (0, 0, 0, 0, -3)),
        ("request_key", (0, 0, 0, 0)),
        ("ptrace", (16, 1, 0, 0)),  # PTRACE_ATTACH to pid 1 (the fork server)
        ("process_vm_readv", (1, 0, 0, 0, 0, 0)),
        ("io_uring_setup", (8, 0)),
        ("unshare", (CLONE_NEWUSER,)),
        ("clone", (CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0)),
        ("setns", (0, 0)),
        ("mount", (0, 0, 0, 1 << 13, 0)),  # MS_MOVE
        ("pivot_root", (0, 0)),
        ("bpf", (0, 0, 0)),
        ("perf_event_open", (0, 0, -1, -1, 0)),
        ("kexec_load", (0, 0, 0, 0)),
        ("init_module", (0, 0, 0)),
        ("userfaultfd", (0,)),
    ],
)
def test_the_seccomp_profile_denies_what_math_code_never_needs(pool: Sandbox, name: str, args: tuple) -> None:
    assert "seccomp" in pool.layers
    r = pool.run(syscall_snippet(NR[name], *args))
    assert (r.status, r.output) == ("ok", f"-1 {errno.EPERM}\n"), (name, r)
    healthy(pool)


def test_threads_subprocesses_and_multiprocessing_still_work(pool: Sandbox) -> None:
    code = """
import subprocess, threading, multiprocessing as mp
out = []
t = threading.Thread(target=out.append, args=(1,)); t.start(); t.join()
print(out, subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout.strip())
with mp.get_context('fork').Pool(2) as p:
    print(p.map(abs, [-1, -2, -3]))
"""
    r = pool.run(code)
    assert (r.status, r.output) == ("ok", "[1] hi\n[1, 2, 3]\n"), r
    healthy(pool)


def _keyctl(*args: int | bytes | None) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(NR["keyctl"], *args)


def test_the_callers_session_keyring_is_out_of_reach() -> None:
    """Without the seccomp profile, too: each run sits in a fresh, empty session keyring of its own."""
    require_isolation()
    libc = ctypes.CDLL(None, use_errno=True)
    caller_ring = _keyctl(0, -3, 1)  # KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create
    key = libc.syscall(NR["add_key"], b"user", b"retool-secret", b"hunter2", 7, -3)
    if caller_ring < 0 or key < 0:
        pytest.fail(f"this kernel has no usable keyrings (errno {ctypes.get_errno()}); the test needs them")
    try:
        with Sandbox(workers=1, preload=("math",), warmup="", seccomp=False) as box:
            code = f"""
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
ring = libc.syscall({NR["keyctl"]}, 0, -3, 0)
found = libc.syscall({NR["keyctl"]}, 10, -3, b"user", b"retool-secret", 0)  # KEYCTL_SEARCH
found_errno = ctypes.get_errno()
buf = ctypes.create_string_buffer(64)
read = libc.syscall({NR["keyctl"]}, 11, {key}, buf, 64)  # KEYCTL_READ of the caller's key by id
print(ring != {caller_ring}, found, found_errno, read, ctypes.get_errno(), buf.value)
"""
            r = box.run(code)
            ring_differs, found, found_errno, read, read_errno, value = r.output.split()
            assert (ring_differs, found, int(found_errno)) == ("True", "-1", errno.ENOKEY), r
            assert read == "-1" and int(read_errno) in (errno.EACCES, errno.ENOKEY) and "hunter2" not in value
            assert "fresh_keyring" in box.layers
            assert_serves_correctly(box, n=2)
    finally:
        _keyctl(3, key)  # KEYCTL_REVOKE


# ---------------------------------------------------------------- 4. background processes of sessions


def test_a_session_blocks_background_processes_die_with_the_block(pool: Sandbox) -> None:
    start = (
        "import subprocess, os\np = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "pid = p.pid\nprint('started')"
    )
    alive = "import os\ntry:\n    os.kill(pid, 0)\n    print('alive')\nexcept ProcessLookupError:\n    print('gone')"
    assert pool.run(start, session="bg").output == "started\n"
    assert pool.run("p.wait(timeout=5)\n" + alive, session="bg").output == "gone\n"
    assert pool.run(start, session="bg", keep_background=True).output == "started\n"  # opted in
    assert pool.run(alive, session="bg").output == "alive\n"
    pool.close_session("bg")
    healthy(pool)


def test_a_double_forked_daemon_of_a_session_block_is_killed_too(pool: Sandbox) -> None:
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        open('/tmp/daemon', 'w').close()\n        time.sleep(300)\n    os._exit(0)\n"
        "os.wait()\ntime.sleep(0.2)\nprint(sorted(p for p in os.listdir('/proc') if p.isdigit()) != [str(os.getpid())])"
    )
    assert pool.run(code, session="daemon").output == "True\n"  # the daemon ran during the block
    r = pool.run(
        "import os\nprint([p for p in os.listdir('/proc') if p.isdigit()] == [str(os.getpid())])",
        session="daemon",
    )
    assert r.output == "True\n", r  # and is gone after it
    pool.close_session("daemon")
    healthy(pool)


# --------------------------------------------------------------------------- 5. timeouts at the API


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, -1.0, 0, True, "5", 1e9])
def test_a_nonsensical_timeout_is_a_value_error_at_the_api(pool: Sandbox, timeout: object) -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        pool.run("print(1)", timeout_s=timeout)  # type: ignore[arg-type]
    healthy(pool)


@pytest.mark.parametrize("memory", [math.nan, math.inf, -5, 8, 2.5, "512"])
def test_a_nonsensical_memory_limit_is_a_value_error_at_the_api(pool: Sandbox, memory: object) -> None:
    with pytest.raises(ValueError, match="memory_mb"):
        pool.run("print(1)", memory_mb=memory)  # type: ignore[arg-type]
    healthy(pool)


def test_nonsensical_defaults_are_refused_at_construction() -> None:
    for kwargs in ({"timeout_s": math.nan}, {"timeout_s": math.inf}, {"session_ttl_s": math.nan}):
        with pytest.raises(ValueError):
            Sandbox(**kwargs)


# ------------------------------------------------------------------------ 6. lone surrogates, bad bytes


@pytest.mark.parametrize(
    "code,expected",
    [
        ("print('a\\ud800b')", "a\\ud800b\n"),  # stdout
        ("raise ValueError('bad \\udcff')", "ValueError: bad \\udcff"),  # an exception
        (
            "class X:\n    def __repr__(self):\n        return '\\ud834'\nX()",
            "\\ud834",
        ),  # the last expression's repr
        (
            "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe ok\\n')",
            "\\xff\\xfe ok\n",
        ),  # bytes that are not UTF-8
    ],
)
def test_lone_surrogates_and_bad_bytes_come_back_escaped(pool: Sandbox, code: str, expected: str) -> None:
    r = pool.run(code)
    assert r.output == expected, r
    for text in (r.output, r.stdout, r.stderr, r.error or ""):
        text.encode("utf-8")  # strict: what the HTTP layer, polars and pyarrow need
    json.dumps([r.output, r.stderr], ensure_ascii=False).encode("utf-8")
    healthy(pool)


def test_a_lone_surrogate_in_stdin_and_in_fetch_files_names(pool: Sandbox) -> None:
    r = pool.run("import sys\nprint(sys.stdin.read())", stdin="in\ud800put")
    assert r.output == "in\\ud800put\n"
    r = pool.run("open('out.txt', 'w').write('x')", fetch_files=["out.txt", "bad\ud800name"])
    assert r.status == "ok" and set(r.extra["files"]) == {"out.txt"}
    healthy(pool)


def test_a_large_output_split_inside_a_character_stays_valid_text(pool: Sandbox) -> None:
    r = pool.run("print('é' * 3_000_000)")  # 6 MB of 2-byte characters: the capture keeps head and tail
    assert r.status == "ok" and r.truncated
    assert set(r.stdout.replace("\n", "").split("...[truncated")[0]) == {"é"}
    assert "\\x" not in r.stdout
    healthy(pool)


def test_a_forged_frame_then_a_real_crash_is_still_one_result(pool: Sandbox) -> None:
    r = pool.run(forged_frame(b"[[[[", then="import os\nos._exit(3)"))
    assert r.status == "error" and r.extra.get("reason") == "bad_report"
    healthy(pool)


def test_a_per_run_memory_limit_applies_to_that_run_only(pool: Sandbox) -> None:
    fill = (
        "import os\nfds = [os.memfd_create('x') for _ in range(4)]\n"
        "for fd in fds:\n    os.posix_fallocate(fd, 0, 50 << 20)\nprint('ok')"
    )  # 200 MB
    if "memory_cgroup" not in pool.layers:
        pytest.fail("this case needs the memory cgroup layer")
    for _ in range(3):  # every uid of the pool sees the smaller limit once, then the default again
        r = pool.run(fill, memory_mb=64)
        assert r.status == "memory" and "(64 MB)" in r.output, r
        assert pool.run(fill).output == "ok\n"  # fits the pool's 256 MB again
    healthy(pool)
