"""A table of damaged `.npy` files, each built from scratch (a helper module, not a test module).

Every way a file named .npy can fail to be a (T, H, W, 3) uint8 clip that we know of: a header that lies or is cut
off, data cut short, not a .npy at all, a pickled object array, and well-formed arrays of the wrong shape or dtype.
"""
import io
import struct

import numpy as np


def npy_header(descr: str, shape: str) -> bytes:
    """A format-1.0 header as numpy writes it (padded to 64 bytes), with whatever descr and shape text we like."""
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def saved(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype == object)
    return buffer.getvalue()


# name -> the file's bytes. Comments: what np.load (memory-mapped) did with it before the fix, if it was not caught.
DAMAGED_NPY: dict[str, bytes] = {
    "negative_shape": npy_header("|u1", "(-4, 8, 8, 3)") + bytes(768),       # OverflowError: aborted the run
    "header_unclosed": b"\x93NUMPY\x01\x00" + struct.pack("<H", 30) + b"{'descr': '|u1', 'shape': (4,\n",  # TokenError
    "header_cut_off": b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"{'descr': '|u1', 'shape': (4,",
    "data_cut_short": npy_header("|u1", "(4, 8, 8, 3)") + bytes(100),
    "huge_shape": npy_header("|u1", "(4000000000000, 8, 8, 3)") + bytes(768),
    "unknown_dtype": npy_header("<zz9", "(4, 8, 8, 3)") + bytes(768),
    "not_npy": b"just some text that happens to end in .npy\n",
    "empty": b"",
    "magic_only": b"\x93NUMPY",
    "pickled_objects": saved(np.array([{"frame": 0}] * 4, dtype=object)),
    "wrong_dtype": saved(np.zeros((4, 8, 8, 3), np.float32)),
    "wrong_ndim": saved(np.zeros((4, 8, 8), np.uint8)),
    "one_channel": saved(np.zeros((4, 8, 8, 1), np.uint8)),
    "zero_frames": saved(np.zeros((0, 8, 8, 3), np.uint8)),
    "zero_width": saved(np.zeros((4, 8, 0, 3), np.uint8)),
    "scalar": saved(np.uint8(7)),
}
