"""Tiny test videos that carry their frame index in their pixels, made with PyAV.

"Stripe" frames write the index's 8 bits as 8-pixel-wide bright/dark columns (survives any codec exactly);
"gray" frames are a uniform 10 * i + 5 (survives the transforms: resizing and cropping keep a uniform value).
"""
from pathlib import Path

import av
import numpy as np
import torch

# suffix -> (encoder, options): H.264 with B-frames (presentation order != decode order), MPEG-4 Part 2 in AVI
# (what UCF-101 ships), Matroska (no frame count in the container: counted from the duration) and a raw H.264
# stream (no count, no duration, no seeking: read sequentially).
CODECS = {".mp4": ("libx264", {"bf": "2"}), ".avi": ("mpeg4", {}), ".mkv": ("libx264", {}), ".h264": ("libx264", {})}


def stripe_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    frame = np.full((height, width, 3), 30, np.uint8)                  # (H, W, 3)
    for bit in range(8):
        if (i >> bit) & 1:
            frame[:, bit * 8:(bit + 1) * 8] = 220
    return frame


def stripe_index(frames: torch.Tensor) -> torch.Tensor:
    """(..., 3, 48, 64) uint8 stripe frames -> (...) the frame index they show."""
    columns = frames.float().mean(dim=(-3, -2))                        # (..., W)
    return sum(((columns[..., b * 8 + 2:b * 8 + 6].mean(-1) > 125).long() << b) for b in range(8))


def gray_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    return np.full((height, width, 3), 10 * i + 5, np.uint8)


def gray_index(values: torch.Tensor) -> torch.Tensor:
    """Mean pixel value in [0, 1] (identity normalisation) -> frame index."""
    return torch.round((values * 255 - 5) / 10).long()


def smooth_frame(i: int, width: int = 96, height: int = 72) -> np.ndarray:
    """A colour gradient with a soft bright disc moving across it: natural-looking content to compare resizes on."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = (10 + 3 * i) % width, height / 2
    disc = 120 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * (height / 6) ** 2))
    frame = np.stack([x / width * 200 + disc, y / height * 200 + disc / 2, 100 + 0 * x + disc / 3], axis=-1)
    return np.clip(frame, 0, 255).astype(np.uint8)


def encode(path: Path, num_frames: int, make_frame, gop: int = 10, width: int = 64, height: int = 48) -> Path:
    codec, options = CODECS[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "mpeg4":
            stream.codec_context.bit_rate = 2_000_000
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(make_frame(i), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


# suffix -> (FFmpeg muxer, encoder): every container the readers index, each with the codec it usually holds.
CONTAINER_CODECS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
                    ".mkv": ("matroska", "libx264"), ".avi": ("avi", "mpeg4"), ".webm": ("webm", "libvpx-vp9")}


def write_gray_video(path: Path, num_frames: int, width: int, height: int, fps: int = 25) -> Path:
    """gray_frame(i), i < num_frames (<= 25), at width x height in any of CONTAINER_CODECS' containers."""
    muxer, codec = CONTAINER_CODECS[path.suffix]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=muxer) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "mpeg4":
            stream.codec_context.bit_rate = 2_000_000
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(gray_frame(i, width, height), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
