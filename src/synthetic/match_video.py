"""A synthetic "match video": minutes of soccer-header-like footage with headers at known frames.

    video = render_match_video(Path("match.mp4"), seed=0, duration_s=120, fps=10, size=64)
    video.events_csv     # <stem>_events.csv: event, frame, time_s (the ground truth src.detect events_csv= reads)

The video is a sequence of shots of `segment_frames` frames each, drawn by `header_clips.render_header_clip`
(the same player, ball and pitch the synthetic header set has, so a model trained on that set recognises them):
a header shot at each event, non-header shots everywhere else: mostly the ball far from the player ("elsewhere",
what most of a match looks like), a `hard_negative_fraction` of them near misses (the ball passes the head, or
bounces off something that is not the head). An event's frame is its shot's contact frame (ball touches head). Events are at least
`min_event_gap_s` apart. Frames are rendered and encoded a shot at a time: memory does not grow with length.
"""
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.synthetic.header_clips import render_header_clip
from src.synthetic.video_writer import VideoWriter

EVENT_COLUMNS = ("event", "frame", "time_s")
HARD_NEGATIVES = ("pass_by", "bounce_away")


@dataclass
class MatchVideo:
    path: Path            # the video
    events_csv: Path      # ground truth, EVENT_COLUMNS
    event_frames: list[int]
    num_frames: int
    fps: float


def plan_event_shots(rng: np.random.Generator, num_shots: int, min_gap_shots: int) -> list[int]:
    """Shot indices holding a header: gaps of min_gap_shots..2*min_gap_shots shots, none in the first/last shot."""
    shots, shot = [], min_gap_shots // 2 + 1
    while shot < num_shots - 1:
        shots.append(shot)
        shot += int(rng.integers(min_gap_shots, 2 * min_gap_shots + 1))
    return shots


def render_match_video(path: Path, *, seed: int, duration_s: float, fps: float, size: int = 64,
                       segment_frames: int = 16, min_event_gap_s: float = 4.0,
                       hard_negative_fraction: float = 0.2) -> MatchVideo:
    """Render and encode the video at `path` (.mp4 H.264 or .avi MPEG-4) and write its ground truth beside it."""
    assert segment_frames >= 4 and size >= 32, "shots need >= 4 frames and >= 32 px (header_clips' limits)"
    path = Path(path)
    num_shots = max(3, math.ceil(duration_s * fps / segment_frames))
    rng = np.random.default_rng([seed, 7])
    min_gap_shots = max(2, math.ceil(min_event_gap_s * fps / segment_frames))
    event_shots = set(plan_event_shots(rng, num_shots, min_gap_shots))
    event_frames = []
    with VideoWriter(path, fps=fps, width=size, height=size) as writer:
        for shot in range(num_shots):
            positive = shot in event_shots
            shot_rng = np.random.default_rng([seed, 8, shot])
            kinds = HARD_NEGATIVES if shot_rng.random() < hard_negative_fraction else ("elsewhere",)
            clip, geometry = render_header_clip(shot_rng, positive, segment_frames, size, kinds)  # (T, S, S, 3)
            if positive:
                event_frames.append(shot * segment_frames + geometry["contact_frame"])
            writer.write(clip)
    events_csv = path.with_name(f"{path.stem}_events.csv")
    with open(events_csv, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EVENT_COLUMNS)
        for number, frame in enumerate(event_frames, start=1):
            writer.writerow([number, frame, round(frame / fps, 3)])
    return MatchVideo(path=path, events_csv=events_csv, event_frames=event_frames,
                      num_frames=num_shots * segment_frames, fps=fps)
