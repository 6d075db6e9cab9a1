"""Anti-aliased shapes and textured backgrounds, vectorised over frames (numpy, float RGB in [0, 255]).

Every shape function takes per-frame geometry as arrays of shape (T,) and returns a coverage map (T, H, W) in
[0, 1]: 1 inside, 0 outside, a one-pixel linear ramp across the edge. The ramp makes sub-pixel motion visible
(a disc moving 0.7 px per frame changes the pixels every frame) instead of jumping a whole pixel at a time.
"""
import numpy as np


def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates broadcastable against (T, 1, 1): ys (1, H, 1), xs (1, 1, W)."""
    ys = np.arange(height, dtype=np.float32).reshape(1, height, 1) + 0.5
    xs = np.arange(width, dtype=np.float32).reshape(1, 1, width) + 0.5
    return ys, xs


def _frames(values) -> np.ndarray:
    """(T,) geometry → (T, 1, 1) so it broadcasts against the pixel grid."""
    return np.asarray(values, dtype=np.float32).reshape(-1, 1, 1)


def _ramp(signed_distance: np.ndarray) -> np.ndarray:
    """Signed distance to the edge (positive inside, in pixels) → coverage in [0, 1]."""
    return np.clip(signed_distance + 0.5, 0.0, 1.0)


def disc(cx, cy, radius, height: int, width: int) -> np.ndarray:
    ys, xs = pixel_grid(height, width)
    dist = np.sqrt((xs - _frames(cx)) ** 2 + (ys - _frames(cy)) ** 2)  # (T, H, W)
    return _ramp(_frames(radius) - dist)


def square(cx, cy, half_side, height: int, width: int) -> np.ndarray:
    ys, xs = pixel_grid(height, width)
    chebyshev = np.maximum(np.abs(xs - _frames(cx)), np.abs(ys - _frames(cy)))  # (T, H, W)
    return _ramp(_frames(half_side) - chebyshev)


def rectangle(x0, y0, x1, y1, height: int, width: int) -> np.ndarray:
    """Axis-aligned box [x0, x1] × [y0, y1] per frame."""
    ys, xs = pixel_grid(height, width)
    inside = np.minimum(np.minimum(xs - _frames(x0), _frames(x1) - xs),
                        np.minimum(ys - _frames(y0), _frames(y1) - ys))  # (T, H, W)
    return _ramp(inside)


def triangle(cx, cy, circumradius, height: int, width: int) -> np.ndarray:
    """Upright equilateral triangle centred on (cx, cy)."""
    ys, xs = pixel_grid(height, width)
    dx, dy = xs - _frames(cx), ys - _frames(cy)  # (T, H, W) each
    inradius = _frames(circumradius) / 2.0
    # Outward edge normals of an upright triangle (y grows downwards): bottom edge, then the two slanted ones.
    normals = [(0.0, 1.0), (np.sqrt(3) / 2, -0.5), (-np.sqrt(3) / 2, -0.5)]
    inside = np.min(np.stack([inradius - (nx * dx + ny * dy) for nx, ny in normals]), axis=0)
    return _ramp(inside)


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """Low-frequency noise (H, W, 3) in about [-1, 1]: a coarse random grid bilinearly upsampled."""
    grid_h, grid_w = cells + 1, max(2, round(cells * width / height)) + 1
    coarse = rng.uniform(-1.0, 1.0, size=(grid_h, grid_w, 3)).astype(np.float32)
    rows = linear_interp_matrix(height, grid_h)  # (H, grid_h)
    cols = linear_interp_matrix(width, grid_w)  # (W, grid_w)
    return np.einsum("hy,yxc,wx->hwc", rows, coarse, cols)


def linear_interp_matrix(size: int, knots: int) -> np.ndarray:
    """(size, knots) weights that linearly interpolate `knots` evenly spread values onto `size` pixels."""
    positions = (np.arange(size) + 0.5) / size * (knots - 1)
    left = np.clip(np.floor(positions).astype(int), 0, knots - 2)
    frac = (positions - left).astype(np.float32)
    weights = np.zeros((size, knots), dtype=np.float32)
    weights[np.arange(size), left] = 1.0 - frac
    weights[np.arange(size), left + 1] = frac
    return weights


def textured_background(rng: np.random.Generator, num_frames: int, height: int, width: int,
                        base_rgb, texture_amplitude: float) -> np.ndarray:
    """A static textured backdrop (T, H, W, 3) float: base colour + two octaves of smooth noise."""
    texture = smooth_noise(rng, height, width, cells=3) + 0.5 * smooth_noise(rng, height, width, cells=8)
    still = np.asarray(base_rgb, dtype=np.float32) + texture_amplitude * texture  # (H, W, 3)
    return np.repeat(still[None], num_frames, axis=0)


def paint(frames: np.ndarray, coverage: np.ndarray, rgb) -> np.ndarray:
    """Alpha-composite a solid colour over frames (T, H, W, 3) with coverage (T, H, W); returns new frames."""
    alpha = coverage[..., None]  # (T, H, W, 1)
    return frames * (1.0 - alpha) + np.asarray(rgb, dtype=np.float32) * alpha


def add_noise_and_quantise(rng: np.random.Generator, frames: np.ndarray, noise_std: float) -> np.ndarray:
    """Per-pixel, per-frame sensor noise, then uint8 (T, H, W, 3)."""
    noisy = frames + rng.normal(0.0, noise_std, size=frames.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
