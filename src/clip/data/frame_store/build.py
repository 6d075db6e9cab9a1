"""Building one entry of the decoded-frame store: decode every frame of a video once, shrink it, JPEG it.

The frames are the video reader's (VideoReader.stream: frame i is what reading index i from the video gives, the
same frame count and end-of-video rule), converted to RGB at full size and shrunk so the short side is the store's
short side with torchvision's antialiased bilinear resize, the resize the transforms use (a video whose short side
is already no longer is stored at its own size: never upscaled). So a frame from the store differs from the same
frame read from the video only by that resize (to the store's short side, then the transform's own) and JPEG.
"""
from pathlib import Path

import numpy as np
import torch
from torchvision.io import encode_jpeg
from torchvision.transforms.v2 import functional as F

from src.clip.data.decoded import DecodeState
from src.clip.data.frame_store.entry import pack_entry
from src.clip.data.reader import VideoReader
from src.core.errors import BadVideoError

CHUNK = 16                   # frames resized and encoded together (memory stays ~16 full frames, whatever the length)


def encode_video(video: Path, short_side: int, quality: int) -> bytes:
    """The entry bytes of `video`; BadVideoError when it cannot be opened or not one frame decodes."""
    state = DecodeState()
    refs: list[int] = []              # frame index -> number of its JPEG
    jpegs: list[bytes] = []
    chunk: list[np.ndarray] = []
    previous, size = None, None
    with VideoReader(video) as reader:
        for array in reader.stream(state):
            if array is previous:     # one decoded frame standing for several indices: stored once
                refs.append(refs[-1])
                continue
            previous = array
            refs.append(len(jpegs) + len(chunk))
            chunk.append(array)
            if len(chunk) == CHUNK:
                size = _encode_chunk(chunk, short_side, quality, jpegs)
                chunk = []
        if chunk:
            size = _encode_chunk(chunk, short_side, quality, jpegs)
        num_frames = reader.num_frames
    if not refs:
        raise BadVideoError(f"{video}: no frame could be decoded" + (f" ({state.error})" if state.error else ""))
    return pack_entry(num_frames, state.last_seen, state.error, size, refs, jpegs)


def _encode_chunk(chunk: list[np.ndarray], short_side: int, quality: int, jpegs: list[bytes]) -> tuple[int, int]:
    """Resize and JPEG-encode `chunk` (rgb24 arrays (H, W, 3)), appending to `jpegs`; -> (width, height) stored."""
    frames = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2)          # (n, 3, H, W), channels-last memory
    if min(frames.shape[-2:]) > short_side:
        frames = F.resize(frames, [short_side], antialias=True)
    frames = frames.contiguous()                                            # encode_jpeg wants (3, H, W) contiguous
    jpegs.extend(bytes(j.numpy()) for j in encode_jpeg(list(frames), quality=quality))
    return frames.shape[-1], frames.shape[-2]
