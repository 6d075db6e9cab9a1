"""windows.csv -> events.csv (+ metrics.json against annotations) and the data timeline.png draws.

Everything here reads the finished windows.csv, so it can be redone with another threshold, smoothing or minimum
gap without decoding again (`resume=true` on a finished video only re-runs this part).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.header.detection.events import pick_events, smooth, timecode
from src.header.detection.matching import EventMatch, match_events
from src.header.detection.timeline import TimelineData

EVENT_COLUMNS = ("event", "peak_frame", "time_s", "timecode", "start_frame", "end_frame", "prob")


@dataclass
class Detections:
    windows: pd.DataFrame        # windows.csv rows + smoothed
    events: pd.DataFrame         # EVENT_COLUMNS
    match: EventMatch | None     # None without annotations
    true_frames: np.ndarray | None


def find_events(windows: pd.DataFrame, *, fps: float, stride: int, smoothing: int, threshold: float,
                min_gap_s: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(windows with a `smoothed` column, NaN where not scored; events table). Only scored windows count: a
    no_ball stretch breaks the smoothing like a gap."""
    scored = windows[windows["status"] == "scored"] if "status" in windows.columns else windows
    centres = (scored["start_frame"].to_numpy(np.float64) + scored["end_frame"].to_numpy(np.float64)) / 2  # (N,)
    smoothed = smooth(scored["prob_header"].to_numpy(np.float64), centres, width=smoothing, max_step=1.5 * stride)
    windows = windows.assign(smoothed=pd.Series(smoothed, index=scored.index))
    picked = pick_events(centres, smoothed, threshold=threshold, min_gap=min_gap_s * fps)
    peaks = np.rint(centres[picked]).astype(np.int64)
    events = pd.DataFrame({
        "event": np.arange(1, len(picked) + 1),
        "peak_frame": peaks,
        "time_s": np.round(peaks / fps, 3),
        "timecode": [timecode(int(p), fps) for p in peaks],
        "start_frame": scored["start_frame"].to_numpy()[picked].astype(np.int64),
        "end_frame": scored["end_frame"].to_numpy()[picked].astype(np.int64),
        "prob": np.round(smoothed[picked], 4),
    }, columns=list(EVENT_COLUMNS))
    return windows, events


def evaluate(events: pd.DataFrame, true_frames: np.ndarray, *, fps: float, tolerance_s: float) -> tuple[EventMatch, dict]:
    match = match_events(events["peak_frame"].to_numpy(), events["prob"].to_numpy(), true_frames, tolerance_s * fps)
    metrics = match.metrics(tolerance_s)
    metrics["missed_true_frames"] = true_frames[~match.true_hit].tolist()
    metrics["false_positive_frames"] = events["peak_frame"].to_numpy()[match.detection_to_true < 0].tolist()
    return match, metrics


def timeline_data(found: Detections, gaps: pd.DataFrame, *, fps: float, threshold: float, duration_s: float,
                  title: str) -> TimelineData:
    windows, events, match = found.windows, found.events, found.match
    return TimelineData(
        times=windows["center_time_s"].to_numpy(np.float64), probs=windows["prob_header"].to_numpy(np.float64),
        smoothed=windows["smoothed"].to_numpy(np.float64), threshold=threshold,
        event_times=events["time_s"].to_numpy(np.float64), event_probs=events["prob"].to_numpy(np.float64),
        event_hit=None if match is None else match.detection_to_true >= 0,
        true_times=None if found.true_frames is None else found.true_frames / fps,
        true_hit=None if match is None else match.true_hit,
        gaps=[(float(a), float(b)) for a, b in zip(gaps["start_time_s"], gaps["end_time_s"])],
        no_ball=no_ball_spans(windows, fps), duration_s=duration_s, title=title)


def no_ball_spans(windows: pd.DataFrame, fps: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of each run of consecutive no_ball windows (from the first one's start to the last one's
    end frame)."""
    if "status" not in windows.columns:
        return []
    flags = (windows["status"] == "no_ball").to_numpy()
    edges = np.flatnonzero(np.diff(np.r_[0, flags.astype(int), 0]))  # starts and ends of the runs, alternating
    starts, ends = windows["start_frame"].to_numpy(), windows["end_frame"].to_numpy()
    return [(float(starts[a] / fps), float((ends[b - 1] + 1) / fps)) for a, b in zip(edges[::2], edges[1::2])]


def read_gaps(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if Path(path).is_file() else pd.DataFrame(columns=["start_time_s", "end_time_s"])
