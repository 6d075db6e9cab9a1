"""Write a video frame by frame (PyAV), for videos too long to hold in memory (a synthetic match half).

    with VideoWriter(path, fps=25, width=64, height=64) as writer:
        for frames in chunks:            # (N, H, W, 3) uint8 RGB
            writer.write(frames)

Same codecs, quality settings and numpy colour conversion as `video_encoding.encode_video` (one file of either
kind decodes alike); only the frames in flight are held. A caller that builds its frames in yuv420p already (the
wide match footage, which converts only the pixels it draws) hands them to `write_yuv420p`. `gop_size` (the
keyframe interval) and `h264_preset` (x264's speed preset) default to video_encoding's.
"""
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from src.synthetic.video_encoding import _H264_OPTIONS, _MPEG4_BIT_RATE, GOP_SIZE, codec_for, rgb_to_yuv420p


class VideoWriter:
    def __init__(self, path: Path, *, fps: float, width: int, height: int, gop_size: int = GOP_SIZE,
                 h264_preset: str = _H264_OPTIONS["preset"]):
        assert height % 2 == 0 and width % 2 == 0, f"yuv420p needs even sizes, got {width}x{height}"
        self.path, self.fps, self.width, self.height = Path(path), fps, width, height
        self.gop_size, self.h264_preset = gop_size, h264_preset
        self.frames_written = 0
        self._container = None
        self._stream = None

    def __enter__(self) -> "VideoWriter":
        codec = codec_for(self.path.suffix)
        self._container = av.open(str(self.path), mode="w")
        stream = self._container.add_stream(codec, rate=Fraction(self.fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.codec_context.thread_count = 1  # reproducible output whatever the core count
        stream.codec_context.gop_size = self.gop_size
        if codec == "mpeg4":
            stream.codec_context.bit_rate = _MPEG4_BIT_RATE
        else:
            stream.codec_context.options = {**_H264_OPTIONS, "preset": self.h264_preset}
        self._stream = stream
        return self

    def write(self, frames: np.ndarray) -> None:
        """Append frames (N, H, W, 3) uint8 RGB."""
        assert frames.ndim == 4 and frames.shape[1:] == (self.height, self.width, 3) and frames.dtype == np.uint8, \
            f"frames must be (N, {self.height}, {self.width}, 3) uint8, got {frames.shape} {frames.dtype}"
        for rgb in frames:
            self.write_yuv420p(rgb_to_yuv420p(rgb))

    def write_yuv420p(self, planes: np.ndarray) -> None:
        """Append one frame given as packed yuv420p planes (H·3/2, W) uint8 (the layout rgb_to_yuv420p returns)."""
        assert planes.shape == (self.height * 3 // 2, self.width) and planes.dtype == np.uint8, \
            f"a yuv420p frame must be ({self.height * 3 // 2}, {self.width}) uint8, got {planes.shape} {planes.dtype}"
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = self.frames_written
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def __exit__(self, *exc) -> None:
        try:
            if exc[0] is None:
                self._container.mux(self._stream.encode(None))  # flush what the encoder still holds
        finally:
            self._container.close()
