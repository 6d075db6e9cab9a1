"""Decode, resize and encode one video with PyAV (the FFmpeg in the `av` wheel); audio and metadata are dropped.

    with open_video(path) as source:              # UnreadableVideo / av errors: the file does not decode
        source.width, source.height, source.rate
        frames_in, frames_out = reencode(source, partial, ".mp4", settings, (568, 320))

Timestamps: with fps=None every decoded frame becomes one output frame, numbered 0, 1, 2, … at the input's average
rate, so the readers (src/clip/data/reader.py: frame index = pts x rate) count the frames that decoded, whatever the
input's timestamps were (variable-rate, or reordered as in an H.264 .avi). With a number, frame_rate.at_rate picks
the frame on screen at each output instant.

Resizing: VideoFrame.reformat (swscale, one thread). Measured on 640x360 -> 568x320 frames: bilinear 0.16 ms, bicubic
0.29 ms, an av.filter.Graph `scale` 0.33 ms a frame, against several ms to encode one: the filter is not the cost.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from src.clip.data.resize.containers import add_video_stream, codec_for, muxer_for, output_rate
from src.clip.data.resize.frame_rate import at_rate
from src.clip.data.resize.settings import ResizeSettings


class UnreadableVideo(Exception):
    """Opened, but nothing to re-encode: no video stream, no frame rate, no frame decoded."""


@dataclass
class Source:
    container: "av.container.InputContainer"
    stream: "av.video.stream.VideoStream"
    width: int
    height: int
    rate: Fraction


@contextmanager
def open_video(path: Path):
    container = av.open(str(path), mode="r")
    try:
        if not container.streams.video:
            raise UnreadableVideo("no video stream")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1           # one process per core: one decoding thread each
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise UnreadableVideo("no frame rate in the container")
        yield Source(container, stream, stream.codec_context.width, stream.codec_context.height, Fraction(rate))
    finally:
        container.close()


def reencode(source: Source, target: Path, suffix: str, settings: ResizeSettings,
             size: tuple[int, int]) -> tuple[int, int]:
    """Write `source` to `target` (a muxer for `suffix`) at `size`; returns (frames decoded, frames written)."""
    rate = output_rate(Fraction(settings.fps) if settings.fps is not None else source.rate)
    time_base = 1 / rate
    decoded = written = 0
    with av.open(str(target), mode="w", format=muxer_for(suffix)) as output:
        stream = add_video_stream(output, codec_for(suffix, settings), settings, *size, rate)

        def timed():
            nonlocal decoded
            for frame in source.container.decode(source.stream):
                decoded += 1
                yield frame.time, frame

        frames = (frame for _, frame in timed()) if settings.fps is None else at_rate(timed(), source.rate, rate)
        last_input, resized = None, None
        for frame in frames:
            if frame is not last_input:   # a frame repeated by a higher --fps is resized once
                last_input = frame
                resized = frame.reformat(width=size[0], height=size[1], format="yuv420p",
                                         interpolation=settings.interpolation, threads=1)
            resized.pts, resized.time_base = written, time_base
            output.mux(stream.encode(resized))
            written += 1
        if decoded == 0:
            raise UnreadableVideo("no frame could be decoded")
        output.mux(stream.encode(None))   # flush what the encoder still holds
    return decoded, written
