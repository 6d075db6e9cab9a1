"""The action of a wide (broadcast-like) match video, shot by shot, in view pixels (x right, y down).

`plan_shots` cuts the video into shots of 16-32 frames and says what each one shows; `shot_geometry` draws where
the players' heads and the ball are in each frame of one shot. A shot's `kind`:
  header       the ball flies in, touches the main player's head at the contact frame (centre distance
               head_r + ball_r - TOUCH_OVERLAP, as in header_clips) and rebounds; the only frame of the shot
               where the ball touches a head, and beyond 0.12 s from it the ball is NEAR_MISS_GAP from every head;
  near_miss    the ball passes the main player's head NEAR_MISS_GAP..3x that apart (edge to edge), never touching;
  elsewhere    the ball stays at least FAR_GAP from every head (most of a match);
  out_of_view  the ball leaves the view in the shot's first third (or is outside it all along).
Sizes are for a 360 px tall view and scale with the height; speeds are per second, so any fps shows the same
motion. The trajectory ideas (reflect off the contact normal, pass tangentially) are header_clips'.
"""
from dataclasses import dataclass

import numpy as np

KINDS = ("header", "near_miss", "elsewhere", "out_of_view")
HEAD_RADIUS = (5.0, 6.0)  # px at 360 px
BALL_RADIUS = (3.0, 4.0)
BALL_SPEED = (75.0, 200.0)  # px/s at 360 px: 3-8 px a frame at 25 fps
PLAYER_SPEED = 30.0  # px/s, largest
GRAVITY = 75.0  # px/s², largest: lofted balls arc downwards on screen
TOUCH_OVERLAP = 0.5  # px: at contact the blobs overlap by half a pixel, so they visibly meet
NEAR_MISS_GAP = 4.0  # px, smallest edge-to-edge ball-head distance when the ball is not touching
FAR_GAP = 20.0  # px, smallest edge-to-edge ball-head distance in "elsewhere" and "out_of_view" shots
_MAX_TRIES = 1000


@dataclass(frozen=True)
class ShotPlan:
    start: int  # first frame, in the video's numbering
    length: int
    kind: str  # one of KINDS
    contact: int  # the frame (within the shot) the action centres on: a header's contact frame


@dataclass
class ShotGeometry:
    heads: np.ndarray  # (P, T, 2) head centres; player 0 is the one the ball is played to
    head_radius: np.ndarray  # (P,)
    ball: np.ndarray  # (T, 2) ball centre
    ball_radius: float
    gaps: np.ndarray  # (T,) smallest edge-to-edge ball-head distance over the players (< 0: touching)


def plan_shots(rng: np.random.Generator, num_frames: int, shot_frames: tuple[int, int], min_gap_frames: int,
               near_miss_fraction: float, out_of_view_fraction: float) -> list[ShotPlan]:
    """Shots covering num_frames exactly (the last one cut short); a header wherever the previous event is
    min_gap_frames..2x that behind, never in the first or last shot."""
    low, high = shot_frames
    lengths = []
    while sum(lengths) < num_frames:
        lengths.append(int(rng.integers(low, high + 1)))
    lengths[-1] -= sum(lengths) - num_frames
    next_event = int(rng.integers(min_gap_frames // 2, min_gap_frames + 1))  # earliest frame for the next event
    shots, start = [], 0
    for index, length in enumerate(lengths):
        contact = length // 2 - 1 + int(rng.integers(0, 2))  # a middle frame
        draw = rng.random()
        if 0 < index < len(lengths) - 1 and start + contact >= next_event:
            kind = "header"
            next_event = start + contact + int(rng.integers(min_gap_frames, 2 * min_gap_frames + 1))
        elif draw < out_of_view_fraction:
            kind = "out_of_view"
        elif draw < out_of_view_fraction + near_miss_fraction:
            kind = "near_miss"
        else:
            kind = "elsewhere"
        shots.append(ShotPlan(start=start, length=length, kind=kind, contact=max(contact, 0)))
        start += length
    return shots


def shot_geometry(rng: np.random.Generator, shot: ShotPlan, width: int, height: int, fps: float) -> ShotGeometry:
    """Heads and ball for every frame of `shot`, drawn until the kind's rules hold (see the module docstring)."""
    scale = height / 360.0
    tau = np.arange(shot.length, dtype=np.float64) - shot.contact  # frames from the contact frame
    for _ in range(_MAX_TRIES):
        heads, head_radius = _players(rng, tau, width, height, scale, fps)
        ball_radius = rng.uniform(*BALL_RADIUS) * scale
        ball = _ball_path(rng, shot, heads[0], head_radius[0], ball_radius, tau, (width, height), scale, fps)
        gaps = np.linalg.norm(ball[None] - heads, axis=-1) - head_radius[:, None] - ball_radius  # (P, T)
        if _acceptable(shot, gaps, ball, heads[0], head_radius[0], (width, height), scale, fps):
            return ShotGeometry(heads, head_radius, ball, ball_radius, gaps.min(axis=0))
    raise AssertionError(f"no acceptable {shot.kind} shot in {_MAX_TRIES} tries ({width}x{height})")


def _players(rng, tau: np.ndarray, width: int, height: int, scale: float, fps: float):
    """(P, T, 2) head centres and (P,) radii: the main player near the middle, 1-3 others anywhere, apart."""
    for _ in range(_MAX_TRIES):
        count = 1 + int(rng.integers(1, 4))
        starts = rng.uniform((0.05 * width, 0.12 * height), (0.95 * width, 0.8 * height), size=(count, 2))
        starts[0] = rng.uniform((0.2 * width, 0.25 * height), (0.8 * width, 0.7 * height))
        velocities = rng.uniform(-1.0, 1.0, size=(count, 2)) * PLAYER_SPEED * scale / fps
        heads = starts[:, None, :] + tau[None, :, None] * velocities[:, None, :]  # (P, T, 2)
        radius = rng.uniform(*HEAD_RADIUS, size=count) * scale
        apart = np.linalg.norm(heads[:, None] - heads[None], axis=-1).min(axis=-1) + 1e9 * np.eye(count)  # (P, P)
        if apart.min() >= 6.0 * radius.max():  # bodies never overlap
            return heads, radius
    raise AssertionError("could not place the players apart")


def _ball_path(rng, shot: ShotPlan, head, head_radius, ball_radius, tau, size, scale, fps) -> np.ndarray:
    """(T, 2) ball centres for the shot's kind; `head` (T, 2) is the main player's."""
    speed = rng.uniform(*BALL_SPEED) * scale / fps
    arc = 0.5 * np.array([0.0, rng.uniform(0.0, GRAVITY)]) * scale / fps**2 * tau[:, None] ** 2  # (T, 2)
    if shot.kind == "elsewhere":
        origin = rng.uniform((0.0, 0.0), size)
        return origin + tau[:, None] * speed * _unit(rng.uniform(0.0, 2 * np.pi)) + arc
    if shot.kind == "out_of_view":
        return _leaving_path(rng, shot, speed * 1.5, size)
    normal = _unit(rng.uniform(0.0, 2 * np.pi))
    if shot.kind == "near_miss":  # fly tangentially past the head
        turn = head[shot.contact] + (head_radius + ball_radius + rng.uniform(1.0, 3.0) * NEAR_MISS_GAP * scale) * normal
        tangent = np.array([-normal[1], normal[0]]) * rng.choice([-1.0, 1.0])
        return turn + tau[:, None] * speed * _rotate(tangent, rng.uniform(-0.25, 0.25)) + arc
    normal = _unit(rng.uniform(np.radians(20), np.radians(160))) * (1.0, -1.0)  # the head's upper half (y down)
    turn = head[shot.contact] + (head_radius + ball_radius - TOUCH_OVERLAP) * normal
    incoming = speed * _rotate(-normal, rng.uniform(np.radians(-35), np.radians(35)))
    outgoing = rng.uniform(0.6, 0.9) * (incoming - 2 * (incoming @ normal) * normal)  # reflect off the normal
    return turn + np.where((tau <= 0)[:, None], incoming, outgoing) * tau[:, None] + arc


def _leaving_path(rng, shot: ShotPlan, speed: float, size) -> np.ndarray:
    """The ball crosses the view's border at a frame in the shot's first third, heading out: gone after."""
    width, height = size
    exit_frame = int(rng.integers(0, shot.length // 3 + 1))
    side = int(rng.integers(4))  # left, right, top, bottom
    outward = np.array([(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)][side])
    along = rng.uniform(0.1, 0.9)
    border = np.array([(0.0, along * height), (width, along * height), (along * width, 0.0),
                       (along * width, height)][side])
    frames = np.arange(shot.length, dtype=np.float64) - exit_frame
    return border + frames[:, None] * speed * _rotate(outward, rng.uniform(-1.0, 1.0))


def _acceptable(shot: ShotPlan, gaps: np.ndarray, ball: np.ndarray, head: np.ndarray, head_radius: float,
                size, scale: float, fps: float) -> bool:
    """gaps (P, T); ball and head (T, 2). The kind's distance rule, and the action on screen where it matters."""
    in_view = np.all((ball >= 0) & (ball < size), axis=1)  # (T,)
    if shot.kind == "header":
        return _clean_header(shot.contact, gaps, in_view, head[shot.contact], head_radius, size, scale, fps)
    if shot.kind == "near_miss":
        return bool(gaps.min() >= NEAR_MISS_GAP * scale and in_view[shot.contact])
    if shot.kind == "out_of_view":
        return bool(gaps.min() >= FAR_GAP * scale)
    return bool(gaps.min() >= FAR_GAP * scale and in_view.sum() >= len(in_view) / 2)


def _clean_header(contact: int, gaps: np.ndarray, in_view: np.ndarray, head: np.ndarray, head_radius: float,
                  size, scale: float, fps: float) -> bool:
    """The ball touches the main head in the contact frame only, is in view for 0.12 s either side of it, and
    outside that flight stays NEAR_MISS_GAP from every head (as any other shot would)."""
    steady = round(0.12 * fps)  # frames: 3 at 25 fps
    flight = np.abs(np.arange(gaps.shape[1]) - contact) <= steady  # (T,)
    around = flight.copy()
    around[contact] = False
    margin = head_radius + 1.0
    head_inside = bool(np.all((head >= margin) & (head < np.asarray(size) - margin)))
    return bool(gaps[0, contact] <= 0 and (gaps[0, around] >= 0.5).all() and in_view[flight].all() and head_inside
                and gaps[1:].min() >= NEAR_MISS_GAP * scale and (gaps[0, ~flight] >= NEAR_MISS_GAP * scale).all())


def _unit(angle: float) -> np.ndarray:
    return np.array([np.cos(angle), np.sin(angle)])


def _rotate(vector: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return np.array([cos * vector[0] - sin * vector[1], sin * vector[0] + cos * vector[1]])
