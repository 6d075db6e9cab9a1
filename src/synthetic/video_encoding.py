"""Encode uint8 RGB frames into a real video file with PyAV (the FFmpeg bundled in the `av` wheel).

Three codecs, so readers meet the kinds of file a user has: H.264 in .mp4 (what most cameras and Kinetics
give; B-frames reorder presentation timestamps), MPEG-4 Part 2 in .avi (what UCF-101 ships) and VP9 in .webm
(what Something-Something v2 ships; FFmpeg's libvpx-vp9, in the `av` wheels).
"""
import logging
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

FPS = 25
GOP_SIZE = 12  # a keyframe every 12 frames, so a 32-frame clip has several: seeking gets exercised

# Quality settings: synthetic frames are small and clean, so near-lossless costs almost nothing, and it keeps
# compression artefacts far below the motion signal the motion classes carry.
_H264_OPTIONS = {"crf": "16", "preset": "medium", "threads": "1", "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0"}
_MPEG4_BIT_RATE = 2_000_000
# VP9 in constant-quality mode (bit rate 0 + crf); "realtime" / cpu-used 8: the fastest libvpx speed, as tiny clips
# need no search effort. One thread, as for the others.
_VP9_OPTIONS = {"crf": "16", "deadline": "realtime", "cpu-used": "8", "row-mt": "0"}
_CODECS = {".avi": "mpeg4", ".webm": "libvpx-vp9"}


@cache
def h264_encoder() -> str:
    """The H.264 encoder name this PyAV build has, or "mpeg4" when it has none (logged once)."""
    for name in ("libx264", "h264"):
        try:
            av.codec.Codec(name, "w")
            return name
        except (av.codec.codec.UnknownCodecError, ValueError):
            continue
    log.warning("this PyAV build has no H.264 encoder; the .mp4 videos use MPEG-4 Part 2 instead")
    return "mpeg4"


def codec_for(suffix: str) -> str:
    """.mp4 → H.264 (or the mpeg4 fallback); .avi → MPEG-4 Part 2; .webm → VP9."""
    assert suffix in (".mp4", *_CODECS), f"synthetic videos are .mp4, .avi or .webm, got {suffix!r}"
    return h264_encoder() if suffix == ".mp4" else _CODECS[suffix]


def encode_video(path: Path, frames: np.ndarray, fps: int = FPS) -> None:
    """Write frames (T, H, W, 3) uint8 RGB to `path`; the container follows the suffix (.mp4 / .avi / .webm)."""
    assert frames.ndim == 4 and frames.shape[-1] == 3 and frames.dtype == np.uint8, \
        f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}"
    num_frames, height, width, _ = frames.shape
    assert height % 2 == 0 and width % 2 == 0, f"yuv420p needs even sizes, got {width}x{height}"
    codec = codec_for(Path(path).suffix)
    # WebM (Matroska) writes a random segment UID unless told to be bit-exact: the same seed would give other bytes.
    options = {"fflags": "+bitexact"} if codec == "libvpx-vp9" else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # One thread: the encoders' output then does not depend on the machine's core count (reproducible).
        stream.codec_context.thread_count = 1
        stream.codec_context.gop_size = GOP_SIZE
        if codec == "mpeg4":
            stream.codec_context.bit_rate = _MPEG4_BIT_RATE
        elif codec == "libvpx-vp9":
            stream.codec_context.bit_rate = 0
            stream.codec_context.options = dict(_VP9_OPTIONS)
        else:
            stream.codec_context.options = dict(_H264_OPTIONS)
        for index in range(num_frames):
            # Convert to yuv420p ourselves, in numpy: FFmpeg's scaler (implicit, or through reformat) caches
            # state whose output differed with what the process had converted before (seen with av 18.1), so
            # the same seed gave different files depending on earlier encodes.
            frame = av.VideoFrame.from_ndarray(rgb_to_yuv420p(frames[index]), format="yuv420p")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))  # flush the frames the encoder still holds (B-frame lookahead)


def rgb_to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H·3/2, W) uint8 planar yuv420p, BT.601 limited range (FFmpeg's default)."""
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    h, w = y.shape
    half = lambda c: c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731  (2x2 chroma average)
    planes = [y.ravel(), half(u).ravel(), half(v).ravel()]
    return np.clip(np.rint(np.concatenate(planes)), 0, 255).astype(np.uint8).reshape(h * 3 // 2, w)
