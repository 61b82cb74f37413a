"""The fork server: the warm interpreter every run is forked from, and the reaper of everything it forks.

It runs as pid 1 of the sandbox's pid namespace, so every orphan of every run ends up as its child. It never
sees code or output (those go straight between the supervisor and each run), so a run forked from it
inherits nothing of other runs. Its only jobs, on the supervisor's word over a SOCK_SEQPACKET socket:
- `fork`: fork a run with the three file descriptors passed along (control socket, stdout, stderr);
- `clean`: SIGKILL every process of a uid until none is left, then say so (the uid can then be reused);
- `sweep`: the same for a session between blocks, sparing the session's own process (`swept` when done);
and, on its own, report the exit status of each run it forked.
"""

from __future__ import annotations

import array
import json
import os
import selectors
import shutil
import signal
import socket
import tempfile
import time
from typing import Any, NoReturn

from sandbox.runner import child_main

MAX_MSG = 1 << 16


class ForkServer:
    def __init__(self, sock: socket.socket, cfg: dict[str, Any], layers: frozenset[str], uid_range: range) -> None:
        self.sock = sock
        self.cfg = cfg
        self.layers = layers
        self.uid_range = uid_range
        self.children: dict[int, tuple[int, int]] = {}  # pid -> (tag, uid)
        self.cleaning: set[int] = set()
        self.sweeping: dict[int, int] = {}  # uid -> tag of the session process to spare
        self.scratch: dict[int, str] = {}  # uid -> scratch dir, only without a mount namespace
        self.own_pid = os.getpid()

    def send(self, obj: dict[str, Any]) -> None:
        self.sock.send(json.dumps(obj).encode())

    def serve(self) -> NoReturn:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        sel.register(wake_r, selectors.EVENT_READ)
        while True:
            # A killed process's death arrives as SIGCHLD (everything ends up parented to us); the timeout is
            # only a safety net for a process that takes long to die.
            for key, _ in sel.select(0.05 if self.cleaning or self.sweeping else None):
                if key.fileobj is self.sock:
                    self._read_commands()
                else:
                    try:
                        while os.read(wake_r, 4096):
                            pass
                    except BlockingIOError:
                        pass
            self._reap()
            if self.cleaning or self.sweeping:
                self._clean_pass()

    def _read_commands(self) -> None:
        while True:
            try:
                data, fds = _recv_fds(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                self._shutdown()
            msg = json.loads(data)
            op = msg["op"]
            if op == "fork":
                self._fork(msg["tag"], msg["uid"], fds)
            elif op == "clean":
                self.cleaning.add(msg["uid"])
                if msg.get("reset_limit") and self.cfg["memcg"] is not None:
                    self.cfg["memcg"].forget_limit(msg["uid"])
                self.sweeping.pop(msg["uid"], None)
            elif op == "sweep":
                if "uid_drop" in self.layers:
                    self.sweeping[msg["uid"]] = msg["tag"]
                else:  # every run shares the caller's uid: nothing tells a block's leftovers apart
                    self.send({"op": "swept", "tag": msg["tag"]})
            elif op == "shutdown":
                self._shutdown()

    def _fork(self, tag: int, uid: int, fds: list[int]) -> None:
        scratch = None
        try:
            cgroup = self.cfg["memcg"]
            if cgroup is not None:
                cgroup.prepare(uid, self.cfg["memcg_headroom"] + (self.cfg["memory_mb"] << 20))
            if "mount_namespace" not in self.layers:
                scratch = tempfile.mkdtemp(prefix=f"retool-sandbox-{uid}-")
                if "uid_drop" in self.layers:
                    os.chown(scratch, uid, uid)
                self.scratch[uid] = scratch
            pid = os.fork()
        except OSError as e:
            for fd in fds:
                os.close(fd)
            self.send({"op": "fork_failed", "tag": tag, "error": str(e)})
            return
        if pid == 0:
            child_main(uid, fds, self.cfg, self.layers, scratch)
        for fd in fds:
            os.close(fd)
        self.children[pid] = (tag, uid)
        self.send({"op": "forked", "tag": tag, "pid": pid})

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.children.pop(pid, None)
            if entry is not None:
                self.send({"op": "exited", "tag": entry[0], "status": status})

    def _clean_pass(self) -> None:
        """SIGKILL every process of the uids being cleaned (swept: all but the session's own process, and not
        the zombies only it can reap); report the uids that have none left."""
        found: dict[int, list[int]] = {uid: [] for uid in self.cleaning}
        swept: dict[int, list[int]] = {uid: [] for uid in self.sweeping}
        for pid, (_, owner) in self.children.items():
            if owner in found:
                found[owner].append(pid)  # the run's own process, whatever uid it has (a spare is root)
        for pid in _proc_pids():
            if pid not in self.children and pid != self.own_pid:
                uid = _real_uid(pid)
                if uid in found:
                    found[uid].append(pid)
                elif uid in swept and not _is_zombie(pid):
                    swept[uid].append(pid)
        for uid, pids in swept.items():
            for pid in pids:
                _kill(pid, uid)
            if not pids:
                self.send({"op": "swept", "tag": self.sweeping.pop(uid)})
        for uid, pids in found.items():
            for pid in pids:
                if pid in self.children and "uid_drop" not in self.layers:
                    _killpg(pid)  # degraded: the run's process group is all we can find
                _kill(pid, None if pid in self.children else uid)
            if not pids:
                self.cleaning.discard(uid)
                if uid in self.scratch:
                    shutil.rmtree(self.scratch.pop(uid), ignore_errors=True)
                self.send({"op": "clean", "uid": uid})

    def _shutdown(self) -> NoReturn:
        """Kill every run (without a pid namespace nothing else would) and exit."""
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            self._reap()
            victims = [(pid, None) for pid in self.children]
            for pid in _proc_pids():
                uid = _real_uid(pid) if pid not in self.children and pid != self.own_pid else None
                if uid in self.uid_range:
                    victims.append((pid, uid))
            if not victims:
                break
            for pid, uid in victims:
                _kill(pid, uid)
            time.sleep(0.005)
        for path in self.scratch.values():
            shutil.rmtree(path, ignore_errors=True)
        os._exit(0)


def _recv_fds(sock: socket.socket, maxfds: int = 8) -> tuple[bytes, list[int]]:
    """Non-blocking receive of one message and its descriptors (socket.recv_fds ignores `flags`)."""
    fds = array.array("i")
    data, ancdata, _, _ = sock.recvmsg(MAX_MSG, socket.CMSG_LEN(maxfds * fds.itemsize), socket.MSG_DONTWAIT)
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return data, list(fds)


def _proc_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _real_uid(pid: int) -> int | None:
    """The real uid from /proc/PID/status (the inode owner lies for non-dumpable processes)."""
    try:
        st = os.stat(f"/proc/{pid}")
        if st.st_uid != 0:
            return st.st_uid
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True  # gone


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _kill(pid: int, expected_uid: int | None = None) -> None:
    """SIGKILL through a pidfd, so a pid recycled between the scan and the kill is never hit."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if expected_uid is None or _real_uid(pid) == expected_uid:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)
