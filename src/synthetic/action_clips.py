"""The synthetic action classes: one coloured object on a textured, noisy background per clip.

Two kinds of class (benchmarks and tests read CLASS_GROUPS):
- appearance classes: shape + colour tell them apart from any single frame; the object only jitters.
- motion classes, in pairs that look identical frame by frame and differ only in temporal order:
  MovingLeft / MovingRight translate the same disc along the same kind of path, Growing / Shrinking scale the
  same disc between the same kind of radii. Each pair draws its path (start, end) from one distribution and
  plays it forwards or backwards, so the set of frames of a clip has the same distribution for both members
  of a pair: only the order of the frames tells them apart.
"""
from collections.abc import Callable

import numpy as np

from src.synthetic import drawing

APPEARANCE_CLASSES = ("RedSquareStill", "GreenCircleStill", "BlueTriangleStill")
MOTION_PAIRS = (("MovingLeft", "MovingRight"), ("Growing", "Shrinking"))
MOTION_CLASSES = tuple(name for pair in MOTION_PAIRS for name in pair)
CLASS_GROUPS = {"appearance": list(APPEARANCE_CLASSES), "motion": list(MOTION_CLASSES)}
# classInd order: alphabetical, as UCF-101 numbers its classes.
ACTION_CLASSES = tuple(sorted(APPEARANCE_CLASSES + MOTION_CLASSES))

RED, GREEN, BLUE = (205, 45, 45), (45, 175, 70), (50, 80, 210)
YELLOW, MAGENTA = (230, 200, 40), (200, 60, 200)
JITTER_PX = 0.35  # per-frame position jitter (std, pixels): "still" objects are not perfectly still
NOISE_STD = 4.0  # per-pixel sensor noise (std, 0-255 levels)

# A drawer gets (rng, num_frames, width, height) and returns (coverage (T, H, W), RGB colour).
Drawer = Callable[[np.random.Generator, int, int, int], tuple[np.ndarray, np.ndarray]]


def render_action_clip(class_name: str, rng: np.random.Generator, num_frames: int, width: int,
                       height: int) -> np.ndarray:
    """One clip of `class_name` as uint8 (T, H, W, 3) RGB."""
    assert class_name in DRAWERS, f"unknown synthetic class {class_name!r}; known: {sorted(DRAWERS)}"
    assert num_frames >= 2, f"num_frames must be >= 2 to show motion, got {num_frames}"
    frames = _background(rng, num_frames, width, height)  # (T, H, W, 3) float
    coverage, colour = DRAWERS[class_name](rng, num_frames, width, height)
    frames = drawing.paint(frames, coverage, colour)
    return drawing.add_noise_and_quantise(rng, frames, NOISE_STD)


def _background(rng: np.random.Generator, num_frames: int, width: int, height: int) -> np.ndarray:
    grey = rng.uniform(90, 130)
    tint = rng.uniform(-15, 15, size=3)
    return drawing.textured_background(rng, num_frames, height, width, grey + tint, texture_amplitude=15.0)


def _colour(rng: np.random.Generator, base) -> np.ndarray:
    return np.clip(np.asarray(base, dtype=np.float32) + rng.uniform(-12, 12, size=3), 0, 255)


def _centre(rng: np.random.Generator, num_frames: int, width: int, height: int, margin: float):
    """A random centre kept `margin` px inside the frame, jittered per frame: (cx (T,), cy (T,))."""
    cx = rng.uniform(margin, width - margin) + rng.normal(0, JITTER_PX, num_frames)
    cy = rng.uniform(margin, height - margin) + rng.normal(0, JITTER_PX, num_frames)
    return cx, cy


def _still(shape: str, base_colour) -> Drawer:
    """An appearance class: a fixed shape at a random place and size, jittering a little."""

    def draw(rng, num_frames, width, height):
        short = min(width, height)
        colour = _colour(rng, base_colour)
        if shape == "square":
            half = rng.uniform(0.20, 0.28) * short
            cx, cy = _centre(rng, num_frames, width, height, half + 2)
            return drawing.square(cx, cy, np.full(num_frames, half), height, width), colour
        if shape == "circle":
            radius = rng.uniform(0.22, 0.30) * short
            cx, cy = _centre(rng, num_frames, width, height, radius + 2)
            return drawing.disc(cx, cy, np.full(num_frames, radius), height, width), colour
        circumradius = rng.uniform(0.30, 0.40) * short
        cx, cy = _centre(rng, num_frames, width, height, circumradius + 2)
        return drawing.triangle(cx, cy, np.full(num_frames, circumradius), height, width), colour

    return draw


def _path(num_frames: int, start: float, end: float, forwards: bool) -> np.ndarray:
    """Linear path start → end over the clip (T,), or end → start when played backwards."""
    steps = np.linspace(start, end, num_frames)
    return steps if forwards else steps[::-1].copy()


def _moving(rightwards: bool) -> Drawer:
    """MovingRight / MovingLeft: the same disc on a horizontal path [lo, lo + span], forwards or backwards."""

    def draw(rng, num_frames, width, height):
        short = min(width, height)
        colour = _colour(rng, YELLOW)
        radius = rng.uniform(0.14, 0.20) * short
        span = rng.uniform(0.30, 0.50) * width
        lo = rng.uniform(radius + 1, width - radius - 1 - span)
        cx = _path(num_frames, lo, lo + span, forwards=rightwards)
        cy = rng.uniform(radius + 2, height - radius - 2) + rng.normal(0, JITTER_PX, num_frames)
        return drawing.disc(cx, cy, np.full(num_frames, radius), height, width), colour

    return draw


def _scaling(growing: bool) -> Drawer:
    """Growing / Shrinking: the same disc whose radius runs small → big, or big → small."""

    def draw(rng, num_frames, width, height):
        short = min(width, height)
        colour = _colour(rng, MAGENTA)
        small = rng.uniform(0.08, 0.12) * short
        big = rng.uniform(0.34, 0.42) * short
        cx, cy = _centre(rng, num_frames, width, height, big + 1)
        radius = _path(num_frames, small, big, forwards=growing)
        return drawing.disc(cx, cy, radius, height, width), colour

    return draw


DRAWERS: dict[str, Drawer] = {
    "RedSquareStill": _still("square", RED),
    "GreenCircleStill": _still("circle", GREEN),
    "BlueTriangleStill": _still("triangle", BLUE),
    "MovingLeft": _moving(rightwards=False),
    "MovingRight": _moving(rightwards=True),
    "Growing": _scaling(growing=True),
    "Shrinking": _scaling(growing=False),
}
assert set(DRAWERS) == set(ACTION_CLASSES), "every class in CLASS_GROUPS needs a drawer"
