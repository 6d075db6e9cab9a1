"""Broadcast-like synthetic match footage: a wide view panning over a pitch, small players, a ball, headers at
known frames, and the ball's true box in every frame it is in view.

    match = render_wide_match(Path("match.mp4"), seed=0, duration_s=600, fps=25)   # 640x360, 16:9
    match.events_csv   # <stem>_events.csv: event, frame, time_s, video_id, half (frame: the contact frame, 0-based)
    match.tracks_csv   # <stem>_tracks.csv: video_id, half, frame, x, y, w, h, score (top-left x, y; w = h = the
                       # ball's diameter; score 1.0); no row for a frame whose ball centre is outside the view

What a tool that crops square clips around the ball (and `src.detect` on the same crops) meets in real broadcast
files: the camera pans, the ball and heads are a few pixels across, and the ball is sometimes out of view. The
video is a sequence of shots (wide_shots.py: headers, near misses, the ball elsewhere or gone), drawn by
wide_frames.py. Frames are rendered and encoded one at a time: memory does not grow with length.
"""
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.atomic import write_csv
from src.synthetic.header_clips import SHIRT_RGBS, SKIN_RGB
from src.synthetic.video_writer import VideoWriter
from src.synthetic.wide_frames import FrameComposer, PitchCamera
from src.synthetic.wide_shots import ShotGeometry, ShotPlan, plan_shots, shot_geometry

EVENT_COLUMNS = ("event", "frame", "time_s", "video_id", "half")
TRACK_COLUMNS = ("video_id", "half", "frame", "x", "y", "w", "h", "score")
# x264's default keyint: broadcast recordings (SoccerNet's among them) have a keyframe every ~10 s at 25 fps, not
# video_encoding's 12 frames, and a reader seeking in them must cope with that.
WIDE_GOP_SIZE = 250
# x264's "veryfast", not video_encoding's "medium": twice the speed at the same crf, 47.6 dB PSNR instead of 49.2
# (both near-lossless; broadcast files are far lossier), so x264 stays about the time the rendering takes.
WIDE_H264_PRESET = "veryfast"
PAN_SPEED = 150.0  # px/s at 360 px: the camera's fastest pan (6 px a frame at 25 fps)
CAMERA_MOVE_S = (1.0, 3.0)  # seconds between the camera's stops


@dataclass
class WideMatch:
    path: Path  # the video
    events_csv: Path  # EVENT_COLUMNS
    tracks_csv: Path  # TRACK_COLUMNS
    event_frames: list[int]
    num_frames: int
    fps: float
    ball_head_gaps: np.ndarray  # (num_frames,) smallest edge-to-edge ball-head distance in px (<= 0: touching)


def render_wide_match(path: Path, *, seed: int, duration_s: float, fps: float, width: int = 640, height: int = 360,
                      video_id: str | None = None, half: int = 1, shot_frames: tuple[int, int] = (16, 32),
                      min_event_gap_s: float = 4.0, near_miss_fraction: float = 0.15,
                      out_of_view_fraction: float = 0.15) -> WideMatch:
    """Render and encode the video at `path` (.mp4 H.264 or .avi MPEG-4), then write its two CSVs beside it."""
    assert width % 2 == 0 and height % 2 == 0 and height >= 120, f"even sizes, >= 120 px tall: {width}x{height}"
    path = Path(path)
    num_frames = round(duration_s * fps)
    assert num_frames >= 1, f"{duration_s} s at {fps} fps is not one frame"
    shots = plan_shots(np.random.default_rng([seed, 20]), num_frames, shot_frames, math.ceil(min_event_gap_s * fps),
                       near_miss_fraction, out_of_view_fraction)
    render_shot = _ShotRenderer(seed, width, height, fps, num_frames)
    tracks, gaps = [], np.empty(num_frames, dtype=np.float32)
    # One worker renders the next shot while this thread encodes the current one: x264 releases the GIL, so the
    # two share two cores. Shots have their own random streams, so the output does not depend on the timing.
    with ThreadPoolExecutor(max_workers=1) as pool, VideoWriter(
            path, fps=fps, width=width, height=height, gop_size=WIDE_GOP_SIZE, h264_preset=WIDE_H264_PRESET) as writer:
        rendered = pool.submit(render_shot, 0, shots[0])
        for index, shot in enumerate(shots):
            frames, rows, shot_gaps = rendered.result()
            if index + 1 < len(shots):
                rendered = pool.submit(render_shot, index + 1, shots[index + 1])
            for frame in frames:
                writer.write_yuv420p(frame)
            tracks += rows
            gaps[shot.start:shot.start + shot.length] = shot_gaps
    event_frames = [shot.start + shot.contact for shot in shots if shot.kind == "header"]
    video_id = path.stem if video_id is None else video_id
    events_csv, tracks_csv = _write_truth(path, video_id, half, fps, event_frames, tracks)
    return WideMatch(path=path, events_csv=events_csv, tracks_csv=tracks_csv, event_frames=event_frames,
                     num_frames=num_frames, fps=fps, ball_head_gaps=gaps)


def camera_path(rng: np.random.Generator, num_frames: int, fps: float, max_offset: tuple[float, float],
                scale: float) -> np.ndarray:
    """(num_frames, 2) view offsets (x, y) into the pitch. The camera glides from stop to stop 1-3 s apart, easing
    in and out (smoothstep) like an operator following play, mostly sideways, never faster than PAN_SPEED."""
    bounds = np.asarray(max_offset)
    stops, times = [rng.uniform((0.0, 0.0), bounds)], [0.0]
    while times[-1] < num_frames:
        move = rng.uniform(*CAMERA_MOVE_S) * fps  # frames
        reach = PAN_SPEED * scale / fps * move / 1.5  # smoothstep's top speed is 1.5x its mean
        step = rng.uniform(-1.0, 1.0, size=2) * (reach, 0.1 * reach)
        outside = (stops[-1] + step < 0) | (stops[-1] + step > bounds)
        stops.append(np.clip(stops[-1] + np.where(outside, -step, step), 0.0, bounds))  # turn back at the ends
        times.append(times[-1] + move)
    stops, times = np.stack(stops), np.asarray(times)
    frames = np.arange(num_frames, dtype=np.float64)
    k = np.searchsorted(times, frames, side="right") - 1
    u = (frames - times[k]) / (times[k + 1] - times[k])
    return stops[k] + (stops[k + 1] - stops[k]) * (u * u * (3 - 2 * u))[:, None]


class _ShotRenderer:
    """Shot by shot: its geometry (wide_shots), its frames as yuv420p, its ball boxes and ball-head gaps."""

    def __init__(self, seed: int, width: int, height: int, fps: float, num_frames: int):
        self.seed, self.width, self.height, self.fps = seed, width, height, fps
        camera = PitchCamera(np.random.default_rng([seed, 21]), width, height)
        self.offsets = camera_path(np.random.default_rng([seed, 22]), num_frames, fps, camera.max_offset,
                                   height / 360.0)  # (N, 2), small: two floats a frame
        teams = np.random.default_rng([seed, 23]).choice(len(SHIRT_RGBS), size=2, replace=False)
        self.team_shirts = [SHIRT_RGBS[team] for team in teams]
        self.composer = FrameComposer(camera)

    def __call__(self, index: int, shot: ShotPlan) -> tuple[np.ndarray, list[tuple], np.ndarray]:
        """Frames (T, H·3/2, W) uint8, track rows (frame, x, y, diameter) where the ball is in view, gaps (T,)."""
        rng = np.random.default_rng([self.seed, 24, index])
        geometry = shot_geometry(rng, shot, self.width, self.height, self.fps)
        players = self._dress(rng, geometry)
        frames = np.empty((shot.length, *self.composer.buffer.shape), dtype=np.uint8)
        rows = []
        for t in range(shot.length):
            x, y = geometry.ball[t]
            radius = geometry.ball_radius
            people = [(*heads[t], head_radius, shirt, skin) for heads, head_radius, shirt, skin in players]
            frames[t] = self.composer.frame(self.offsets[shot.start + t], people, (x, y, radius))
            if 0 <= x < self.width and 0 <= y < self.height:
                rows.append((shot.start + t, x - radius, y - radius, 2 * radius))
        return frames, rows, geometry.gaps

    def _dress(self, rng: np.random.Generator, geometry: ShotGeometry) -> list[tuple]:
        """Per player: head track (T, 2), head radius, shirt colour (one of the two teams'), skin colour."""
        return [(heads, radius, self.team_shirts[int(rng.integers(2))],
                 np.asarray(SKIN_RGB) + rng.uniform(-8, 8, size=3))
                for heads, radius in zip(geometry.heads, geometry.head_radius)]


def _write_truth(path: Path, video_id: str, half: int, fps: float, event_frames: list[int],
                 tracks: list[tuple]) -> tuple[Path, Path]:
    """<stem>_events.csv and <stem>_tracks.csv beside the video, each written whole or not at all."""
    events = pd.DataFrame({"event": range(1, len(event_frames) + 1), "frame": event_frames,
                           "time_s": [round(frame / fps, 3) for frame in event_frames],
                           "video_id": video_id, "half": half}, columns=list(EVENT_COLUMNS))
    boxes = pd.DataFrame(tracks, columns=["frame", "x", "y", "w"]).round(2)
    boxes = boxes.assign(video_id=video_id, half=half, h=boxes["w"], score=1.0)[list(TRACK_COLUMNS)]
    events_csv = write_csv(path.with_name(f"{path.stem}_events.csv"), events)
    tracks_csv = write_csv(path.with_name(f"{path.stem}_tracks.csv"), boxes)
    return events_csv, tracks_csv

