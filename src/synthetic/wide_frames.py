"""Frames of the wide match video: a panning camera over a pitch wider than the view, small players and a ball.

Built for speed (a 640x360 frame takes about 1.3 ms here, less than x264 takes to encode it): the pitch is rendered
once, in 8 quarter-pixel x shifts and 2 one-pixel y shifts, each kept as RGB and as yuv420p planes, so a frame's
background is a slice (sub-pixel pans without per-frame interpolation). Players and ball are drawn in RGB only
inside small even-aligned patches around them, and only those patches are converted to yuv420p (the same
`rgb_to_yuv420p` as the whole frame would use, so a patch matches the pixels around it). The grass has a fixed
grain that pans with it, but no per-frame sensor noise: broadcast files are compressed, and per-frame noise (even
one of a few precomputed fields, 1.5 grey levels) made x264 twice as slow and its files four times larger.
"""
import numpy as np

from src.synthetic import drawing
from src.synthetic.header_clips import BALL_RGB, PITCH_RGB
from src.synthetic.video_encoding import rgb_to_yuv420p

X_PHASES = 8  # x shifts of 0, 1/4, ..., 7/4 px: with even integer offsets they cover every quarter-pixel pan
LINE_RGB = (180, 190, 180)  # pitch markings: light, but below the ball's white so colour still finds the ball
SHORTS_RGB = (20, 20, 40)  # dark, like the shirts: blended with the white ball it never looks like skin
GRAIN_STD = 2.5  # grey levels of the grass's fixed per-pixel grain


class PitchCamera:
    """The pitch (pan_width x pan_height px) and, per frame, the view at camera offset (x, y) into it."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.width, self.height = width, height
        scale = height / 360.0
        self.pan_width, self.pan_height = 2 * round(1.25 * width), 2 * round(0.55 * height)  # even
        pitch = _pitch(rng, self.pan_height + 2, self.pan_width + 2, scale)  # +2: room for the shifts
        self._rgb, self._yuv = {}, {}
        for y_phase in (0, 1):
            for x_phase in range(X_PHASES):
                shift = x_phase / 4
                whole, frac = int(shift), shift - int(shift)
                rows = pitch[y_phase:y_phase + self.pan_height]
                shifted = (1 - frac) * rows[:, whole:whole + self.pan_width] \
                    + frac * rows[:, whole + 1:whole + 1 + self.pan_width]
                rgb = np.clip(np.rint(shifted), 0, 255).astype(np.uint8)
                self._rgb[y_phase, x_phase] = rgb
                self._yuv[y_phase, x_phase] = _planes(rgb_to_yuv420p(rgb), self.pan_height, self.pan_width)

    @property
    def max_offset(self) -> tuple[float, float]:
        return float(self.pan_width - self.width - 2), float(self.pan_height - self.height - 2)

    def view(self, x: float, y: float):
        """RGB (H, W, 3) and yuv420p planes (Y, U, V) views of the pitch seen from offset (x, y), quarter-pixel x."""
        quarters, rows = int(np.floor(x * 4)), int(np.rint(y))
        x0, x_phase = 2 * (quarters // 8), quarters % 8
        y0, y_phase = rows - rows % 2, rows % 2
        rgb = self._rgb[y_phase, x_phase][y0:y0 + self.height, x0:x0 + self.width]
        planes = [plane[y0 // s:(y0 + self.height) // s, x0 // s:(x0 + self.width) // s]
                  for plane, s in zip(self._yuv[y_phase, x_phase], (1, 2, 2))]
        return rgb, planes


class FrameComposer:
    """Fills one reused yuv420p buffer per frame: the panned pitch, then the players and the ball."""

    def __init__(self, camera: PitchCamera):
        self.camera = camera
        width, height = camera.width, camera.height
        self.buffer = np.empty((height * 3 // 2, width), dtype=np.uint8)  # what VideoWriter.write_yuv420p takes
        self.planes = _planes(self.buffer, height, width)
        self._canvas = np.empty((height, width, 3), dtype=np.uint8)  # RGB, meaningful only inside the patches

    def frame(self, offset: tuple[float, float], players: list[tuple], ball: tuple) -> np.ndarray:
        """players: (hx, hy, head_radius, shirt_rgb, skin_rgb) each; ball: (x, y, radius). Returns the buffer."""
        rgb, background = self.camera.view(*offset)
        for plane, pitch in zip(self.planes, background):
            plane[:] = pitch
        sprites = [_player(*player) for player in players] + [_ball(*ball)]
        boxes = [self._box(*sprite[0]) for sprite in sprites]
        for box in filter(None, boxes):
            self._canvas[box] = rgb[box]
        for box, (_, shapes) in zip(boxes, sprites):
            if box:
                self._paint(box, shapes)
        for box in filter(None, boxes):
            self._convert(box)
        return self.buffer

    def _box(self, x0: float, y0: float, x1: float, y1: float):
        """The even-aligned pixel box around [x0, x1] x [y0, y1] inside the view, as slices; None if off view."""
        left, top = max(0, int(np.floor(x0)) - 1) & ~1, max(0, int(np.floor(y0)) - 1) & ~1
        right = min(self.camera.width, (int(np.ceil(x1)) + 2) & ~1)
        bottom = min(self.camera.height, (int(np.ceil(y1)) + 2) & ~1)
        return (slice(top, bottom), slice(left, right)) if right > left and bottom > top else None

    def _paint(self, box, shapes) -> None:
        rows, cols = box
        patch = self._canvas[box].astype(np.float32)[None]  # (1, h, w, 3)
        height, width = patch.shape[1:3]
        for shape, geometry, rgb in shapes:
            coverage = shape(*_moved(shape, geometry, cols.start, rows.start), height, width)
            patch = drawing.paint(patch, coverage, rgb)
        self._canvas[box] = np.rint(patch[0])

    def _convert(self, box) -> None:
        """The patch's RGB into the yuv420p buffer (chroma at half resolution: the box is even-aligned)."""
        rows, cols = box
        height, width = rows.stop - rows.start, cols.stop - cols.start
        luma, chroma_u, chroma_v = _planes(rgb_to_yuv420p(self._canvas[box]), height, width)
        half = (slice(rows.start // 2, rows.stop // 2), slice(cols.start // 2, cols.stop // 2))
        self.planes[0][box], self.planes[1][half], self.planes[2][half] = luma, chroma_u, chroma_v


def _player(hx: float, hy: float, radius: float, shirt_rgb, skin_rgb):
    """Bounds and shapes (shirt, shorts, head) of a player whose head is centred at (hx, hy); as header_clips."""
    half_width, shirt_top = 1.2 * radius, hy + 0.8 * radius
    shirt_bottom = shirt_top + 3.2 * radius
    shapes = [(drawing.rectangle, (hx - half_width, shirt_top, hx + half_width, shirt_bottom), shirt_rgb),
              (drawing.rectangle, (hx - 0.9 * half_width, shirt_bottom, hx + 0.9 * half_width,
                                   shirt_bottom + 1.2 * radius), SHORTS_RGB),
              (drawing.disc, (hx, hy, radius), skin_rgb)]
    return (hx - half_width, hy - radius, hx + half_width, shirt_bottom + 1.2 * radius), shapes


def _ball(x: float, y: float, radius: float):
    return (x - radius, y - radius, x + radius, y + radius), [(drawing.disc, (x, y, radius), BALL_RGB)]


def _moved(shape, geometry: tuple, x0: int, y0: int) -> tuple:
    """A shape's view coordinates made relative to a patch whose top-left pixel is (x0, y0)."""
    if shape is drawing.disc:
        x, y, radius = geometry
        return x - x0, y - y0, radius
    left, top, right, bottom = geometry
    return left - x0, top - y0, right - x0, bottom - y0


def _planes(packed: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views (Y (H, W), U (H/2, W/2), V (H/2, W/2)) into a packed yuv420p array (H·3/2, W)."""
    flat = packed.reshape(-1)
    quarter = height * width // 4
    return (flat[:height * width].reshape(height, width),
            flat[height * width:height * width + quarter].reshape(height // 2, width // 2),
            flat[height * width + quarter:].reshape(height // 2, width // 2))


def _pitch(rng: np.random.Generator, height: int, width: int, scale: float) -> np.ndarray:
    """(H, W, 3) float: mown stripes across the pan, soft texture, fixed grass grain, and a few markings."""
    green = np.asarray(PITCH_RGB, dtype=np.float32) + rng.uniform(-10, 10, size=3)
    texture = _smooth_noise(rng, height, width, cells=3) + 0.5 * _smooth_noise(rng, height, width, cells=9)
    stripe_width = rng.uniform(60, 90) * scale
    stripes = np.where((np.arange(width) + rng.uniform(0, stripe_width)) // stripe_width % 2 == 0, 9.0, -9.0)
    grain = rng.normal(0.0, GRAIN_STD, size=(height, width, 1))
    pitch = green + 8.0 * texture + stripes[None, :, None] + grain
    line = 1.5 * scale
    halfway = rng.uniform(0.3, 0.7) * width
    markings = [drawing.rectangle(halfway - line, 0, halfway + line, height, height, width),
                drawing.rectangle(0, 0.12 * height - line, width, 0.12 * height + line, height, width)]
    ring = drawing.disc(halfway, 0.55 * height, 60 * scale + line, height, width) \
        - drawing.disc(halfway, 0.55 * height, 60 * scale - line, height, width)
    for coverage in (*markings, ring):
        pitch = drawing.paint(pitch[None], 0.8 * coverage, LINE_RGB)[0]
    return pitch


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """drawing.smooth_noise as two matrix products: its single einsum takes seconds on a whole pitch."""
    grid_h, grid_w = cells + 1, max(2, round(cells * width / height)) + 1
    coarse = rng.uniform(-1.0, 1.0, size=(grid_h, grid_w, 3)).astype(np.float32)
    rows = np.tensordot(drawing.linear_interp_matrix(height, grid_h), coarse, axes=1)  # (H, grid_w, 3)
    return np.einsum("hxc,wx->hwc", rows, drawing.linear_interp_matrix(width, grid_w), optimize=True)
