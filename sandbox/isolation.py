"""Kernel isolation primitives: namespaces, the read-only root filesystem, rlimits, privilege drop.

Python 3.11 has no `os.unshare`/`mount`/`pivot_root`, so they are called through libc. Every failure raises
`IsolationError` with the layer's name and errno text: the supervisor turns it into a loud startup error
unless the user opted in to degraded isolation.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import random
import resource
import stat

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

HOST_TMP_STAGE = "/.host-tmp"  # where extra paths that live under the host's /tmp are staged
# Where an interpreter prefix that lives under the host's /tmp (a CI checkout's virtualenv) is mounted: never
# under /tmp, which is each run's own scratch directory.
INTERPRETER_ROOT = "/.python"

MADV_HUGEPAGE = 14
MADV_COLLAPSE = 25

# Namespaces the supervisor asks for, by layer name (the names appear in `Sandbox.layers` and the docs).
NAMESPACE_LAYERS: dict[str, int] = {
    "mount_namespace": CLONE_NEWNS,
    "network_namespace": CLONE_NEWNET,
    "pid_namespace": CLONE_NEWPID,
    "ipc_namespace": CLONE_NEWIPC,
    "uts_namespace": CLONE_NEWUTS,
}

_PIVOT_ROOT_SYSCALL = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_KEYCTL_SYSCALL = {"x86_64": 250, "aarch64": 219, "riscv64": 219, "ppc64le": 271, "s390x": 280}
KEYCTL_JOIN_SESSION_KEYRING = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long


class IsolationError(RuntimeError):
    """A sandbox layer could not be set up (the message names the layer and the kernel's reason)."""


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise IsolationError(f"{what}: {errno.errorcode.get(err, err)} ({os.strerror(err)})")


def _b(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def unshare(flags: int, what: str = "unshare") -> None:
    _check(_libc.unshare(flags), what)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _PIVOT_ROOT_SYSCALL.get(platform.machine())
    if nr is None:
        raise IsolationError(f"pivot_root: unsupported architecture {platform.machine()}")
    _check(_libc.syscall(nr, _b(new_root), _b(put_old)), "pivot_root")


def prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def join_fresh_keyring() -> bool:
    """Replace the session keyring inherited from the caller (a login's, a systemd service's, a container
    runtime's) with a new, empty, anonymous one. False when the kernel has no keyrings or a container's own
    seccomp profile refuses keyctl (then there is no keyring to reach either)."""
    nr = _KEYCTL_SYSCALL.get(platform.machine())
    if nr is None:
        return False
    if _libc.syscall(nr, KEYCTL_JOIN_SESSION_KEYRING, None) >= 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM, errno.EACCES):
        return False
    raise IsolationError(f"keyctl(JOIN_SESSION_KEYRING): {errno.errorcode.get(err, err)} ({os.strerror(err)})")


# ------------------------------------------------------------------------------------------- filesystem


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _remount_ro(target: str) -> None:
    """Make a bind mount (and every mount below it) read-only, nosuid and nodev."""
    targets = [target]
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp.startswith(target.rstrip("/") + "/"):
                targets.append(mp)
    for t in targets:
        mount(None, t, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def bind_ro(fd_path: str, target: str, is_dir: bool) -> None:
    if is_dir:
        _mkdirs(target)
    else:
        _mkdirs(os.path.dirname(target))
        open(target, "a").close()
    mount(fd_path, target, None, MS_BIND | MS_REC)
    _remount_ro(target)


def open_sources(paths: list[str], moves: dict[str, str] | None = None) -> list[tuple[str, int, str | None, str]]:
    """O_PATH handles of what the new root will show, taken before anything is mounted over /tmp.

    Returns (path, fd, symlink_target, path_in_sandbox): the path in the sandbox is `moves[path]` when given
    (an interpreter prefix under /tmp), else the path itself; a top-level symlink such as /bin -> usr/bin is
    recreated as a symlink rather than bound.
    """
    out = []
    for p in paths:
        if not os.path.lexists(p):
            continue
        if os.path.islink(p) and os.path.dirname(p) == "/":
            out.append((p, -1, os.readlink(p), p))
            continue
        path = os.path.abspath(p)
        out.append((path, os.open(p, os.O_PATH | os.O_CLOEXEC), None, (moves or {}).get(path, path)))
    return out


def build_root(
    new_root: str, sources: list[tuple[str, int, str | None, str]], etc_files: dict[str, bytes], proc_hidepid: bool
) -> list[str]:
    """Turn `new_root` (a fresh tmpfs) into the sandbox's whole filesystem and pivot into it.

    The result: the given sources read-only at their own paths, a synthetic /etc, a minimal /dev, a
    private /proc for the new pid namespace, and an empty read-only /tmp on which each run mounts its own
    scratch tmpfs. Everything else of the host (homes, the repository, /root, /run, /var, /sys) is absent.
    Interpreter prefixes under the host's /tmp arrive already moved to INTERPRETER_ROOT (see
    `interpreter_moves`). Extra paths under the host's /tmp would be hidden by each run's /tmp: they are staged
    under HOST_TMP_STAGE and returned, for `mount_scratch` to bind into every run's /tmp at their own path.
    """
    under_tmp = []
    for _, fd, link, target in sources:
        dst = new_root + target
        if target == "/tmp":
            raise IsolationError("cannot expose the host's /tmp itself")
        if target.startswith("/tmp/"):
            under_tmp.append(target[len("/tmp"):])
            dst = new_root + HOST_TMP_STAGE + target[len("/tmp"):]
        if link is not None:
            os.symlink(link, dst)
            continue
        is_dir = stat.S_ISDIR(os.stat(f"/proc/self/fd/{fd}").st_mode)
        bind_ro(f"/proc/self/fd/{fd}", dst, is_dir)
        os.close(fd)
    _mkdirs(new_root + "/etc")
    for name, data in etc_files.items():
        with open(f"{new_root}/etc/{name}", "wb") as f:
            f.write(data)
    dev = new_root + "/dev"
    _mkdirs(dev)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for node in ("null", "zero", "full", "random", "urandom"):
        src = "/dev/" + node
        if os.path.exists(src):
            open(f"{dev}/{node}", "a").close()
            mount(src, f"{dev}/{node}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("shm", "/tmp")):
        os.symlink(target, f"{dev}/{name}")
    mount(None, dev, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    for d in ("/proc", "/tmp", "/.oldroot"):
        _mkdirs(new_root + d)
    # Before the pivot: inside a user namespace the kernel only allows a new procfs while a fully visible
    # one is still mounted in this mount namespace.
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    try:
        mount("proc", new_root + "/proc", "proc", flags, "hidepid=invisible" if proc_hidepid else None)
    except IsolationError:
        mount("proc", new_root + "/proc", "proc", flags, None)
    os.chdir(new_root)
    pivot_root(".", ".oldroot")
    os.chdir("/")
    umount("/.oldroot", MNT_DETACH)
    os.rmdir("/.oldroot")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    return under_tmp


def mount_scratch(uid: int, size_mb: int, under_tmp: list[str] = ()) -> None:
    """A per-run tmpfs at /tmp in a per-run mount namespace: empty, private, freed with the run."""
    unshare(CLONE_NEWNS | CLONE_NEWIPC, "per-run mount namespace")
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={size_mb}m,nr_inodes=4096,mode=0700,uid={uid},gid={uid}")
    for rel in under_tmp:
        bind_ro(HOST_TMP_STAGE + rel, "/tmp" + rel, True)


def interpreter_moves(prefixes: list[str]) -> dict[str, str]:
    """Fixed places in the sandbox for the interpreter prefixes that live under the host's /tmp.

    Elsewhere (/usr, /root/.pyenv, /srv/checkout/.venv) a prefix keeps its own path; under /tmp it would sit in
    every run's scratch directory, so it moves to INTERPRETER_ROOT/<n> and the warm interpreter is told
    (`relocate_interpreter`). Nested prefixes move with their outermost one.
    """
    roots: list[str] = []
    for p in sorted({os.path.abspath(p) for p in prefixes}, key=len):
        if p.startswith("/tmp/") and not any(p == r or p.startswith(r + "/") for r in roots):
            roots.append(p)
    return {root: f"{INTERPRETER_ROOT}/{i}" for i, root in enumerate(roots)}


def relocate_interpreter(moves: dict[str, str]) -> None:
    """Point the warm interpreter at where its files are now: sys paths, every loaded module's file, package
    path, spec and loader, so that lazy imports and package data keep working after the pivot."""
    import importlib
    import linecache
    import sys
    import sysconfig

    if not moves:
        return
    pairs = sorted(moves.items(), key=lambda kv: -len(kv[0]))

    def fix(p: object) -> object:
        if isinstance(p, str):
            for old, new in pairs:
                if p == old or p.startswith(old + "/"):
                    return new + p[len(old) :]
        return p

    def fix_list(paths: object) -> None:
        if isinstance(paths, list):
            paths[:] = [fix(x) for x in paths]
        elif paths is not None and isinstance(getattr(paths, "_path", None), list):  # importlib's _NamespacePath
            paths._path[:] = [fix(x) for x in paths._path]

    sys.path[:] = [fix(p) for p in sys.path]
    for attr in ("prefix", "exec_prefix", "base_prefix", "base_exec_prefix", "executable", "_base_executable"):
        if isinstance(getattr(sys, attr, None), str):
            setattr(sys, attr, fix(getattr(sys, attr)))
    for module in list(sys.modules.values()):
        d = getattr(module, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for key in ("__file__", "__cached__"):
            if isinstance(d.get(key), str):
                d[key] = fix(d[key])
        fix_list(d.get("__path__"))
        spec = d.get("__spec__")
        if spec is not None:
            spec.origin = fix(spec.origin)
            if isinstance(getattr(spec, "_cached", None), str):
                spec._cached = fix(spec._cached)
            fix_list(spec.submodule_search_locations)
        loader = d.get("__loader__")
        if isinstance(getattr(loader, "path", None), str):
            try:
                loader.path = fix(loader.path)
            except (AttributeError, TypeError):
                pass
    config = getattr(sysconfig, "_CONFIG_VARS", None)  # only if already computed: computing it imports more
    if isinstance(config, dict):
        for key, value in config.items():
            config[key] = fix(value)
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    linecache.clearcache()


# ----------------------------------------------------------------------------------------- the process


def set_rlimits(limits: dict[str, int]) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def drop_privileges(uid: int) -> None:
    """Become `uid` for good: no groups, no capabilities, no way back (no setuid binaries either)."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    # A uid change makes the process non-dumpable, which would make its /proc entries root-owned and
    # break normal tools (and our own leftover scan); core dumps stay off through RLIMIT_CORE=0.
    prctl(PR_SET_DUMPABLE, 1)
    if os.getuid() != uid or os.geteuid() != uid or os.getgid() != uid:
        raise IsolationError("privilege drop did not take effect")


def collapse_hugepages() -> int:
    """Back the warm interpreter's heap with transparent huge pages (best effort).

    Fork copies one page-table entry per 4 KiB page: with the heap in 2 MiB pages the per-run fork and
    exit of a process holding sympy and numpy get about twice as cheap. Returns the MiB collapsed.
    """
    done = 0
    try:
        with open("/proc/self/maps") as f:
            lines = f.readlines()
    except OSError:
        return 0
    for line in lines:
        parts = line.split()
        if not parts[1].startswith("rw") or (len(parts) > 5 and parts[5] != "[heap]"):
            continue
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        lo, hi = (lo + 0x1FFFFF) & ~0x1FFFFF, hi & ~0x1FFFFF
        if hi <= lo:
            continue
        _libc.madvise(lo, hi - lo, MADV_HUGEPAGE)
        if _libc.madvise(lo, hi - lo, MADV_COLLAPSE) == 0:
            done += (hi - lo) >> 20
    return done


def _id_map(path: str) -> list[tuple[int, int]]:
    try:
        with open(path) as f:
            return [(int(inner), int(count)) for inner, _, count in (line.split() for line in f)]
    except (OSError, ValueError):
        return [(0, 1 << 32)]


def pick_id_range(count: int, rng: random.Random) -> int:
    """A random first id of `count` consecutive uids (and gids) that exist in this user namespace.

    On a host every id exists and the range is drawn from [2^20, 2^31); in a rootless container only the
    mapped ids (often 0-65535) can be used, nobody (65534) excluded. Random, so that two sandboxes on one
    kernel almost never share a uid (RLIMIT_NPROC counts per uid).
    """
    spans = []
    for u_lo, u_n in _id_map("/proc/self/uid_map"):
        for g_lo, g_n in _id_map("/proc/self/gid_map"):
            lo, hi = max(u_lo, g_lo, 1000), min(u_lo + u_n, g_lo + g_n, 1 << 31)
            if lo < 65534 < hi:
                spans += [(lo, 65534), (65535, hi)]
            else:
                spans.append((lo, hi))
    spans = [(max(lo, 1 << 20) if hi - lo > 1 << 24 else lo, hi) for lo, hi in spans]
    spans = [(lo, hi) for lo, hi in spans if hi - lo >= count]
    if not spans:
        raise IsolationError(f"no range of {count} unused uids/gids is mapped in this user namespace")
    lo, hi = max(spans, key=lambda span: span[1] - span[0])
    return rng.randrange(lo, hi - count + 1)


def vm_size_bytes() -> int:
    # Raw os.read, not open(): every run calls this right after fork, and the text-file stack touched ~60 more
    # of the fork server's pages (each a copy-on-write fault, ~10% of a run's faults).
    fd = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    try:
        return int(os.read(fd, 4096).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    finally:
        os.close(fd)
