"""The one crop of a video frame into a clip frame, used by `make_header_clips` (training clips) and by
`src.detect` (windows): both see exactly the same pixels.

    settings = CropSettings(mode="ball", crop_scale=4.5, min_crop=64, size=224)
    crop_frame(rgb, box, settings)       # (H, W, 3) uint8 + ball box (x, y, w, h) -> (size, size, 3) uint8

- ball: a square centred on the box's centre, side = max(min_crop, crop_scale x max(w, h)) pixels of the video.
  Where the square leaves the frame it is padded with black, never shifted: the ball stays at the centre.
- whole_frame: the frame squeezed to size x size (what a whole-frame model sees; no box needed).

The side comes from each frame's own box (not from the clip's centre frame, as the original did), so a frame's
crop does not depend on which clip or window holds it: detection crops every frame once, and a frame shared by
two training clips is identical in both.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

CROP_MODES = ("ball", "whole_frame")


@dataclass(frozen=True)
class CropSettings:
    mode: str            # ball | whole_frame
    crop_scale: float    # ball: side = crop_scale x max(w, h) ...
    min_crop: int        # ... but at least min_crop pixels
    size: int            # output side (pixels)

    def __post_init__(self):
        assert self.mode in CROP_MODES and self.size >= 1 and self.min_crop >= 1 and self.crop_scale > 0, self

    def as_dict(self) -> dict:
        return {"crop": self.mode, "crop_scale": self.crop_scale, "min_crop": self.min_crop, "size": self.size}


def crop_side(box: np.ndarray, settings: CropSettings) -> int:
    """The square's side in video pixels for a ball box (x, y, w, h)."""
    return max(int(settings.min_crop), int(round(settings.crop_scale * max(float(box[2]), float(box[3])))))


def crop_window(box: np.ndarray, settings: CropSettings) -> tuple[int, int, int]:
    """(left, top, side) of the ball-centred square, in video pixels (left/top may be negative: padding)."""
    side = crop_side(box, settings)
    centre_x, centre_y = float(box[0]) + float(box[2]) / 2, float(box[1]) + float(box[3]) / 2
    return int(np.floor(centre_x - side / 2 + 0.5)), int(np.floor(centre_y - side / 2 + 0.5)), side


def crop_frame(rgb: np.ndarray, box: np.ndarray | None, settings: CropSettings) -> np.ndarray:
    """(H, W, 3) uint8 frame -> (size, size, 3) uint8 clip frame (see the module docstring)."""
    if settings.mode == "whole_frame":
        return _resize(rgb, settings.size)
    assert box is not None, "a ball crop needs the ball's box"
    height, width = rgb.shape[:2]
    left, top, side = crop_window(box, settings)
    square = np.zeros((side, side, 3), dtype=np.uint8)                                # black padding
    x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + side, width), min(top + side, height)
    if x0 < x1 and y0 < y1:  # the part of the square inside the frame
        square[y0 - top:y1 - top, x0 - left:x1 - left] = rgb[y0:y1, x0:x1]
    return _resize(square, settings.size)


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """(h, w, 3) uint8 -> (size, size, 3) uint8, bilinear with antialiasing (torchvision, as the clip transforms)."""
    if rgb.shape[:2] == (size, size):
        return np.ascontiguousarray(rgb)
    pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)                 # (3, h, w)
    return F.resize(pixels, [size, size], antialias=True).permute(1, 2, 0).contiguous().numpy()  # (size, size, 3)
