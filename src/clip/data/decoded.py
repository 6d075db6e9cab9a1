"""What a read of a video's frames gives (DecodedFrames), and the rules the video reader (src/clip/data/reader.py)
and the decoded-frame store (src/clip/data/frame_store/) share, so both hand the transforms the same frames for
the same indices: the end-of-video tolerance and the size of a resize to a short side."""
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from src.core.errors import BadVideoError

# A container's frame count can be a little higher than what decodes (rounded durations, a dropped last
# frame). Missing frames at the very end within this tolerance repeat the last decoded frame; more is a
# truncated file.
TAIL_TOLERANCE_FRAMES = 3
TAIL_TOLERANCE_FRACTION = 0.05


def resized_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """(width, height) with the short side `short_side`: the size torchvision's resize(size=[short_side]) gives
    (its rule: long = int(short_side * long / short)), so that resize is then a no-op."""
    if width <= height:
        return short_side, int(short_side * height / width)
    return int(short_side * width / height), short_side


@dataclass
class DecodeState:
    """What a pass of `VideoReader._decode` saw: frames decoded, the highest index seen, the error that stopped it."""
    num_decoded: int = 0
    last_seen: int = -1
    error: str | None = None


def complete_tail(path: Path, wanted: np.ndarray, arrays: list, last_seen: int, num_frames: int,
                  error: str | None) -> list:
    """`arrays` (a prefix of `wanted`'s frames) completed: missing frames within the tail tolerance repeat the last
    one; more missing (or none decoded at all) is a BadVideoError. Shared with the decoded-frame store."""
    if not arrays:
        raise BadVideoError(f"{path}: no frame could be decoded" + (f" ({error})" if error else ""))
    if len(arrays) < len(wanted):
        missing = int(wanted[len(arrays)])
        allowed = max(TAIL_TOLERANCE_FRAMES, math.ceil(TAIL_TOLERANCE_FRACTION * num_frames))
        if int(wanted[-1]) - last_seen > allowed:
            raise BadVideoError(f"{path}: truncated: frame {missing} of {num_frames} cannot be "
                                "decoded" + (f" ({error})" if error else ""))
        arrays = arrays + [arrays[-1]] * (len(wanted) - len(arrays))       # repeat the last frame
    return arrays


@dataclass
class DecodedFrames:
    frames: torch.Tensor          # (N, 3, H, W) uint8 (channels-last memory): the sorted unique requested frames
    frame_indices: np.ndarray     # (N,) the frame index each row of `frames` holds
    inverse: np.ndarray           # request shape (e.g. (V, T)): the row of `frames` for each requested index
    num_decoded: int              # frames the decoder produced, wanted or not (the cost of the read)

    def expand(self) -> torch.Tensor:
        """The frames in the requested order and shape: (*request shape, 3, H, W)."""
        return self.frames[torch.from_numpy(self.inverse)]
