"""Which clips one video gives: its labelled rows, plus random negatives.

A clip centred on frame c holds frames c + offsets, offsets = frame_step x (0 - T/2, ..., T - 1 - T/2) (T = num_frames,
so for T = 16 the centre is the 9th frame). A clip is possible when all its frames lie in the video and, with a ball
track, every one of them has a box (within the interpolation gap). Negatives are drawn uniformly, without
replacement, over the possible centres of the same video that are more than `guard` frames from every labelled
header and are not a labelled row themselves: round(ratio x headers) of them, fewer only when fewer centres exist.
"""
from dataclasses import dataclass

import numpy as np

from src.header.footage.tracks import BallTrack


@dataclass(frozen=True)
class ClipPlan:
    frame: int      # the clip's centre frame
    label: int      # 1 header, 0 not
    origin: str     # labels | random


def clip_offsets(num_frames: int, frame_step: int) -> np.ndarray:
    """(T,) offsets of a clip's frames from its centre frame."""
    return frame_step * (np.arange(num_frames, dtype=np.int64) - num_frames // 2)


def possible_centres(frames: np.ndarray, offsets: np.ndarray, video_frames: int | None,
                     has_box: np.ndarray | None) -> np.ndarray:
    """Boolean (len(frames),): can a clip be centred on each of `frames`? `has_box[i]`: frame i has a ball box
    (None: no track, every frame will do)."""
    needed = frames[:, None] + offsets[None, :]                                         # (N, T)
    ok = needed.min(1) >= 0
    if video_frames is not None:
        ok &= needed.max(1) < video_frames
    if has_box is not None:
        inside = np.clip(needed, 0, len(has_box) - 1)
        ok &= has_box[inside].all(1) & (needed.max(1) < len(has_box))
    return ok


def boxed_frames(track: BallTrack | None, video_frames: int | None, max_gap: int) -> np.ndarray | None:
    """has_box for frames 0 .. video_frames - 1 (or up to the last tracked frame when the length is unknown)."""
    if track is None:
        return None
    length = video_frames if video_frames is not None else int(track.frames.max(initial=-1)) + 1
    return np.isfinite(track.boxes_at(np.arange(length), max_gap)[:, 0])


def draw_negatives(rng: np.random.Generator, *, count: int, headers: np.ndarray, taken: np.ndarray, guard: int,
                   offsets: np.ndarray, video_frames: int, has_box: np.ndarray | None) -> np.ndarray:
    """Sorted centre frames of up to `count` random negatives (see the module docstring)."""
    centres = np.arange(video_frames, dtype=np.int64)
    allowed = possible_centres(centres, offsets, video_frames, has_box)
    for header in headers:  # never within ±guard of a header
        allowed[max(header - guard, 0):max(header + guard + 1, 0)] = False
    allowed[taken[(taken >= 0) & (taken < video_frames)]] = False
    pool = centres[allowed]
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))
