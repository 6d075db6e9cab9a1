"""Disk faults for tests, in-process: a disk that fills up at a chosen byte, and a read-only folder that stays
read-only for root (the tests run as root here, where chmod 0o555 stops nothing).

- `fill_disk_at(monkeypatch, name, …)`: the `nth` write of a file called `name` gets `after_bytes` bytes onto
  the disk (really, into its temp file), then the kernel's ENOSPC (an OSError that names no file). Every write of
  the project goes through src/core/atomic.py `write_all`, which is what is patched; below it the real os.write
  runs on a byte budget. `stays_full=True`: every later write fails at its first byte too (nothing frees space).
- `read_only(folder)`: while active, every Python-level way of changing `folder` or anything under it (open for
  writing or creating, mkdir, rename / replace, remove, rmdir, chmod, truncate, link) raises EROFS, as a
  read-only mount does. Done with an audit hook (sys.addaudithook): CPython raises these events before the
  system call, and an exception from the hook aborts the call. Hooks cannot be removed, so one hook is installed
  for the session and does nothing while no folder is read-only. (A C library writing by itself, e.g. torch.save
  to a path, would not be seen; the project writes through src/core/atomic.py, which is.)
"""
import errno
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import src.core.atomic as atomic

# --- a disk that fills up -------------------------------------------------------------------------------------------


def fill_disk_at(monkeypatch, name: str, *, nth: int = 1, after_bytes: int = 4096, stays_full: bool = False,
                 on_fault=None) -> dict:
    """Patch the project's writer; returns a dict whose "hit" is the target the fault hit (None: it did not
    happen). `on_fault(target)` is called just before the failing write (to take a snapshot)."""
    real_write_all, real_os_write = atomic.write_all, os.write
    state = {"seen": 0, "hit": None}

    def write_all(fd: int, data, path: Path) -> None:
        if state["hit"] is None and Path(path).name == name:
            state["seen"] += 1
            if state["seen"] == nth:
                state["hit"] = Path(path)
                if on_fault is not None:
                    on_fault(Path(path))
                return _with_budget(real_write_all, real_os_write, fd, data, path, after_bytes)
        if state["hit"] is not None and stays_full:
            return _with_budget(real_write_all, real_os_write, fd, data, path, 0)
        return real_write_all(fd, data, path)

    monkeypatch.setattr(atomic, "write_all", write_all)
    return state


def _with_budget(real_write_all, real_os_write, fd: int, data, path: Path, budget: int) -> None:
    left = [budget]

    def os_write(fd_: int, view) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as the kernel says it: no file name
        written = real_os_write(fd_, view[:left[0]])
        left[0] -= written
        return written

    os.write = os_write
    try:
        real_write_all(fd, data, path)
    finally:
        os.write = real_os_write


# --- a read-only folder ---------------------------------------------------------------------------------------------

_READ_ONLY: list[str] = []  # absolute folders that are read-only right now
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CHANGES = {"os.mkdir": (0,), "os.rename": (0, 1), "os.remove": (0,), "os.rmdir": (0,), "os.chmod": (0,),
            "os.truncate": (0,), "os.link": (0, 1), "os.symlink": (1,), "os.utime": (0,)}
_hook_installed = False


def _under_read_only(path) -> str | None:
    if not isinstance(path, (str, bytes, os.PathLike)):
        return None  # a file descriptor
    full = os.path.abspath(os.fsdecode(path))
    if not (os.path.lexists(full) or os.path.isdir(os.path.dirname(full))):
        return None  # a missing parent folder: the kernel says ENOENT before it looks at the mount
    for folder in _READ_ONLY:
        if full == folder or full.startswith(folder + os.sep):
            return full
    return None


def _audit(event: str, args: tuple) -> None:
    if not _READ_ONLY:
        return
    if event == "open":
        path, mode, flags = args
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        paths = (path,) if writes else ()
    else:
        paths = tuple(args[i] for i in _CHANGES.get(event, ()))
    for path in paths:
        if (full := _under_read_only(path)) is not None:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), full)


@contextmanager
def read_only(folder: Path):
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    Path(folder).mkdir(parents=True, exist_ok=True)
    _READ_ONLY.append(os.path.abspath(folder))
    try:
        yield Path(folder)
    finally:
        _READ_ONLY.remove(os.path.abspath(folder))
