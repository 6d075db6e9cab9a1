"""benchmarks/whole_clip_baseline.py, the loader benchmark's baseline (pytorchvideo's way of loading a clip): it
returns exactly the frames of the asked time span, all of them, in order, and items as the benchmark's loader."""
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from benchmarks.whole_clip_baseline import WholeClipDataset, decode_clip


def _every_frame(path) -> tuple[np.ndarray, list[Fraction]]:
    """(T, H, W, 3) rgb24 of the whole video and each frame's time, decoded plainly from the start."""
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
        return np.stack([f.to_ndarray(format="rgb24") for f in frames]), [f.pts * f.time_base for f in frames]


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])  # time bases 1/25 and 1/12800
def test_decode_clip_returns_every_frame_of_the_span(synthetic_root, suffix):
    path = next(p for p in sorted(synthetic_root.rglob(f"*{suffix}")))
    frames, times = _every_frame(path)
    whole = decode_clip(path, 0.0, float(times[-1]) + 1e-3)                       # (C, T, H, W) float 0..255
    assert whole.dtype == torch.float32 and whole.shape == (3, *frames.shape[:3])
    assert torch.equal(whole.permute(1, 2, 3, 0), torch.from_numpy(frames).float())
    start, end = float(times[3]) - 1e-3, float(times[9]) - 1e-3                    # frames 3..8: [start, end)
    assert torch.equal(decode_clip(path, start, end).permute(1, 2, 3, 0), torch.from_numpy(frames[3:9]).float())


def test_items_are_the_benchmarks_clips(synthetic_root):
    path = next(p for p in sorted(synthetic_root.rglob("*.mp4")))
    frames, times = _every_frame(path)
    backbone = {"image_size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    item = WholeClipDataset([(str(path), 3)], float(times[-1]) + 1e-3, frames=4, backbone=backbone)[0]
    assert item["label"] == 3 and item["video"].shape == (4, 3, 16, 16)             # (T, C, S, S)
    first = torch.from_numpy(frames[0]).permute(2, 0, 1).float() / 255               # subsampling keeps frame 0
    side = 16 * frames.shape[2] // frames.shape[1]                                   # short side 16, then crop
    expected = torch.nn.functional.interpolate(first[None], size=(16, side), mode="bilinear", antialias=True)
    left = (side - 16) // 2
    expected = (expected[0, :, :, left:left + 16] - 0.5) / 0.25
    assert torch.allclose(item["video"][0], expected, atol=0.05)                    # uint8 rounding in between
