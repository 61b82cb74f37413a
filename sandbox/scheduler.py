"""The supervisor's event loop: queue, pre-forked spares, deadlines, sessions, output capture.

Every run is a process with its own uid, control socket and stdout/stderr pipes, all owned here; results go
back to the caller tagged with the caller's request id, so concurrent callers can never see each other's
results. A run's uid goes back to the pool only after the fork server has confirmed that no process of that
uid is left.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import time
from collections import OrderedDict, deque
from typing import Any, NoReturn

from sandbox.config import SandboxConfig
from sandbox.memcg import MemoryCgroup
from sandbox.procs import Capture, Job, Proc, outcome_of_exit
from sandbox.protocol import MAX_CONTROL_FRAME, Channel, FrameError, parse_report, read_available, scrub

# A run's report: status, error line, the repr (<= max_capture_bytes characters, up to 6 bytes each in JSON)
# and fetched files (<= runner.FETCH_LIMIT bytes, base64).
RESULT_FRAME_BASE = 12 << 20
PARENT_CHECK_S = 0.5
INVALID_RESULT = "RuntimeError: the run sent an invalid result"
BAD_REPORT = "bad_report"  # the reason recorded with a malformed report (`ExecResult.extra["reason"]`)


class Scheduler:
    def __init__(self, caller: socket.socket, fs_sock: socket.socket, fs_pid: int, cfg: SandboxConfig,
                 uids: range, cgroup: MemoryCgroup | None = None) -> None:
        self.cfg = cfg
        self.cgroup = cgroup
        self.caller = Channel(caller, MAX_CONTROL_FRAME)
        self.fs = fs_sock
        self.fs.setblocking(False)
        self.fs_pid = fs_pid
        self.parent_pid = os.getppid()
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.caller.sock, selectors.EVENT_READ, ("caller", None))
        self.sel.register(self.fs, selectors.EVENT_READ, ("fs", None))
        self.free_uids: deque[int] = deque(uids)
        self.queue: deque[Job] = deque()
        self.jobs: dict[int, Job] = {}
        self.by_tag: dict[int, Proc] = {}
        self.by_uid: dict[int, Proc] = {}
        self.spares: list[Proc] = []
        self.sessions: OrderedDict[str, Proc] = OrderedDict()
        self.busy = 0
        self.next_tag = 0
        self.writers: set[Channel] = set()
        self.last_parent_check = time.monotonic()

    # ------------------------------------------------------------------------------------------ loop

    def serve(self) -> NoReturn:
        while True:
            now = time.monotonic()
            wait = min([p.deadline for p in self.by_tag.values() if p.job is not None] + [now + PARENT_CHECK_S])
            for key, mask in self.sel.select(max(0.0, wait - now)):
                kind, proc = key.data
                if proc is not None and self.by_tag.get(proc.tag) is not proc:
                    continue  # its descriptors were closed by an earlier event of this batch
                try:
                    if mask & selectors.EVENT_WRITE:
                        (proc.ctl if proc is not None else self.caller).flush()
                    if mask & selectors.EVENT_READ:
                        self._on_readable(kind, proc)
                except Exception as e:  # noqa: BLE001 - whatever one run sent ends that run, never the supervisor
                    if proc is None:
                        raise
                    self._reject_report(proc, f"{type(e).__name__}: {str(e)[:200]}")
            now = time.monotonic()
            for proc in [p for p in self.by_tag.values() if p.job is not None and p.deadline <= now]:
                self._on_deadline(proc)
            if now - self.last_parent_check >= PARENT_CHECK_S:
                self.last_parent_check = now
                if os.getppid() != self.parent_pid:
                    self.shutdown()
                self._expire_sessions(now)
            self._schedule()
            self._ensure_spares()
            self._update_writers()

    def _on_readable(self, kind: str, proc: Proc | None) -> None:
        if kind == "caller":
            try:
                frames = self.caller.read()
            except FrameError:
                self.shutdown()
            for frame in frames:
                self._on_request(frame)
            if self.caller.eof:
                self.shutdown()
        elif kind == "fs":
            self._read_fs()
        elif kind == "ctl":
            self._on_ctl(proc)
        else:
            fd = proc.out_fd if kind == "out" else proc.err_fd
            data = read_available(fd)
            if data is None:
                self._unregister(fd)
            elif data:
                (proc.out if kind == "out" else proc.err).add(data)

    # -------------------------------------------------------------------------------------- requests

    def _on_request(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "run":
            job = Job(msg["id"], msg["code"], msg.get("session"), float(msg["timeout_s"]), int(msg["memory_mb"]),
                      msg.get("stdin"), msg.get("files"), msg.get("fetch_files"), bool(msg.get("keep_background")))
            if len(job.code.encode("utf-8", "surrogatepass")) > self.cfg.max_code_bytes:
                err = f"ValueError: code is larger than {self.cfg.max_code_bytes} bytes"
                self.caller.send({"id": job.id, "result": {"status": "error", "error": err, "return_code": None}})
                return
            self.jobs[job.id] = job
            self.queue.append(job)
        elif op == "cancel":
            job = self.jobs.get(msg["id"])
            if job is not None:
                job.cancelled = True
                if job in self.queue:
                    self.queue.remove(job)
                    del self.jobs[job.id]
                else:
                    proc = next((p for p in self.by_tag.values() if p.job is job), None)
                    if proc is not None:
                        self._kill(proc, "cancel")
        elif op == "close_session":
            proc = self.sessions.get(msg["session"])
            if proc is not None:
                if proc.job is None:
                    self._kill(proc, "closed")
                else:
                    proc.close_after = True
            self.caller.send({"id": msg["id"], "closed": proc is not None})
        elif op == "stats":
            self.caller.send({"id": msg["id"], "stats": {
                "queued": len(self.queue), "running": self.busy, "spares": len(self.spares),
                "sessions": len(self.sessions), "processes": len(self.by_tag), "free_uids": len(self.free_uids)}})
        elif op == "shutdown":
            self.shutdown()

    def _schedule(self) -> None:
        waiting: deque[Job] = deque()
        blocked: set[str] = set()
        spare_ready = True  # none appears during a pass: with dozens of sessions queued, stop looking at once
        while self.queue:
            job = self.queue.popleft()
            if self.busy >= self.cfg.workers:
                waiting.append(job)
                waiting.extend(self.queue)
                self.queue.clear()
                break
            proc = self.sessions.get(job.session) if job.session is not None else None
            if job.session in blocked or (proc is not None and (proc.job is not None or proc.sweeping)):
                blocked.add(job.session)
                waiting.append(job)
                continue
            if proc is None:
                full = job.session is not None and len(self.sessions) >= self.cfg.max_sessions
                if (not full or self._evict()) and spare_ready:
                    proc = self._take_spare()
                    spare_ready = proc is not None
                if proc is None:
                    if job.session is not None:
                        blocked.add(job.session)  # its later blocks must not overtake it
                    waiting.append(job)
                    continue
                if job.session is not None:
                    proc.session = job.session
                    self.sessions[job.session] = proc
            self._start(proc, job)
        self.queue = waiting

    def _start(self, proc: Proc, job: Job) -> None:
        proc.job = job
        proc.own_limit = proc.own_limit or job.memory_mb != self.cfg.memory_mb
        self.busy += 1
        proc.started = time.monotonic()
        proc.deadline = proc.started + job.timeout_s
        if proc.session is not None:
            self.sessions.move_to_end(proc.session)
        proc.ctl.send({"code": job.code, "timeout_s": job.timeout_s, "memory_mb": job.memory_mb,
                       "session": proc.session is not None, "stdin": job.stdin, "files": job.files,
                       "fetch_files": job.fetch_files})

    # ----------------------------------------------------------------------------------------- runs

    def _on_ctl(self, proc: Proc) -> None:
        try:
            frames = proc.ctl.read()
            if proc.ctl.eof:
                self._unregister(proc.ctl.fileno())
            for frame in frames:
                if proc.job is not None and proc.kill_reason is None:
                    self._on_result(proc, frame)
        except FrameError as e:
            self._reject_report(proc, str(e))
        except Exception as e:  # noqa: BLE001 - whatever one run sent ends that run, never the supervisor
            self._reject_report(proc, f"{type(e).__name__}: {str(e)[:200]}")

    def _reject_report(self, proc: Proc, why: str) -> None:
        """A report that is not one (oversized, too deep, not JSON, wrong types): that run alone fails."""
        self._kill(proc, "invalid")
        if proc.job is not None:
            self._finish(proc, "error", f"{INVALID_RESULT} ({BAD_REPORT}: {scrub(why)})", None, 1, reason=BAD_REPORT)

    def _on_result(self, proc: Proc, frame: dict[str, Any]) -> None:
        if "setup_error" in frame:  # the code never ran: the sandbox could not set the run up
            self._kill(proc, "setup")
            self._finish(proc, "killed", f"Killed: sandbox setup failed ({scrub(str(frame['setup_error'])[:500])})",
                         None, None)
            return
        status, error, expr, files = parse_report(frame)  # a FrameError here is a bad_report (see _on_ctl)
        self._finish(proc, status, error, expr, 0 if status == "ok" else 1, files)

    def _on_deadline(self, proc: Proc) -> None:
        if proc.kill_reason is None:
            self._on_ctl(proc)  # a result that arrived together with the deadline wins
            if proc.job is not None:
                self._kill(proc, "timeout")
        proc.deadline = float("inf")

    def _finish(self, proc: Proc, status: str, error: str | None, expr: str | None, rc: int | None,
                files: dict[str, str] | None = None, reason: str | None = None) -> None:
        self._drain(proc)
        job, proc.job = proc.job, None
        self.busy -= 1
        self.jobs.pop(job.id, None)
        record = {"status": status, "error": error, "expr": expr, "return_code": rc,
                  "duration_s": round(time.monotonic() - proc.started, 6)}
        record.update(proc.out.fields("stdout"))
        record.update(proc.err.fields("stderr"))
        if files is not None:
            record["files"] = files
        if reason is not None:
            record["reason"] = reason
        proc.out, proc.err = Capture(self.cfg.max_capture_bytes), Capture(self.cfg.max_capture_bytes)
        if not job.cancelled:
            self.caller.send({"id": job.id, "result": record})
        proc.last_used = time.monotonic()
        proc.deadline = float("inf")
        keep = proc.session is not None and not proc.close_after and status in ("ok", "error", "memory")
        if not keep or proc.kill_reason is not None or proc.exit_status is not None:
            self._retire(proc)
        elif not job.keep_background and self._may_have_others(proc):
            # The block is over: what it started in the background goes too (unless asked to stay); the
            # session's next block waits until the fork server has swept them.
            proc.sweeping = True
            self._fs_send({"op": "sweep", "uid": proc.uid, "tag": proc.tag})

    def _may_have_others(self, proc: Proc) -> bool:
        """Whether a session's run may have processes besides its own (cheap with a cgroup: count them)."""
        return self.cgroup is None or self.cgroup.process_count(proc.uid) != 1

    def _finish_dead(self, proc: Proc) -> None:
        """The run's process is gone without a result: classify from how it ended."""
        status, error, rc = outcome_of_exit(proc.exit_status, proc.kill_reason, proc.job.timeout_s)
        if (status == "killed" and rc == -signal.SIGKILL and self.cgroup is not None
                and self.cgroup.oom_kills(proc.uid) > proc.oom_kills):
            status = "memory"
            error = f"MemoryError: the run exceeded its memory limit ({proc.job.memory_mb} MB) and was killed"
        self._finish(proc, status, error, None, rc)

    def _kill(self, proc: Proc, reason: str) -> None:
        if proc.kill_reason is None:
            proc.kill_reason = reason
        self._retire(proc)

    def _retire(self, proc: Proc) -> None:
        """Ask the fork server to kill everything of this run's uid; bookkeeping ends at its `clean`."""
        if proc.retired:
            return
        proc.retired = True
        if proc.session is not None and self.sessions.get(proc.session) is proc:
            del self.sessions[proc.session]
        if proc in self.spares:
            self.spares.remove(proc)
        self._fs_send({"op": "clean", "uid": proc.uid, "reset_limit": proc.own_limit})

    def _drain(self, proc: Proc) -> None:
        for fd, cap in ((proc.out_fd, proc.out), (proc.err_fd, proc.err)):
            while True:
                data = read_available(fd, 1 << 18)
                if not data:
                    break
                cap.add(data)

    # ------------------------------------------------------------------------------- fork server

    def _read_fs(self) -> None:
        while True:
            try:
                data = self.fs.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                os._exit(3)  # the fork server died: every run died with it; the caller restarts us
            self._on_fs(json.loads(data))

    def _on_fs(self, msg: dict[str, Any]) -> None:
        op = msg["op"]
        if op == "clean":
            proc = self.by_uid.pop(msg["uid"], None)
            if proc is None:
                return
            if proc.job is not None:
                self._finish_dead(proc)
            for fd in (proc.ctl.fileno(), proc.out_fd, proc.err_fd):
                self._unregister(fd)
            proc.ctl.close()
            os.close(proc.out_fd)
            os.close(proc.err_fd)
            self.writers.discard(proc.ctl)
            del self.by_tag[proc.tag]
            self.free_uids.append(proc.uid)
            return
        proc = self.by_tag.get(msg["tag"])
        if proc is None:
            return
        if op == "forked":
            proc.forked = True
        elif op == "fork_failed":
            self._retire(proc)
        elif op == "swept":
            proc.sweeping = False
        elif op == "exited":
            proc.exit_status = msg["status"]
            if proc.job is not None and proc.kill_reason is None:
                self._on_ctl(proc)  # the result may be waiting in the socket
                if proc.job is not None:
                    self._finish_dead(proc)
            self._retire(proc)

    def _fs_send(self, obj: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.fs.setblocking(True)
        try:
            if fds:
                socket.send_fds(self.fs, [data], fds)
            else:
                self.fs.send(data)
        finally:
            self.fs.setblocking(False)

    def _ensure_spares(self) -> None:
        while len(self.spares) < self.cfg.spare_count and self.free_uids:
            self._fork_spare()

    def _fork_spare(self) -> None:
        uid = self.free_uids.popleft()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        tag, self.next_tag = self.next_tag, self.next_tag + 1
        proc = Proc(tag, uid, Channel(ours, RESULT_FRAME_BASE + 6 * self.cfg.max_capture_bytes), out_r, err_r,
                    Capture(self.cfg.max_capture_bytes), Capture(self.cfg.max_capture_bytes))
        if self.cgroup is not None:
            proc.oom_kills = self.cgroup.oom_kills(uid)  # cumulative per uid: a run's own are those above this
        self.by_tag[tag] = proc
        self.by_uid[uid] = proc
        self.spares.append(proc)
        self.sel.register(ours, selectors.EVENT_READ, ("ctl", proc))
        self.sel.register(out_r, selectors.EVENT_READ, ("out", proc))
        self.sel.register(err_r, selectors.EVENT_READ, ("err", proc))
        try:
            self._fs_send({"op": "fork", "tag": tag, "uid": uid}, [theirs.fileno(), out_w, err_w])
        finally:
            theirs.close()
            os.close(out_w)
            os.close(err_w)

    def _take_spare(self) -> Proc | None:
        for proc in self.spares:
            if proc.forked and not proc.retired:
                self.spares.remove(proc)
                return proc
        return None

    # ---------------------------------------------------------------------------------- sessions

    def _evict(self) -> bool:
        for proc in self.sessions.values():
            if proc.job is None:
                self._kill(proc, "evicted")
                return True
        return False

    def _expire_sessions(self, now: float) -> None:
        for proc in list(self.sessions.values()):
            if proc.job is None and now - proc.last_used > self.cfg.session_ttl_s:
                self._kill(proc, "expired")

    # -------------------------------------------------------------------------------------- plumbing

    def _update_writers(self) -> None:
        pending = {ch for ch in [self.caller] + [p.ctl for p in self.by_tag.values()] if ch.pending_output}
        for ch in pending ^ self.writers:
            key = self.sel.get_key(ch.sock) if ch.sock.fileno() in self.sel.get_map() else None
            if key is None:
                continue
            mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if ch in pending else 0)
            self.sel.modify(ch.sock, mask, key.data)
        self.writers = pending

    def _unregister(self, fd: int) -> None:
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError):
            pass

    def shutdown(self) -> NoReturn:
        try:
            self._fs_send({"op": "shutdown"})
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and os.waitpid(self.fs_pid, os.WNOHANG)[0] == 0:
                time.sleep(0.01)
        except OSError:
            pass
        try:
            os.kill(self.fs_pid, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
