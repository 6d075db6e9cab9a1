"""Decode only the frames a sampler asked for, with PyAV: seek to the keyframe before them, decode forward.

    with VideoReader(path) as video:
        indices = sampler.indices(video.num_frames, train, rng)       # (V, T)
        decoded = video.read(indices)
    clip = decoded.expand()                                            # (V, T, 3, H, W) uint8

Frame index of a decoded frame = round((pts - start) * time_base * fps): presentation timestamps are the only
position information that survives a seek. Any failure to open or decode becomes `BadVideoError`.
`VideoReader(path, short_side=224)` converts each frame straight to the size torchvision's resize to a short side
of 224 gives (dataset.decode_resize), instead of converting the full frame; `stream()` hands out every frame in
order, one at a time, with the same index rule as `read` (the decoded-frame store is built from it).
"""
import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from src.clip.data.decoded import DecodedFrames, DecodeState, complete_tail, resized_size
from src.core.errors import BadVideoError

log = logging.getLogger(__name__)

# Seek again instead of decoding forward when the next wanted frame is further ahead than this many frames
# AND further than the keyframe spacing seen so far (a seek lands on the keyframe before the target: if no
# keyframe lies in between, seeking would only decode the same frames again). Measured on 250-frame 320x240
# mpeg4/h264 clips (keyframes every 12-250 frames): gaps of 4-16 performed alike; dense clips read 2-3x faster
# than decoding from the start, evenly spaced frames as fast as decoding everything.
MIN_SEEK_GAP = 8
# swscale threads for the YUV -> RGB conversion. PyAV's default (automatic) sets up a thread pool per call,
# which made to_ndarray 5-20x slower than one thread on small frames; the loader parallelises across workers.
RGB_THREADS = 1
# swscale's filter when converting straight to a smaller size (short_side, dataset.decode_resize). Of swscale's
# filters the closest to torchvision's antialiased bilinear resize of the full RGB frame: mean |diff| 1.5-1.8
# levels on 340x256 and 640x360 -> 224 (AREA 1.6-1.9, BICUBIC 1.7-2.3, FAST_BILINEAR 2.5-3.7); the largest
# differences (up to ~150 on saturated synthetic discs, 7 on smooth content) sit on sharp colour edges, where the
# unscaled conversion repeats chroma samples and the scaled one interpolates them. Measured per frame on one core:
# the scaled conversion costs 0.5-0.6 ms, the unscaled one 0.05-0.12 ms + torch's uint8 resize ~0.1 ms, so this is
# no speed-up here (benchmarks/scale.py); it is kept as a switch. Reusing one swscale context per video instead
# of one per frame gave identical pixels and no measurable gain.
RESIZE_INTERPOLATION = "BILINEAR"


class VideoReader:
    """One open video. Use as a context manager; `num_frames` is known once it is open."""

    def __init__(self, path: str | Path, short_side: int | None = None):
        self.path = Path(path)
        self.short_side = short_side          # None: full-size frames
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
        state = DecodeState()
        arrays = complete_tail(self.path, wanted, list(self._decode(wanted, state)), state.last_seen,
                               self.num_frames, state.error)
        # (N, H, W, 3) -> (N, 3, H, W) as a view: channels-last memory, which torch's uint8 resize is fastest on.
        frames = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)                # (N, 3, H, W)
        return DecodedFrames(frames, wanted, inverse.reshape(request.shape), state.num_decoded)

    def stream(self, state: DecodeState) -> Iterator[np.ndarray]:
        """Frames 0, 1, … num_frames - 1 as rgb24 arrays (H, W, 3), in one pass from the start: frame i is the one
        `read([i])` gives. Stops early where the stream ends or breaks (`state` says where and why); the same
        array object stands for consecutive indices one decoded frame covers."""
        assert self._container is not None, "VideoReader.stream outside its `with` block"
        return self._decode(np.arange(self.num_frames), state)

    # ------------------------------------------------------------------------------------------------ internals
    def _decode(self, wanted: np.ndarray, state: DecodeState) -> Iterator[np.ndarray]:
        """rgb24 arrays (H, W, 3) for a prefix of `wanted` (all of it unless the stream ends early), one per wanted
        index, in order; `state` records the frames decoded, the highest index seen and the error that stopped it."""
        filled, keyframe_gap, last_keyframe, size = 0, 0, None, None
        try:
            while filled < len(wanted):
                target = int(wanted[filled])
                # A fresh container sits at frame 0, a keyframe: near the start, decoding beats seeking.
                seek = not self._at_start or target > MIN_SEEK_GAP
                for index, frame in self._frames_from(target, seek):
                    state.num_decoded += 1
                    state.last_seen = max(state.last_seen, index)
                    if frame.key_frame:
                        if last_keyframe is not None and index > last_keyframe:
                            keyframe_gap = max(keyframe_gap, index - last_keyframe)
                        last_keyframe = index
                    if index < target:
                        continue
                    size = size or self._output_size(frame)
                    array = frame.to_ndarray(format="rgb24", width=size[0], height=size[1], threads=RGB_THREADS,
                                             interpolation=RESIZE_INTERPOLATION)           # (H, W, 3)
                    # This frame stands for every wanted index up to its own (timestamps may skip one).
                    while filled < len(wanted) and wanted[filled] <= index:
                        yield array
                        filled += 1
                    if filled == len(wanted):
                        break
                    target = int(wanted[filled])
                    since_keyframe = index - last_keyframe if last_keyframe is not None else 0
                    if not self._sequential and target - index > max(MIN_SEEK_GAP, keyframe_gap, since_keyframe):
                        break                                            # cheaper to seek again
                else:
                    return                                               # the stream ended
        except (av.FFmpegError, OSError) as error:                       # corrupt data: stop here
            state.error = str(error)

    def _output_size(self, frame) -> tuple[int, int]:
        """(width, height) of the arrays: the frame's own, or resized to `short_side` (the first frame's size
        holds for the whole video, as the stacked arrays need)."""
        if self.short_side is None:
            return frame.width, frame.height
        return resized_size(frame.width, frame.height, self.short_side)

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
