"""Write the clips of one video: every frame they need is decoded once and cropped once, however many clips share
it, and each clip is written (atomically) as soon as its last frame has been decoded.

Needed frames are read in runs: a run is decoded front to back, and a new run starts with a seek when the next
needed frame is more than SEEK_AFTER_S seconds ahead (decoding forward is cheaper than a seek, which restarts at
the keyframe before, only across short gaps). A video whose seeks land far before their target (keyframes minutes
apart) is read forward from then on. Memory: the crops of the clips in progress, whatever the video's length.
"""
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.core.atomic import save_numpy
from src.header.detection.video_stream import VideoStream
from src.header.footage.crop import CropSettings, crop_frame
from src.header.footage.tracks import BallTrack

log = logging.getLogger(__name__)

SEEK_AFTER_S = 10.0  # seek over gaps longer than this; broadcast files have a keyframe every ~2-10 s


@dataclass(frozen=True)
class ClipRequest:
    frames: tuple[int, ...]   # the clip's frames, increasing
    path: Path                # where it goes


def write_clips(video: VideoStream, requests: list[ClipRequest], crop: CropSettings | None, track: BallTrack | None,
                max_gap: int, done: Callable[[ClipRequest, str], None]) -> None:
    """Decode, crop (crop None: frames as decoded) and save every request; `done(request, reason)` once per request
    ("" = written)."""
    pending = sorted(requests, key=lambda r: (r.frames[-1], r.frames[0]))
    needed = np.unique(np.concatenate([r.frames for r in requests])) if requests else np.zeros(0, np.int64)
    wanted = set(needed.tolist())
    boxes = dict(zip(needed.tolist(), track.boxes_at(needed, max_gap))) if track is not None else {}
    crops: dict[int, np.ndarray] = {}  # frame -> (S, S, 3) uint8, for the clips still pending
    gap = round(SEEK_AFTER_S * video.fps)
    runs = _runs(needed, gap)
    i = 0
    while i < len(runs):
        first, last = runs[i]
        cost_before = video.frames_before_start
        for index, frame in video.frames(first, last + 1):
            box = boxes.get(index)
            if index in wanted and (track is None or np.isfinite(box).all()):
                rgb = frame.to_ndarray(format="rgb24")                                      # (H, W, 3) uint8
                crops[index] = rgb if crop is None else crop_frame(rgb, box, crop)
            pending = _finish(pending, crops, up_to=index, done=done)
        pending = _finish(pending, crops, up_to=last, done=done)
        if video.frames_before_start - cost_before > 2 * gap and i + 1 < len(runs):
            log.info("%s: keyframes are far apart; reading the rest forward", video.path.name)
            runs[i + 1:] = [(runs[i + 1][0], runs[-1][1])]  # one more seek, then front to back
        i += 1
    _finish(pending, crops, up_to=np.iinfo(np.int64).max, done=done)


def _runs(needed: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """(first, last) frame of each run of needed frames whose gaps are at most max_gap frames."""
    if len(needed) == 0:
        return []
    breaks = np.flatnonzero(np.diff(needed) > max_gap)
    starts, ends = np.r_[0, breaks + 1], np.r_[breaks, len(needed) - 1]
    return [(int(needed[a]), int(needed[b])) for a, b in zip(starts, ends)]


def _finish(pending: list[ClipRequest], crops: dict, *, up_to: int, done) -> list[ClipRequest]:
    """Write the requests whose last frame is <= up_to (frames come in order: what is not cropped by then never
    will be); drop the crops no later request needs."""
    finished = 0
    while finished < len(pending) and pending[finished].frames[-1] <= up_to:
        request = pending[finished]
        missing = [f for f in request.frames if f not in crops]
        if missing:
            done(request, f"frames_missing: frame {missing[0]} could not be decoded (corrupt, or past the video's end)")
        else:
            save_numpy(request.path, np.stack([crops[f] for f in request.frames]))  # (T, S, S, 3) uint8
            done(request, "")
        finished += 1
    if finished:
        low = min((r.frames[0] for r in pending[finished:]), default=np.iinfo(np.int64).max)
        for index in [i for i in crops if i < low]:
            del crops[index]
    return pending[finished:]
