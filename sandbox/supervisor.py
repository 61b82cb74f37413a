"""The supervisor process: builds the sandbox once, then serves runs (see `scheduler.Scheduler`).

Started by `Sandbox` as `python -s -P -c ...` with a clean environment and one socket (its only link to the
caller). Boot order:
1. import the preload modules and run the warm-up (as root, while the real filesystem is still visible);
2. unshare mount, network, pid, IPC and UTS namespaces (all or nothing unless degraded mode is allowed);
3. fork the fork server, which becomes pid 1 of the new pid namespace, pivots into a read-only root made of
   the interpreter, its site-packages and /usr only, freezes the heap and reports ready;
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

from sandbox import forkserver, isolation, procs, runner, scheduler  # noqa: F401 - imported before the pivot
from sandbox.config import SandboxConfig
from sandbox.protocol import encode, recv_frame

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
BASE_LAYERS = ("rlimits", "clean_environment", "wall_clock_timeout", "kill_descendants", "private_tmp")


def main(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    hello = recv_frame(sock)
    if hello is None:
        os._exit(0)
    cfg = SandboxConfig.from_dict(hello["config"])
    try:
        fs_sock, fs_pid, layers, info = bootstrap(cfg, sock)
    except Exception as e:  # noqa: BLE001 - reported to the caller, who raises it
        detail = str(e) if isinstance(e, isolation.IsolationError) else traceback.format_exc()
        sock.sendall(encode({"event": "fatal", "error": detail}))
        os._exit(2)
    info.update(event="ready", layers=sorted(layers), supervisor_pid=os.getpid(), forkserver_pid=fs_pid)
    sock.sendall(encode(info))
    scheduler.Scheduler(sock, fs_sock, fs_pid, cfg, range(*info["uid_range"])).serve()


def bootstrap(cfg: SandboxConfig, caller: socket.socket) -> tuple[socket.socket, int, frozenset[str], dict[str, Any]]:
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
    layers |= _unshare(cfg.allow_degraded, warnings)
    if "mount_namespace" not in layers:
        layers.discard("private_tmp")  # a fresh directory per run on the host's /tmp instead
    if not is_root:
        # Without our own uid per run, leftovers can only be found by process group (setsid escapes it).
        layers.discard("kill_descendants")
        warnings.append("DEGRADED: not root: runs keep the caller's uid; only their process group is killed")

    uid_count = 2 * cfg.workers + cfg.spare_count + cfg.max_sessions + 16
    uid_base = isolation.pick_id_range(uid_count, random.SystemRandom())
    sources = isolation.open_sources(exposed_paths(cfg)) if "mount_namespace" in layers else []
    _restrict_sys_path([p for p, _, _ in sources])
    etc = etc_files(range(uid_base, uid_base + uid_count))

    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for s in (parent_end, child_end):
        _grow_buffers(s)
    fs_pid = os.fork()
    if fs_pid == 0:
        caller.close()
        parent_end.close()
        _forkserver_main(child_end, cfg, frozenset(layers), sources, etc, range(uid_base, uid_base + uid_count))
    child_end.close()
    for _, fd, _ in sources:
        if fd >= 0:
            os.close(fd)
    data = parent_end.recv(1 << 16)
    reply = json.loads(data) if data else {"op": "fatal", "error": "the fork server died during setup"}
    if reply["op"] != "ready":
        raise isolation.IsolationError(reply["error"])
    if "proc_hidepid" not in reply.get("layers", []):
        warnings.append("/proc without hidepid: runs can list (not read) each other's processes")
    layers |= set(reply.get("layers", []))
    info = {"warnings": warnings, "uid_range": [uid_base, uid_base + uid_count], "hugepages_mb": reply["hugepages_mb"]}
    return parent_end, fs_pid, frozenset(layers), info


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


def exposed_paths(cfg: SandboxConfig) -> list[str]:
    """What the sandbox's root filesystem shows: /usr, the interpreter's prefixes, and extra paths."""
    wanted = list(SYSTEM_DIRS)
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix, exe_dir, *cfg.extra_ro_paths):
        p = os.path.abspath(p)
        if p == "/":
            raise isolation.IsolationError("the Python installation lives at / : cannot expose it alone")
        wanted.append(p)
    out: list[str] = []
    for p in sorted(set(wanted), key=len):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
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
                     etc: dict[str, bytes], uid_range: range) -> None:
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
            extra.append("read_only_root")
            if _hidepid_active():
                extra.append("proc_hidepid")
        if "uts_namespace" in layers:
            socket.sethostname("sandbox")
        run_cfg = dict(cfg.to_dict(), under_tmp=under_tmp)
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
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        msg = b""
        try:
            if "mount_namespace" in layers:
                isolation.mount_scratch(uid, 1, cfg["under_tmp"])
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


def _hidepid_active() -> bool:
    try:
        with open("/proc/self/mountinfo") as f:
            return any(" /proc " in line and "hidepid" in line for line in f)
    except OSError:
        return False
