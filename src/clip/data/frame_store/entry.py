"""One entry of the decoded-frame store: every frame of one video as JPEG, in one file read with one open + seeks.

    MAGIC (8 bytes) | header length L (uint32, little-endian) | L bytes of JSON header | the JPEG bytes

header: num_frames (the video reader's frame count: what the sampler samples from), stored (frames 0 … stored - 1
are here: fewer than num_frames when the video ends early or breaks), last_seen and error (what the reader saw at
the end: the same tail rule as a read from the video decides whether a frame beyond `stored` repeats the last one or
makes the video bad), width, height (of the stored frames), spans ([offset, length] per stored frame, from the end
of the header; a decoded frame that stands for several indices is stored once and shared).

Why one file per video and not a file per frame: Kinetics-400 is 240k videos x ~250 frames, 60M files, which
exhausts inodes and makes every listing or copy crawl; one file per video is 240k files, and a sample is one open
and a pread per frame (8 frames: 9 reads, no archive format to parse: a tar would need its own index).
"""
import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torchvision.io import ImageReadMode, decode_jpeg

from src.clip.data.decoded import DecodedFrames, complete_tail
from src.core.errors import BadVideoError

MAGIC = b"VPFRAMES"
_LENGTH = struct.Struct("<I")
HEAD_READ = 1 << 13          # the first read: the header of a 250-frame video is ~4 kB, so one read holds it


class DamagedEntry(BadVideoError):
    """An entry file that is not a complete entry (foreign, cut short, unparsable). Found on opening, the store
    rebuilds it (auto, write); found in a frame's bytes while training, the video is skipped and counted."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: damaged frame-store entry ({reason}); rebuild it with dataset.frame_store=write")


def pack_entry(num_frames: int, last_seen: int, error: str | None, size: tuple[int, int], refs: list[int],
               jpegs: list[bytes]) -> bytes:
    """The bytes of an entry: frame i (i < len(refs)) is JPEG number refs[i]; `size` is (width, height)."""
    offsets = np.concatenate([[0], np.cumsum([len(j) for j in jpegs])]).tolist()
    spans = [[offsets[r], len(jpegs[r])] for r in refs]
    header = json.dumps({"num_frames": num_frames, "stored": len(refs), "last_seen": last_seen, "error": error,
                         "width": size[0], "height": size[1], "spans": spans,
                         "data_length": offsets[-1]}, separators=(",", ":")).encode()
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, *jpegs])


class EntryFile:
    """An open entry; the same interface as an open VideoReader (`num_frames`, `read(indices)`), so the dataset reads
    either alike. Messages name `video` (the file the frames came from). DamagedEntry from `__enter__` when the file
    is not a complete entry, from `read` when a stored frame does not decode; then `rebuild()` (if given) writes the
    entry again and returns its path, and the read is tried once more."""

    def __init__(self, path: Path, video: Path, rebuild: Callable[[], Path] | None = None):
        self.path, self.video, self._rebuild = Path(path), Path(video), rebuild
        self._fd = None

    def __enter__(self) -> "EntryFile":
        self._fd = os.open(self.path, os.O_RDONLY)
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read_header(self) -> None:
        head = os.pread(self._fd, HEAD_READ, 0)
        if len(head) < len(MAGIC) + _LENGTH.size or not head.startswith(MAGIC):
            raise DamagedEntry(self.path, "not a frame-store entry")
        start = len(MAGIC) + _LENGTH.size
        (length,) = _LENGTH.unpack_from(head, len(MAGIC))
        if start + length > len(head):
            head += os.pread(self._fd, start + length - len(head), len(head))
        try:
            header = json.loads(head[start:start + length])
            self.num_frames, self.stored = int(header["num_frames"]), int(header["stored"])
            self.last_seen, self.error, self.spans = int(header["last_seen"]), header["error"], header["spans"]
            data_length = int(header["data_length"])
        except (ValueError, KeyError, TypeError) as err:
            raise DamagedEntry(self.path, f"unreadable header: {err}") from None
        self._data_start = start + length
        if os.fstat(self._fd).st_size != self._data_start + data_length or len(self.spans) != self.stored:
            raise DamagedEntry(self.path, "cut short or inconsistent")

    def read(self, indices: np.ndarray) -> DecodedFrames:
        """The frames at `indices` (any shape, values in [0, num_frames)), each stored JPEG decoded once, in one
        batched decode_jpeg call; frames past `stored` follow the video reader's tail rule."""
        try:
            return self._read(indices)
        except DamagedEntry:
            if self._rebuild is None:
                raise
            self.close()
            self.path, self._rebuild = self._rebuild(), None
            self.__enter__()
            return self._read(indices)

    def _read(self, indices: np.ndarray) -> DecodedFrames:
        request = np.asarray(indices, dtype=np.int64)
        assert request.size > 0 and request.min() >= 0 and request.max() < self.num_frames, (
            f"{self.video}: frame indices must lie in [0, {self.num_frames}), got {request.min()}..{request.max()}")
        wanted, inverse = np.unique(request, return_inverse=True)      # (N,) sorted
        present = wanted[wanted < self.stored].tolist()
        jpegs = [self._jpeg(i) for i in present]
        try:
            decoded = decode_jpeg(jpegs, mode=ImageReadMode.RGB) if jpegs else []    # [(3, H, W) uint8]
        except RuntimeError as err:
            raise DamagedEntry(self.path, f"a stored frame does not decode: {err}") from None
        arrays = complete_tail(self.video, wanted, list(decoded), self.last_seen, self.num_frames, self.error)
        # Stacked into channels-last memory, as the video reader's frames are: torch's uint8 antialiased resize (the
        # transform's first step) ran 2.4x faster on it than on decode_jpeg's (3, H, W) layout, for one copy either way.
        height, width = arrays[0].shape[-2:]
        frames = torch.empty(len(arrays), height, width, 3, dtype=torch.uint8)            # (N, H, W, 3)
        for row, array in zip(frames, arrays):
            row.copy_(array.permute(1, 2, 0))
        return DecodedFrames(frames.permute(0, 3, 1, 2), wanted, inverse.reshape(request.shape), len(jpegs))

    def _jpeg(self, index: int) -> torch.Tensor:
        offset, length = self.spans[index]
        data = os.pread(self._fd, length, self._data_start + offset)
        if len(data) != length:
            raise DamagedEntry(self.path, "cut short")
        return torch.frombuffer(bytearray(data), dtype=torch.uint8)
