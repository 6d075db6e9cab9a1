"""A tiny test video for the footage tools: a textured background and a magenta square (the "ball") moving
along a known path, with its true boxes as a ball-track table."""
from pathlib import Path

import numpy as np
import pandas as pd

from src.synthetic.video_writer import VideoWriter

BALL = 6                      # the square's side, pixels
MAGENTA = (250, 0, 250)


def ball_position(frame: int, width: int) -> tuple[int, int]:
    """Top-left corner of the square at `frame`: it sweeps left to right, touching both edges."""
    span = width - BALL
    x = int(abs((frame * 3) % (2 * span) - span))  # a triangle wave over 0..span
    return x, 20 + (frame % 7)


def write_square_video(path: Path, *, frames: int, width: int = 96, height: int = 64, fps: float = 25,
                       video_id: str = "m1", half: int = 1, untracked: range = range(0),
                       gop_size: int | None = None) -> pd.DataFrame:
    """Write the video; return its track (video_id,half,frame,x,y,w,h,score), without the `untracked` frames."""
    ys, xs = np.mgrid[0:height, 0:width]
    background = np.stack([(xs * 2) % 200, (ys * 3) % 200, np.full_like(xs, 90)], -1).astype(np.uint8)  # (H, W, 3)
    rows = []
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    keyframes = {} if gop_size is None else {"gop_size": gop_size}
    with VideoWriter(Path(path), fps=fps, width=width, height=height, **keyframes) as writer:
        for f in range(frames):
            image = background.copy()
            x, y = ball_position(f, width)
            image[y:y + BALL, x:x + BALL] = MAGENTA
            writer.write(image[None])
            if f not in untracked:
                rows.append((video_id, half, f, x, y, BALL, BALL, 0.9))
    return pd.DataFrame(rows, columns=["video_id", "half", "frame", "x", "y", "w", "h", "score"])


def magenta_centre(image: np.ndarray) -> tuple[float, float]:
    """(row, column) centroid of the magenta pixels of an (H, W, 3) uint8 image."""
    pixels = image.astype(int)
    mask = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] > 180)
    rows, cols = np.nonzero(mask)
    assert len(rows), "no magenta pixel"
    return float(rows.mean()), float(cols.mean())
