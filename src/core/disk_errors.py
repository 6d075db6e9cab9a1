"""A full, over-quota, read-only or forbidden folder as one line: which folder, its free space, and what to do.

The one place this translation lives: `one_line_errors()` prints the line (exit 2), and a run folder's status.json
records it (src/core/run_status.py). The failing file is the OSError's `filename` (src/core/atomic.py names the
target when the kernel's error names none), looked for along the exception's causes (Hydra and Lightning re-raise).
"""
import errno
import shutil
from pathlib import Path

# errno -> what the system said, in words, and what to do about it.
_SPACE = "free some space there (or write elsewhere), then run the command again"
_ACCESS = "make it writable for this user (or use another folder), then run the command again"
DISK_ERRNOS = {
    errno.ENOSPC: ("the disk is full", _SPACE),
    errno.EDQUOT: ("the disk quota is used up", "free some of your quota (or write elsewhere), then run the command "
                   "again"),
    errno.EROFS: ("the file system is read-only", _ACCESS),
    errno.EACCES: ("permission denied", "give this user access to it (or use another folder), then run the command "
                   "again"),
}


def disk_error(err: BaseException) -> OSError | None:
    """The disk OSError behind `err` (itself or a cause), or None when there is none. Of several (cleanup that hit
    the disk again), the earliest that names its file: it is what stopped the command."""
    found, seen = [], set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in DISK_ERRNOS:
            found.append(err)
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    named = [e for e in found if e.filename is not None]
    return (named or found or [None])[-1]


def disk_error_line(err: BaseException) -> str | None:
    """`<folder>: <what> (<free> free); <what to do>` for a disk error, else None."""
    found = disk_error(err)
    if found is None:
        return None
    what, todo = DISK_ERRNOS[found.errno]
    if found.filename is None:  # a write the project does not make itself (a library's log file, …)
        return f"a file could not be written: {what}; {todo}"
    folder = _folder(Path(found.filename))
    return f"{folder}: {what} ({_free(folder)} free); {todo}"


def _folder(path: Path) -> Path:
    """The folder a failed file operation was in (a folder that could not be made: its parent)."""
    return path if path.is_dir() else path.parent


def _free(folder: Path) -> str:
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return "unknown space"
    if free < 1024:
        return f"{free} bytes"
    size = free / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
