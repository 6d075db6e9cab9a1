"""Decode only the frames a sampler asked for, with PyAV: seek to the keyframe before them, decode forward.

    with VideoReader(path) as video:
        indices = sampler.indices(video.num_frames, train, rng)       # (V, T)
        decoded = video.read(indices)
    clip = decoded.expand()                                            # (V, T, 3, H, W) uint8

Frame index of a decoded frame = round((pts - start) * time_base * fps): presentation timestamps are the only
position information that survives a seek. Any failure to open or decode becomes `BadVideoError`.
"""
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from src.core.errors import BadVideoError

log = logging.getLogger(__name__)

# Seek again instead of decoding forward when the next wanted frame is further ahead than this many frames
# AND further than the keyframe spacing seen so far (a seek lands on the keyframe before the target: if no
# keyframe lies in between, seeking would only decode the same frames again). Measured on 250-frame 320x240
# mpeg4/h264 clips (keyframes every 12-250 frames): gaps of 4-16 performed alike; dense clips read 2-3x faster
# than decoding from the start, evenly spaced frames as fast as decoding everything.
MIN_SEEK_GAP = 8
# A container's frame count can be a little higher than what decodes (rounded durations, a dropped last
# frame). Missing frames at the very end within this tolerance repeat the last decoded frame; more is a
# truncated file.
TAIL_TOLERANCE_FRAMES = 3
TAIL_TOLERANCE_FRACTION = 0.05
# swscale threads for the YUV -> RGB conversion. PyAV's default (automatic) sets up a thread pool per call,
# which made to_ndarray 5-20x slower than one thread on small frames; the loader parallelises across workers.
RGB_THREADS = 1


@dataclass
class DecodedFrames:
    frames: torch.Tensor          # (N, 3, H, W) uint8 (channels-last memory): the sorted unique requested frames
    frame_indices: np.ndarray     # (N,) the frame index each row of `frames` holds
    inverse: np.ndarray           # request shape (e.g. (V, T)): the row of `frames` for each requested index
    num_decoded: int              # frames the decoder produced, wanted or not (the cost of the read)

    def expand(self) -> torch.Tensor:
        """The frames in the requested order and shape: (*request shape, 3, H, W)."""
        return self.frames[torch.from_numpy(self.inverse)]


class VideoReader:
    """One open video. Use as a context manager; `num_frames` is known once it is open."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = None

    def __enter__(self) -> "VideoReader":
        try:
            self._open()
            self.num_frames, self._sequential = self._count_frames()
        except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
            self.close()
            reason = getattr(error, "strerror", None) or error                # without the path again
            raise BadVideoError(f"{self.path}: cannot open ({reason})") from None
        except BadVideoError:
            self.close()
            raise
        if self.num_frames < 1:
            self.close()
            raise BadVideoError(f"{self.path}: no frames")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _open(self) -> None:
        self.close()
        self._container = av.open(str(self.path), mode="r")
        if not self._container.streams.video:
            raise BadVideoError(f"{self.path}: no video stream")
        self._stream = self._container.streams.video[0]
        # Frame threading ("AUTO") was no faster in measurements: it decodes ahead of what a seek needs, and
        # the DataLoader's workers already use the cores.
        self._stream.thread_type = "SLICE"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._fps = Fraction(rate) if rate else None
        self._time_base = Fraction(self._stream.time_base) if self._stream.time_base else None
        # frames per pts tick, as a float: Fraction arithmetic per decoded frame was a visible cost.
        self._frames_per_tick = float(self._fps * self._time_base) if self._fps and self._time_base else None
        self._start = self._stream.start_time or 0
        self._at_start = True                    # nothing demuxed yet: the next decode starts at frame 0

    def read(self, indices: np.ndarray) -> DecodedFrames:
        """The frames at `indices` (any shape, values in [0, num_frames)), each decoded once."""
        assert self._container is not None, "VideoReader.read outside its `with` block"
        request = np.asarray(indices, dtype=np.int64)
        assert request.size > 0 and request.min() >= 0 and request.max() < self.num_frames, (
            f"{self.path}: frame indices must lie in [0, {self.num_frames}), got {request.min()}..{request.max()}")
        wanted, inverse = np.unique(request, return_inverse=True)      # (N,) sorted
        arrays, num_decoded, last_seen, error = self._decode(wanted)
        if not arrays:
            raise BadVideoError(f"{self.path}: no frame could be decoded" + (f" ({error})" if error else ""))
        if len(arrays) < len(wanted):
            missing = int(wanted[len(arrays)])
            allowed = max(TAIL_TOLERANCE_FRAMES, math.ceil(TAIL_TOLERANCE_FRACTION * self.num_frames))
            if int(wanted[-1]) - last_seen > allowed:
                raise BadVideoError(f"{self.path}: truncated: frame {missing} of {self.num_frames} cannot be "
                                    "decoded" + (f" ({error})" if error else ""))
            arrays += [arrays[-1]] * (len(wanted) - len(arrays))       # repeat the last frame
        # (N, H, W, 3) -> (N, 3, H, W) as a view: channels-last memory, which torch's uint8 resize is fastest on.
        frames = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)                # (N, 3, H, W)
        return DecodedFrames(frames, wanted, inverse.reshape(request.shape), num_decoded)

    # ------------------------------------------------------------------------------------------------ internals
    def _decode(self, wanted: np.ndarray) -> tuple[list[np.ndarray], int, int, str | None]:
        """rgb24 arrays (H, W, 3) for a prefix of `wanted` (all of it unless the stream ends early), the number
        of frames decoded, the highest frame index seen, and the decoding error that stopped it (if any)."""
        arrays: list[np.ndarray] = []
        num_decoded, keyframe_gap, last_keyframe, size, last_seen = 0, 0, None, None, -1
        try:
            while len(arrays) < len(wanted):
                target = int(wanted[len(arrays)])
                # A fresh container sits at frame 0, a keyframe: near the start, decoding beats seeking.
                seek = not self._at_start or target > MIN_SEEK_GAP
                for index, frame in self._frames_from(target, seek):
                    num_decoded += 1
                    last_seen = max(last_seen, index)
                    if frame.key_frame:
                        if last_keyframe is not None and index > last_keyframe:
                            keyframe_gap = max(keyframe_gap, index - last_keyframe)
                        last_keyframe = index
                    if index < target:
                        continue
                    size = size or (frame.width, frame.height)
                    array = frame.to_ndarray(format="rgb24", width=size[0], height=size[1],
                                             threads=RGB_THREADS)                   # (H, W, 3)
                    # This frame stands for every wanted index up to its own (timestamps may skip one).
                    while len(arrays) < len(wanted) and wanted[len(arrays)] <= index:
                        arrays.append(array)
                    if len(arrays) == len(wanted):
                        break
                    target = int(wanted[len(arrays)])
                    since_keyframe = index - last_keyframe if last_keyframe is not None else 0
                    if not self._sequential and target - index > max(MIN_SEEK_GAP, keyframe_gap, since_keyframe):
                        break                                            # cheaper to seek again
                else:
                    return arrays, num_decoded, last_seen, None          # the stream ended
        except (av.FFmpegError, OSError) as error:                       # corrupt data: stop here
            return arrays, num_decoded, last_seen, str(error)
        return arrays, num_decoded, last_seen, None

    def _frames_from(self, target: int, seek: bool):
        """(frame index, frame) from the keyframe at or before `target` (seek) or from where the container is."""
        if self._sequential:
            # Positions are only known by counting from the first frame: start again from the top if needed.
            if not self._at_start:
                self._open()
            self._at_start = False
            yield from enumerate(self._container.decode(self._stream))
            return
        self._at_start = False
        if seek:
            pts = self._start + int(target / (self._fps * self._time_base))
            self._container.seek(pts, stream=self._stream, backward=True, any_frame=False)
        previous = None
        for frame in self._container.decode(self._stream):
            if frame.pts is None:
                index = previous + 1 if previous is not None else target
            else:
                index = round((frame.pts - self._start) * self._frames_per_tick)
            previous = index
            yield index, frame

    def _count_frames(self) -> tuple[int, bool]:
        """(frame count, sequential): the container's count, else duration x fps, else the packets counted.

        Without a rate or any duration (raw elementary streams such as .h264) timestamps cannot be trusted and
        seeking may be impossible: such a video is read sequentially, positions counted from the first frame.
        """
        if self._frames_per_tick is not None:
            if self._stream.frames and self._stream.frames > 0:
                return int(self._stream.frames), False
            if self._stream.duration:
                return round(self._stream.duration * self._time_base * self._fps), False
            if self._container.duration:
                return round(Fraction(self._container.duration, av.time_base) * self._fps), False
        packets = sum(1 for packet in self._container.demux(self._stream) if packet.size > 0)
        self._open()                                                    # back to the start, without seeking
        return packets, True


def read_frames(path: str | Path, indices: np.ndarray) -> DecodedFrames:
    """Open, read `indices`, close."""
    with VideoReader(path) as video:
        return video.read(indices)
