"""`<run_dir>/.lock`: one training process at a time in a run folder.

The lock file is created atomically (O_CREAT | O_EXCL: of two processes, exactly one creates it) and holds who
took it: pid, host name and start time. A second run of the same folder finds it and is refused, naming the
holder. A lock left behind by a run that died without cleaning up (kill -9, a crashed node) is stale when its host
is this machine and its pid no longer runs: it is taken over, with a log line. A lock from another host cannot be
checked from here; the error says which file to delete once that run is known to be gone.
"""
import json
import logging
import os
import socket
from datetime import datetime
from pathlib import Path

from src.core.errors import UserError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
GONE = "gone"  # what read_lock returns when there is no lock file (any more)


def read_lock(path: Path) -> dict | str | None:
    """The holder record, GONE when there is no file, None when it cannot be read (being written, damaged)."""
    try:
        holder = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return GONE
    except (OSError, ValueError):
        return None
    pid = holder.get("pid") if isinstance(holder, dict) else None
    if isinstance(pid, bool) or not isinstance(pid, int) or pid < 1 or not isinstance(holder.get("host"), str):
        return None
    return holder


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class RunLock:
    """`acquire()` or a UserError naming the holder; `release()` removes the file only while it is still ours."""

    def __init__(self, run_dir: Path, label: str):
        """`label` ("run_id=x") starts the error line."""
        self.run_dir, self.label = Path(run_dir), label
        self.path = self.run_dir / LOCK_NAME
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(),
                      "started": datetime.now().astimezone().isoformat(timespec="microseconds")}

    def acquire(self) -> None:
        taken_over = False
        for _ in range(3):  # the holder may finish, or a stale lock be set aside, between two looks
            try:
                self._create()
                return
            except FileExistsError:
                pass
            holder = read_lock(self.path)
            if holder == GONE:
                continue
            if holder is not None and not taken_over and self._stale(holder):
                log.warning("%s: the run that held it (pid %d on %s, started %s) no longer runs; taking the lock "
                            "over", self.path, holder["pid"], holder["host"], holder.get("started"))
                self._set_aside(holder)
                taken_over = True
                continue
            raise UserError(self._held_message(holder))
        raise UserError(self._held_message(read_lock(self.path)))

    def release(self) -> None:
        if read_lock(self.path) == self.owner:
            self.path.unlink(missing_ok=True)

    def _create(self) -> None:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, json.dumps(self.owner).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def _stale(self, holder: dict) -> bool:
        return holder["host"] == self.owner["host"] and not pid_running(holder["pid"])

    def _set_aside(self, stale: dict) -> None:
        """Move the stale lock out of the way, unless another process replaced it meanwhile (then put it back)."""
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return  # another process set it aside first: the O_EXCL create decides who holds the lock
        if read_lock(aside) != stale:  # a live run's fresh lock: hand it back (link: never over a newer one)
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        aside.unlink(missing_ok=True)

    def _held_message(self, holder: dict | str | None) -> str:
        if not isinstance(holder, dict):
            return (f"{self.label}: {self.path} exists but cannot be read; if no run is using {self.run_dir}, delete "
                    "it and start again")
        who = f"pid {holder['pid']} on {holder['host']}, started {holder.get('started')}"
        if holder["host"] != self.owner["host"]:
            return (f"{self.label}: {self.run_dir} is in use by a run on another machine ({who}); wait for it to "
                    f"finish or pick another run_id (if that run is gone, delete {self.path})")
        return f"{self.label}: {self.run_dir} is in use by another run ({who}); wait for it to finish or pick another run_id"
