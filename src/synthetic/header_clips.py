"""Synthetic soccer-header clips: a player (skin-coloured head disc over a shirt rectangle) and a white ball.

Positives: the ball flies in, touches the head in the middle frames (centre distance Rh + rb - 0.5 px, so the
blobs visibly meet) and rebounds. Negatives keep the ball at least NEGATIVE_MIN_GAP px from the head in every
frame, in three kinds so that "the ball changes direction" alone does not give the label away: it passes the
head by, flies somewhere else, or bounces off something that is not the head.
Colours are chosen so that the ball (near white) and the head (skin) can be told apart from pitch, shirt and
their blends by colour alone; tests recompute the blobs that way.
"""
import numpy as np

from src.synthetic import drawing

BALL_RGB = (245, 245, 245)
SKIN_RGB = (224, 172, 130)
# No white, red or orange shirts: blended with the white ball at its edge they come close to skin colour.
SHIRT_RGBS = ((30, 60, 200), (25, 25, 25), (110, 40, 160), (0, 110, 130))
PITCH_RGB = (55, 135, 55)
NEGATIVE_MIN_GAP = 6.0  # px (at 64 px), smallest edge-to-edge distance between ball and head in a negative
NEGATIVE_KINDS = ("pass_by", "elsewhere", "bounce_away")
_MAX_TRIES = 1000


def render_header_clip(rng: np.random.Generator, positive: bool, num_frames: int, size: int,
                       negative_kinds: tuple[str, ...] = NEGATIVE_KINDS) -> tuple[np.ndarray, dict]:
    """One clip (T, S, S, 3) uint8 and its geometry: {"kind", "contact_frame", "min_gap"} (gap in px).
    A negative is one of `negative_kinds` (a subset of NEGATIVE_KINDS), drawn at random."""
    assert set(negative_kinds) <= set(NEGATIVE_KINDS) and negative_kinds, f"unknown kinds {negative_kinds}"
    assert num_frames >= 4, f"header clips need >= 4 frames to have middle frames, got {num_frames}"
    scale = size / 64.0
    for _ in range(_MAX_TRIES):
        head, head_radius, ball, ball_radius, kind = _trajectories(rng, positive, num_frames, size, scale,
                                                                   negative_kinds)
        gaps = np.linalg.norm(ball - head, axis=1) - head_radius - ball_radius  # (T,)
        if _acceptable(gaps, ball, positive, num_frames, size, scale):
            break
    else:
        raise AssertionError(f"no acceptable header trajectory in {_MAX_TRIES} tries (size {size})")
    clip = _draw(rng, head, head_radius, ball, ball_radius, num_frames, size)
    contact = int(np.argmin(gaps)) if positive else -1
    return clip, {"kind": kind, "contact_frame": contact, "min_gap": float(gaps.min())}


def _trajectories(rng, positive: bool, num_frames: int, size: int, scale: float, negative_kinds: tuple[str, ...]):
    """Head centres (T, 2), head radius, ball centres (T, 2), ball radius, kind; (x, y) with y downwards."""
    head_radius = rng.uniform(5.0, 7.0) * scale
    ball_radius = rng.uniform(2.5, 3.5) * scale
    start = np.array([rng.uniform(0.3, 0.7) * size, rng.uniform(0.25, 0.42) * size])
    head_velocity = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.3, 0.3)]) * scale
    times = np.arange(num_frames, dtype=np.float64)
    contact = num_frames // 2 - 1 + int(rng.integers(0, 2))  # a middle frame
    head = start + (times - contact)[:, None] * head_velocity  # (T, 2)
    kind = "header" if positive else str(rng.choice(negative_kinds))
    speed = rng.uniform(1.8, 3.2) * scale
    if kind == "elsewhere":
        origin = rng.uniform(0.0, size, size=2)
        angle = rng.uniform(0.0, 2 * np.pi)
        ball = origin + (times - contact)[:, None] * speed * np.array([np.cos(angle), np.sin(angle)])
        return head, head_radius, ball, ball_radius, kind
    normal = _unit(rng.uniform(np.radians(20), np.radians(160)))  # contact normal, on the head's upper half
    normal[1] = -normal[1]  # image y grows downwards: "up" is -y
    if kind == "bounce_away":
        normal = _unit(rng.uniform(0.0, 2 * np.pi))
    touch = head_radius + ball_radius - 0.5  # centre distance at the turning point: overlap by half a pixel
    if kind != "header":
        touch = head_radius + ball_radius + rng.uniform(NEGATIVE_MIN_GAP + 1, 14.0) * scale
    turn = head[contact] + touch * normal  # where the ball is at the contact frame
    if kind == "pass_by":  # fly tangentially past the head
        tangent = np.array([-normal[1], normal[0]]) * rng.choice([-1.0, 1.0])
        velocity = speed * _rotate(tangent, rng.uniform(-0.25, 0.25))
        return head, head_radius, turn + (times - contact)[:, None] * velocity, ball_radius, kind
    incoming = speed * _rotate(-normal, rng.uniform(np.radians(-35), np.radians(35)))
    outgoing = rng.uniform(0.6, 0.9) * (incoming - 2 * (incoming @ normal) * normal)  # reflect off the normal
    offsets = np.where((times <= contact)[:, None], incoming, outgoing) * (times - contact)[:, None]
    return head, head_radius, turn + offsets, ball_radius, kind


def _acceptable(gaps: np.ndarray, ball: np.ndarray, positive: bool, num_frames: int, size: int,
                scale: float) -> bool:
    """The ball is on screen most of the clip, and the gaps say "touch in the middle" or "always apart"."""
    on_screen = np.all((ball >= 0) & (ball < size), axis=1)  # (T,)
    if on_screen.sum() < num_frames / 2:
        return False
    if not positive:
        return bool(gaps.min() >= NEGATIVE_MIN_GAP * scale)
    middle = slice(num_frames // 2 - 2, num_frames // 2 + 2)
    # Touching in a middle frame, on screen there, and never sunk deep into the head.
    return bool(gaps[middle].min() <= 0 and on_screen[middle].any() and gaps.min() > -1.5 * scale)


def _draw(rng, head, head_radius, ball, ball_radius, num_frames: int, size: int) -> np.ndarray:
    frames = _pitch(rng, num_frames, size)  # (T, S, S, 3) float
    hx, hy = head[:, 0], head[:, 1]
    half_width, top = 1.2 * head_radius, hy + 0.8 * head_radius
    body = drawing.rectangle(hx - half_width, top, hx + half_width, top + 3.2 * head_radius, size, size)
    frames = drawing.paint(frames, body, SHIRT_RGBS[rng.integers(len(SHIRT_RGBS))])
    skin = np.asarray(SKIN_RGB) + rng.uniform(-8, 8, size=3)
    frames = drawing.paint(frames, drawing.disc(hx, hy, np.full(num_frames, head_radius), size, size), skin)
    ball_cover = drawing.disc(ball[:, 0], ball[:, 1], np.full(num_frames, ball_radius), size, size)
    frames = drawing.paint(frames, ball_cover, BALL_RGB)
    return drawing.add_noise_and_quantise(rng, frames, noise_std=3.0)


def _pitch(rng, num_frames: int, size: int) -> np.ndarray:
    """Mown grass: a green with light/dark stripes of random width and direction, plus a soft texture."""
    green = np.asarray(PITCH_RGB) + rng.uniform(-10, 10, size=3)
    frames = drawing.textured_background(rng, num_frames, size, size, green, texture_amplitude=8.0)
    coords = np.arange(size)
    stripes = np.where((coords + rng.uniform(0, 20)) // rng.uniform(8, 14) % 2 == 0, 10.0, -10.0)  # (S,)
    stripes = stripes[None, :] if rng.random() < 0.5 else stripes[:, None]  # vertical or horizontal
    return frames + stripes[None, :, :, None]


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _rotate(vector: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([cos * vector[0] - sin * vector[1], sin * vector[0] + cos * vector[1]])
