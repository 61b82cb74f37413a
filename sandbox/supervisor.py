"""The supervisor process: builds the sandbox once, then serves runs (see `scheduler.Scheduler`).

Started by `Sandbox` as `python -s -P -c ...` with a clean environment and one socket (its only link to the
caller). Boot order:
1. import the preload modules and run the warm-up (as root, while the real filesystem is still visible);
2. unshare mount, network, pid, IPC and UTS namespaces (all or nothing unless degraded mode is allowed), create
   the sandbox's memory cgroup and compile its seccomp profile;
3. fork the fork server, which becomes pid 1 of the new pid namespace, pivots into a read-only root made of
   the interpreter, its site-packages and /usr only, loads the seccomp profile (inherited by every run),
   freezes the heap and reports ready;
4. report the active layers to the caller and enter the event loop.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import random
import signal
import socket
import sys
import traceback
from typing import Any

from sandbox import forkserver, isolation, memcg, procs, runner, scheduler, syscall_filter  # noqa: F401 - before the pivot
from sandbox.config import SandboxConfig
from sandbox.protocol import encode, recv_frame

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
BASE_LAYERS = ("rlimits", "clean_environment", "wall_clock_timeout", "kill_descendants", "private_tmp")


def main(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    # First of all: drop the caller's session keyring (each run also joins its own fresh one).
    keyring = isolation.join_fresh_keyring()
    hello = recv_frame(sock)
    if hello is None:
        os._exit(0)
    cfg = SandboxConfig.from_dict(hello["config"])
    try:
        fs_sock, fs_pid, layers, info, cgroup = bootstrap(cfg, sock, keyring)
    except Exception as e:  # noqa: BLE001 - reported to the caller, who raises it
        detail = str(e) if isinstance(e, isolation.IsolationError) else traceback.format_exc()
        sock.sendall(encode({"event": "fatal", "error": detail}))
        os._exit(2)
    info.update(event="ready", layers=sorted(layers), supervisor_pid=os.getpid(), forkserver_pid=fs_pid)
    sock.sendall(encode(info))
    scheduler.Scheduler(sock, fs_sock, fs_pid, cfg, range(*info["uid_range"]), cgroup).serve()


def bootstrap(cfg: SandboxConfig, caller: socket.socket, keyring: bool = False
              ) -> tuple[socket.socket, int, frozenset[str], dict[str, Any], memcg.MemoryCgroup | None]:
    os.chdir("/")
    warnings: list[str] = []
    for name in cfg.preload:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a missing optional module is a warning, not a failure
            warnings.append(f"preload {name}: {type(e).__name__}: {e}")
    if cfg.warmup:
        try:
            exec(compile(cfg.warmup, "<warmup>", "exec", dont_inherit=True), {"__name__": "__warmup__"})
        except Exception as e:  # noqa: BLE001
            warnings.append(f"warmup: {type(e).__name__}: {e}")

    layers = set(BASE_LAYERS)
    is_root = os.geteuid() == 0
    if is_root:
        layers.add("uid_drop")
    elif not cfg.allow_degraded:
        raise isolation.IsolationError(
            "the sandbox must start as root (in a container is fine) to drop each run to its own uid and build "
            "its namespaces; pass allow_degraded=True (--allow-degraded) to run with rlimits, a clean "
            "environment and timeouts only"
        )
    # Before the namespaces: loading libseccomp runs `ldconfig -p`, which must not become pid 1 of the new one.
    cgroup = _memory_cgroup(cfg, is_root, warnings)
    seccomp = _seccomp_filter(cfg, deny_unaccounted_memory=cgroup is None, warnings=warnings)
    layers |= _unshare(cfg.allow_degraded, warnings)
    if "mount_namespace" not in layers:
        layers.discard("private_tmp")  # a fresh directory per run on the host's /tmp instead
    if not is_root:
        # Without our own uid per run, leftovers can only be found by process group (setsid escapes it).
        layers.discard("kill_descendants")
        warnings.append("DEGRADED: not root: runs keep the caller's uid; only their process group is killed")

    if keyring:
        layers.add("fresh_keyring")
    if cgroup is not None:
        layers.add("memory_cgroup")

    uid_count = 2 * cfg.workers + cfg.spare_count + cfg.max_sessions + 16
    uid_base = isolation.pick_id_range(uid_count, random.SystemRandom())
    moves = isolation.interpreter_moves(interpreter_prefixes()) if "mount_namespace" in layers else {}
    sources = isolation.open_sources(exposed_paths(cfg, moves), moves) if "mount_namespace" in layers else []
    _restrict_sys_path([p for p, *_ in sources])
    etc = etc_files(range(uid_base, uid_base + uid_count))

    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for s in (parent_end, child_end):
        _grow_buffers(s)
    fs_pid = os.fork()
    if fs_pid == 0:
        caller.close()
        parent_end.close()
        _forkserver_main(child_end, cfg, frozenset(layers), sources, etc, range(uid_base, uid_base + uid_count),
                         moves, cgroup, seccomp)
    child_end.close()
    for _, fd, *_ in sources:
        if fd >= 0:
            os.close(fd)
    data = parent_end.recv(1 << 16)
    reply = json.loads(data) if data else {"op": "fatal", "error": "the fork server died during setup"}
    if reply["op"] != "ready":
        raise isolation.IsolationError(reply["error"])
    if "proc_hidepid" not in reply.get("layers", []):
        warnings.append("/proc without hidepid: runs can list (not read) each other's processes")
    layers |= set(reply.get("layers", []))
    info = {"warnings": warnings, "uid_range": [uid_base, uid_base + uid_count], "hugepages_mb": reply["hugepages_mb"],
            "memory_cgroup": cgroup.path if cgroup is not None else None, "interpreter_moves": moves}
    return parent_end, fs_pid, frozenset(layers), info, cgroup


def _memory_cgroup(cfg: SandboxConfig, is_root: bool, warnings: list[str]) -> memcg.MemoryCgroup | None:
    """The sandbox's memory cgroup, or None with a DEGRADED warning (the seccomp profile then covers memfd/shm)."""
    if not cfg.memory_cgroup:
        reason = "memory_cgroup=False"
    elif not is_root:
        reason = "not root"
    else:
        try:
            return memcg.MemoryCgroup.create()
        except memcg.CgroupUnavailable as e:
            reason = str(e)
    warnings.append(f"DEGRADED: no memory cgroup ({reason}): memory_mb bounds each process's address space, "
                    "memfd_create and System V shared memory are denied, /tmp is capped at scratch_mb")
    return None


def _seccomp_filter(cfg: SandboxConfig, deny_unaccounted_memory: bool,
                    warnings: list[str]) -> syscall_filter.CompiledFilter | None:
    if not cfg.seccomp:
        warnings.append("DEGRADED: seccomp=False: runs can make every system call the kernel allows them")
        return None
    try:
        return syscall_filter.build(deny_unaccounted_memory)
    except isolation.IsolationError as e:
        if not cfg.allow_degraded:
            raise isolation.IsolationError(f"{e}; or pass allow_degraded=True to run without a seccomp profile") from None
        warnings.append(f"DEGRADED: no seccomp profile ({e})")
        return None


def _grow_buffers(sock: socket.socket, size: int = 8 << 20) -> None:
    """Room for thousands of small messages, so neither side of the fork-server link ever blocks long."""
    for force, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):  # SO_{RCV,SND}BUFFORCE
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, size)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, plain, size)


def _unshare(allow_degraded: bool, warnings: list[str]) -> set[str]:
    try:
        isolation.unshare(sum(isolation.NAMESPACE_LAYERS.values()), "unshare(mount, net, pid, ipc, uts)")
        return set(isolation.NAMESPACE_LAYERS)
    except isolation.IsolationError as e:
        if not allow_degraded:
            raise isolation.IsolationError(
                f"{e}: the kernel or container refuses new namespaces, so runs would see the network and the "
                "host's files. Give the container CAP_SYS_ADMIN (or run it --privileged), or pass "
                "allow_degraded=True (--allow-degraded) to accept weaker isolation."
            ) from None
    got = set()
    for name, flag in isolation.NAMESPACE_LAYERS.items():
        try:
            isolation.unshare(flag, name)
            got.add(name)
        except isolation.IsolationError as e:
            warnings.append(f"DEGRADED: no {name} ({e})")
    return got


def interpreter_prefixes() -> list[str]:
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    return [os.path.abspath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix, exe_dir)]


def exposed_paths(cfg: SandboxConfig, moves: dict[str, str] | None = None) -> list[str]:
    """What the sandbox's root filesystem shows: /usr, the interpreter's prefixes, and extra paths.

    A path inside another one is dropped (the outer bind shows it). An interpreter prefix that moves to a fixed
    place (`isolation.interpreter_moves`) is bound there on its own, and an extra path inside a moved prefix is
    still bound at its own path.
    """
    prefixes = interpreter_prefixes()
    wanted = list(SYSTEM_DIRS)
    for p in (*prefixes, *cfg.extra_ro_paths):
        p = os.path.abspath(p)
        if p == "/":
            raise isolation.IsolationError("the Python installation lives at / : cannot expose it alone")
        wanted.append(p)
    moved = set(moves or ())
    out: list[str] = []
    for p in sorted(set(wanted), key=len):
        shown_by = [q for q in out if _is_within(p, q)]
        if p in moved or not any(q not in moved or p in prefixes for q in shown_by):
            out.append(p)
    return out


def _restrict_sys_path(exposed: list[str]) -> None:
    """Drop import paths the runs cannot see (the repository this package was started from, PYTHONPATH)."""
    if not exposed:
        return
    visible = {os.path.realpath(p) for p in exposed} | set(exposed)
    sys.path[:] = [p for p in sys.path if p and any(_is_within(os.path.realpath(p), v) for v in visible)]
    importlib.invalidate_caches()


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def etc_files(uids: range) -> dict[str, bytes]:
    users = "".join(f"sandbox{u - uids.start}:x:{u}:{u}:sandbox:/tmp:/usr/sbin/nologin\n" for u in uids)
    groups = "".join(f"sandbox{u - uids.start}:x:{u}:\n" for u in uids)
    files = {
        "passwd": ("root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n" + users).encode(),
        "group": ("root:x:0:\nnogroup:x:65534:\n" + groups).encode(),
        "hosts": b"127.0.0.1 localhost\n::1 localhost\n",
        "hostname": b"sandbox\n",
        "nsswitch.conf": b"passwd: files\ngroup: files\nhosts: files\n",
        "resolv.conf": b"",
    }
    for name in ("ld.so.cache", "ld.so.conf", "localtime"):
        try:
            with open(f"/etc/{name}", "rb") as f:
                files[name] = f.read()
        except OSError:
            pass
    return files


def _forkserver_main(sock: socket.socket, cfg: SandboxConfig, layers: frozenset[str], sources: list,
                     etc: dict[str, bytes], uid_range: range, moves: dict[str, str],
                     cgroup: memcg.MemoryCgroup | None, seccomp: syscall_filter.CompiledFilter | None) -> None:
    """In the forked child: become pid 1 of the sandbox, build its filesystem, serve forks. Never returns."""
    try:
        isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
        extra, under_tmp = [], []
        if "pid_namespace" not in layers:
            isolation.prctl(isolation.PR_SET_CHILD_SUBREAPER, 1)
        if "mount_namespace" in layers:
            isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
            isolation.mount("tmpfs", "/tmp", "tmpfs", isolation.MS_NOSUID | isolation.MS_NODEV, "size=16m,mode=0755")
            under_tmp = isolation.build_root("/tmp", sources, etc, proc_hidepid=True)
            isolation.relocate_interpreter(moves)
            extra.append("read_only_root")
            if _hidepid_active():
                extra.append("proc_hidepid")
        if "uts_namespace" in layers:
            socket.sethostname("sandbox")
        run_cfg = dict(cfg.to_dict(), under_tmp=under_tmp, memcg=cgroup, memcg_headroom=_resident_bytes() + memcg.HEADROOM,
                       per_run_keyring=seccomp is None)
        if seccomp is not None:
            if "uid_drop" not in layers:
                isolation.prctl(isolation.PR_SET_NO_NEW_PRIVS, 1)  # unprivileged: required to load a filter
            seccomp.load()  # every run forked from here on inherits it
            extra.append("seccomp")
        _probe_run_setup(run_cfg, layers, uid_range.start)
        runner.prepare_interpreter()
        mb = isolation.collapse_hugepages() if cfg.hugepages else 0
        gc.collect()
        gc.freeze()
        sock.send(json.dumps({"op": "ready", "hugepages_mb": mb, "layers": extra}).encode())
    except BaseException as e:  # noqa: BLE001
        try:
            sock.send(json.dumps({"op": "fatal", "error": f"fork server setup: {e}"}).encode())
        finally:
            os._exit(3)
    try:
        forkserver.ForkServer(sock, run_cfg, layers, uid_range).serve()
    finally:
        os._exit(4)


def _probe_run_setup(cfg: dict[str, Any], layers: frozenset[str], uid: int) -> None:
    """Set up one throw-away run now, so a kernel that refuses a per-run step fails the start, not every run."""
    if cfg["memcg"] is not None:
        cfg["memcg"].prepare(uid, cfg["memcg_headroom"] + (cfg["memory_mb"] << 20))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        msg = b""
        try:
            if "mount_namespace" in layers:
                isolation.mount_scratch(uid, 1, cfg["under_tmp"])
            if cfg["per_run_keyring"]:
                isolation.join_fresh_keyring()
            if cfg["memcg"] is not None:
                cfg["memcg"].join(uid)
            if "uid_drop" in layers:
                isolation.drop_privileges(uid)
        except BaseException as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}".encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        error = f.read().decode()
    os.waitpid(pid, 0)
    if error:
        raise isolation.IsolationError(f"a run could not be set up: {error}")


def _resident_bytes() -> int:
    """The warm interpreter's resident size: what a run can copy-on-write on top of its own allocations."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _hidepid_active() -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            return any(" /proc " in line and "hidepid" in line for line in f)
    except OSError:
        return False
