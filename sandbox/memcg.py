"""Per-run memory cgroups: every page a run can pin (anonymous, shmem, memfd, its tmpfs /tmp) counts against one
limit, which `RLIMIT_AS` alone cannot do (it only bounds one process's address space).

The sandbox gets its own directory below the supervisor's own memory cgroup (`retool-sandbox-<pid>`), and each
run uid a child of it (`run-<uid>`), so the limit only ever narrows what the caller already had. cgroup v1 (a
`memory` hierarchy) and cgroup v2 both work; v2 needs a cgroup where the memory controller can be enabled for
children (the caller's own cgroup has processes, so usually only a delegated one). Everything is reached through
a directory descriptor opened before the pivot: neither the supervisor nor the runs see /sys afterwards.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time

PREFIX = "retool-sandbox-"
HEADROOM = (
    16 << 20
)  # on top of memory_mb and the warm interpreter's resident size (page tables, kernel buffers)


class CgroupUnavailable(OSError):
    """No memory cgroup this process may create children in (the reason is the message)."""


class MemoryCgroup:
    def __init__(self, path: str, version: int) -> None:
        self.path = path
        self.version = version
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        # Above the numbers a run's setup rewires (0-3), so the descriptor survives into `enter`.
        self.fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        self.limit_file = "memory.max" if version == 2 else "memory.limit_in_bytes"
        self.swap_file = "memory.swap.max" if version == 2 else "memory.memsw.limit_in_bytes"
        self.events_file = "memory.events" if version == 2 else "memory.oom_control"
        # A run joins while it is a fresh fork (one thread), so moving that thread moves the whole process. v1's
        # `tasks` moves just the writer; its `cgroup.procs` takes the system-wide threadgroup rwsem for writing:
        # every fork and exit on the machine waits behind each join, and an idle rwsem first waits for an RCU
        # grace period (stalls of 4-15 ms; benchmarks/sandbox_cgroup_join.py). v2 only has `cgroup.procs`.
        self.join_file = "cgroup.procs" if version == 2 else "tasks"
        self.limits: dict[int, int] = {}  # uid -> limit last written by `prepare` (fork server)

    # ----------------------------------------------------------------------------- supervisor side

    @classmethod
    def create(cls) -> MemoryCgroup:
        """A fresh sandbox directory below this process's memory cgroup; `CgroupUnavailable` says why not."""
        found = _own_memory_cgroup()
        if found is None:
            raise CgroupUnavailable("no memory cgroup controller is mounted for this process")
        base, version = found
        _remove_stale(base)
        path = os.path.join(base, f"{PREFIX}{os.getpid()}")
        try:
            if version == 2:
                _enable_memory(base)
            os.mkdir(path, 0o755)
            if version == 2:
                _enable_memory(path)
        except OSError as e:
            _rmdir_quietly(path)
            raise CgroupUnavailable(
                f"cannot create a memory cgroup under {base}: {os.strerror(e.errno or 0)}"
            ) from None
        return cls(path, version)

    def oom_kills(self, uid: int) -> int:
        """How many processes of run `uid` the kernel killed for exceeding the limit (cumulative)."""
        try:
            fd = os.open(f"run-{uid}/{self.events_file}", os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError:
            return 0
        try:
            for line in os.read(fd, 4096).decode().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        finally:
            os.close(fd)
        return 0

    def process_count(self, uid: int) -> int:
        """Processes in run `uid`'s cgroup now (-1 when it cannot be read)."""
        try:
            fd = os.open(f"run-{uid}/cgroup.procs", os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError:
            return -1
        try:
            return os.read(fd, 1 << 16).count(b"\n")
        except OSError:
            return -1
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- fork server and run side (root)

    def prepare(self, uid: int, limit: int) -> None:
        """In the fork server, before forking run `uid`: its cgroup exists with `limit` bytes. Writing a limit
        costs ~60 us (v1), so it is written only when it changes: once per uid, and after a run set its own."""
        if self.limits.get(uid) == limit:
            return
        name = f"run-{uid}"
        try:
            os.mkdir(name, 0o755, dir_fd=self.fd)
        except FileExistsError:
            pass
        self.set_run_limit(uid, limit)
        self.limits[uid] = limit

    def forget_limit(self, uid: int) -> None:
        """A run of `uid` set a limit of its own: the next `prepare` writes the default again."""
        self.limits.pop(uid, None)

    def join(self, uid: int) -> None:
        """In the forked run, still root: move into its cgroup (prepared by the fork server)."""
        procs = os.open(f"run-{uid}/{self.join_file}", os.O_WRONLY | os.O_CLOEXEC, dir_fd=self.fd)
        try:
            os.write(procs, b"0")
        finally:
            os.close(procs)

    def set_run_limit(self, uid: int, limit: int) -> None:
        name = f"run-{uid}"
        limit_fd = os.open(f"{name}/{self.limit_file}", os.O_WRONLY | os.O_CLOEXEC, dir_fd=self.fd)
        swap_fd = -1
        try:
            try:
                swap_fd = os.open(f"{name}/{self.swap_file}", os.O_WRONLY | os.O_CLOEXEC, dir_fd=self.fd)
            except FileNotFoundError:
                pass  # no swap accounting: nothing can be swapped out of the limit's reach either
            set_limit(limit_fd, swap_fd, limit, self.version)
        finally:
            os.close(limit_fd)
            if swap_fd >= 0:
                os.close(swap_fd)


def set_limit(limit_fd: int, swap_fd: int, limit: int, version: int) -> None:
    """Memory (and memory+swap, or no swap at all) of one run; v1 refuses memsw < limit, so order matters."""
    data = str(limit).encode()
    if swap_fd < 0:
        os.write(limit_fd, data)
    elif version == 2:
        os.write(limit_fd, data)
        os.write(swap_fd, b"0")
    else:
        try:
            os.write(limit_fd, data)  # lowering (or equal): memory first, then memory+swap
            os.write(swap_fd, data)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            os.write(swap_fd, data)  # raising: memory+swap first
            os.write(limit_fd, data)


def remove_tree(path: str, timeout_s: float = 2.0) -> bool:
    """Remove a sandbox directory and its run children once their processes are gone; True when done."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            children = [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return True
        except OSError:
            return False
        for child in children:
            _rmdir_quietly(child)
        if _rmdir_quietly(path) or not os.path.exists(path):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)  # the runs die with the fork server, but not in the same instant


def _own_memory_cgroup() -> tuple[str, int] | None:
    """(directory of this process's memory cgroup, cgroup version), v1's memory hierarchy first."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split() for line in f]
    except OSError:
        return None
    v1_path = v2_path = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            v2_path = path
        elif "memory" in controllers.split(","):
            v1_path = path
    for fields in mounts:
        sep = fields.index("-")
        fstype, options, root, mnt = fields[sep + 1], fields[-1], fields[3], fields[4].replace("\\040", " ")
        if v1_path is not None and fstype == "cgroup" and "memory" in options.split(","):
            return _join(mnt, root, v1_path), 1
    if v2_path is None:
        return None
    for fields in mounts:
        sep = fields.index("-")
        if fields[sep + 1] == "cgroup2":
            path = _join(fields[4].replace("\\040", " "), fields[3], v2_path)
            try:
                with open(os.path.join(path, "cgroup.controllers")) as f:
                    if "memory" in f.read().split():
                        return path, 2
            except OSError:
                pass
    return None


def _join(mountpoint: str, mount_root: str, cgroup_path: str) -> str:
    """Where a cgroup path (as /proc/self/cgroup names it) appears under a mount of part of the hierarchy."""
    rel = cgroup_path
    if mount_root != "/" and (rel == mount_root or rel.startswith(mount_root.rstrip("/") + "/")):
        rel = rel[len(mount_root) :]
    return os.path.join(mountpoint, rel.lstrip("/")).rstrip("/") or "/"


def _enable_memory(path: str) -> None:
    with open(os.path.join(path, "cgroup.subtree_control")) as f:
        if "memory" in f.read().split():
            return
    with open(os.path.join(path, "cgroup.subtree_control"), "w") as f:
        f.write("+memory")  # EBUSY when `path` holds processes itself (cgroup v2's no-internal-process rule)


def _remove_stale(base: str) -> None:
    """Directories of sandboxes whose supervisor died without cleaning up (SIGKILL, OOM killer)."""
    try:
        entries = [e.name for e in os.scandir(base) if e.name.startswith(PREFIX)]
    except OSError:
        return
    for name in entries:
        pid = name[len(PREFIX) :]
        if pid.isdigit() and not _alive(int(pid)):
            remove_tree(os.path.join(base, name), timeout_s=1.0)  # its runs may still be dying


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie whose parent has not reaped it yet is dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _rmdir_quietly(path: str) -> bool:
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False
