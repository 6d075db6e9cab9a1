"""Opening a `.npy` file that may be damaged: every way `np.load` can fail is one exception, NpyReadError.

A header clip or a cache entry comes from disk and may be anything: cut off, not a .npy at all, a pickled object
array, or a header that lies (a negative or huge shape, a dtype numpy cannot parse). `np.load` then raises far more
than its documented OSError / ValueError: OverflowError (a negative dimension), tokenize.TokenError (a header cut
off mid-line), EOFError (an empty file), MemoryError (a huge shape when not memory-mapped). The callers skip and
count such a file, so all of them must become one type they can catch.
"""
from pathlib import Path

import numpy as np


class NpyReadError(Exception):
    """The file is not a readable .npy array; the message names the file and numpy's reason."""


def open_npy(path: Path) -> np.ndarray:
    """The array as a read-only memory map: only the header is read, and numpy checks that the file holds as many
    bytes as the header claims (so a lying header fails here, before anything is allocated). NpyReadError when
    the file cannot be opened as a plain (non-object) .npy array."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as err:  # any failure: numpy's have no common type (see the module docstring)
        reason = " ".join(str(err).split())  # one line: it ends up in logs, CSV cells and `error:` lines
        raise NpyReadError(f"{path}: not a readable .npy file ({type(err).__name__}: {reason})") from None
