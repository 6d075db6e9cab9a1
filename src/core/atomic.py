"""Atomic file writes: write a temp file beside the target, then os.replace, so a crash never leaves half a file."""
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

_UMASK = os.umask(0)  # read once (os.umask can only be read by setting it) and put back at once
os.umask(_UMASK)


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600: give the file the mode a plain open() would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda p: p.write_text(text))


def write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda p: p.write_bytes(data))


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def write_csv(path: Path, frame) -> Path:
    """`frame` is a pandas DataFrame; written without the index."""
    return _atomic(path, lambda p: frame.to_csv(p, index=False))


def save_torch(path: Path, obj: Any) -> Path:
    return _atomic(path, lambda p: torch.save(obj, p))


def save_numpy(path: Path, array: np.ndarray) -> Path:
    """`array` as a `.npy` file (no pickles). Through a file handle: np.save would append ".npy" to the temp name."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
    return _atomic(path, write)


def save_figure(fig, path: Path, **savefig_kwargs: Any) -> Path:
    """A matplotlib Figure, in the format `savefig_kwargs["format"]` (default: the target's suffix)."""
    options = {"format": Path(path).suffix.lstrip(".") or "png", **savefig_kwargs}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: the temp name's .tmp suffix must not pick the format
            fig.savefig(handle, **options)
    return _atomic(path, write)


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
