"""Decode a long video once, front to back, with PyAV: frames come out one at a time, nothing is kept.

    with VideoStream(path) as video:                 # UserError when it cannot be opened
        for index, frame in video.frames(start_frame=0, end_frame=None):
            rgb = frame.to_ndarray(format="rgb24")     # (H, W, 3) uint8, only when the caller needs it

A frame's index is round((pts - stream start) * time_base * fps): timestamps are the only position information
that survives a seek and a corrupt stretch. A packet that does not decode is skipped with a warning and counted
(`decode_errors`); the frames it held are missing from the sequence, which the windowing records as a gap.
"""
import logging
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av

from src.core.errors import UserError

log = logging.getLogger(__name__)

SEEK_MARGIN_S = 1.0  # seek this far before the first wanted frame: decoding forward from a keyframe is exact


class VideoStream:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = None
        self.decode_errors = 0
        self.frames_before_start = 0  # decoded after a seek only to reach start_frame (what seeking costs)

    def __enter__(self) -> "VideoStream":
        if not self.path.is_file():
            raise UserError(f"video={self.path}: no such file; pass the path of a match video (.mp4, .avi, …)")
        try:
            self._container = av.open(str(self.path))
            if not self._container.streams.video:
                raise UserError(f"video={self.path}: has no video stream; pass a video file")
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
            self.close()
            raise UserError(f"video={self.path}: cannot be opened as a video ({error}); check the file") from None
        except UserError:
            self.close()
            raise
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        if not rate:
            self.close()
            raise UserError(f"video={self.path}: no frame rate in the container; re-mux it (ffmpeg -i in -c copy out.mp4)")
        self.fps = float(rate)
        self._rate = Fraction(rate)
        self._start_pts = self._stream.start_time or 0
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def num_frames(self) -> int | None:
        """The container's frame count (an estimate when it has to be guessed from the duration), or None."""
        if self._stream.frames:
            return int(self._stream.frames)
        duration = self._stream.duration
        if duration:
            return int(math.floor(duration * self._stream.time_base * self._rate))
        if self._container.duration:
            return int(math.floor(self._container.duration / av.time_base * self.fps))
        return None

    def frame_index(self, frame: av.VideoFrame) -> int:
        return round((frame.pts - self._start_pts) * self._stream.time_base * self._rate)

    def frames(self, start_frame: int = 0, end_frame: int | None = None) -> Iterator[tuple[int, av.VideoFrame]]:
        """(index, frame) for every decodable frame with start_frame <= index < end_frame (None: to the end)."""
        if start_frame > 0:
            target_s = max(0.0, start_frame / self.fps - SEEK_MARGIN_S)
            offset = int(target_s / self._stream.time_base) + self._start_pts
            self._container.seek(offset, stream=self._stream, backward=True, any_frame=False)
        last = -1
        for packet in self._container.demux(self._stream):
            try:
                decoded = packet.decode()
            except av.FFmpegError as error:  # a corrupt packet: skip it, the next keyframe resynchronises
                self.decode_errors += 1
                log.warning("%s: undecodable packet near %.2f s skipped (%s)", self.path.name,
                            float((packet.pts or 0) * self._stream.time_base), error)
                continue
            for frame in decoded:
                if frame.pts is None:
                    continue
                index = self.frame_index(frame)
                if index <= last or index < start_frame:  # duplicates after a seek, frames before the start
                    self.frames_before_start += index < start_frame
                    continue
                if end_frame is not None and index >= end_frame:
                    return
                last = index
                yield index, frame
