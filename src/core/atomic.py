"""Atomic file writes: the content is made in memory, written to a temp file beside the target, then renamed over
it (os.replace), so a crash or a full disk never leaves half a file: the target is the old file or the whole new one,
and the temp file is removed on any failure.

`write_all` is the one place this project's bytes reach the disk: a failed write (ENOSPC, EDQUOT, …) is re-raised as
an OSError that names the target file (the kernel's error names none), for src/core/disk_errors.py.
"""
import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

_UMASK = os.umask(0)  # read once (os.umask can only be read by setting it) and put back at once
os.umask(_UMASK)


def _atomic(path: Path, serialise: Callable[[BinaryIO], None]) -> Path:
    path = Path(path)
    buffer = io.BytesIO()
    serialise(buffer)  # first: an object that cannot be written fails before the disk is touched
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            write_all(fd, buffer.getbuffer(), path)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600: give the file the mode a plain open() would
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):  # the first error is the one to report
            os.unlink(tmp)
        raise
    return path


def write_all(fd: int, data, path: Path) -> None:
    """All of `data` (bytes-like) to the open file `fd`; a failure is an OSError naming `path`."""
    view = memoryview(data).cast("B")
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from err


def append_bytes(fd: int, data: bytes, path: Path) -> None:
    """Append `data` to the open file `fd` (opened with O_APPEND) whole or not at all: after a failed write (a full
    disk) the file is cut back to its old length, so no torn line is left."""
    size = os.fstat(fd).st_size
    try:
        write_all(fd, data, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise


def write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda out: out.write(text.encode("utf-8")))


def write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda out: out.write(data))


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def write_csv(path: Path, frame) -> Path:
    """`frame` is a pandas DataFrame; written without the index."""
    return _atomic(path, lambda out: out.write(frame.to_csv(index=False).encode("utf-8")))


def save_torch(path: Path, obj: Any) -> Path:
    return _atomic(path, lambda out: torch.save(obj, out))


def save_numpy(path: Path, array: np.ndarray) -> Path:
    """`array` as a `.npy` file (no pickles)."""
    return _atomic(path, lambda out: np.save(out, array, allow_pickle=False))


def save_figure(fig, path: Path, **savefig_kwargs: Any) -> Path:
    """A matplotlib Figure, in the format `savefig_kwargs["format"]` (default: the target's suffix)."""
    options = {"format": Path(path).suffix.lstrip(".") or "png", **savefig_kwargs}
    return _atomic(path, lambda out: fig.savefig(out, **options))


def _jsonable(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "item"):  # numpy scalars
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
