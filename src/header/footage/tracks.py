"""Ball tracks: a CSV of ball boxes per frame, from any detector or from annotations.

    video_id,half,frame,x,y,w,h[,score]     (or frame,x,y,w,h[,score] for one video)

x, y are the box's top-left corner, w, h its size, in pixels of that video; frame is the video's own 0-based frame
number. Boxes scoring below `min_score` are dropped; of several boxes in one frame the best-scoring one is the
ball. A frame without a box inside a gap of at most `max_gap` frames gets the box interpolated linearly from its
neighbours; outside the track or in a longer gap it has none (the clip or window needing it is skipped).
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.errors import UserError
from src.header.footage.tables import integer_column, number_column, read_table

BOX_COLUMNS = ("x", "y", "w", "h")
TrackKey = tuple[str, int] | None  # (video_id, half), or None for a CSV of one video


@dataclass
class BallTrack:
    frames: np.ndarray   # (N,) int64, increasing
    boxes: np.ndarray    # (N, 4) float64: x, y, w, h

    def boxes_at(self, frames: np.ndarray, max_gap: int) -> np.ndarray:
        """(M, 4) boxes for `frames` (M,): the box there, interpolated across a gap of <= max_gap missing frames,
        else NaN."""
        frames = np.asarray(frames, dtype=np.int64)
        out = np.full((len(frames), 4), np.nan)
        if len(self.frames) == 0:
            return out
        after = np.searchsorted(self.frames, frames, side="left")                  # first tracked frame >= f
        exact = (after < len(self.frames)) & (self.frames[np.minimum(after, len(self.frames) - 1)] == frames)
        out[exact] = self.boxes[after[exact]]
        inside = ~exact & (after > 0) & (after < len(self.frames))
        prev, nxt = after[inside] - 1, after[inside]
        short = self.frames[nxt] - self.frames[prev] - 1 <= max_gap                  # missing frames in the gap
        prev, nxt, rows = prev[short], nxt[short], np.flatnonzero(inside)[short]
        weight = ((frames[rows] - self.frames[prev]) / (self.frames[nxt] - self.frames[prev]))[:, None]  # (K, 1)
        out[rows] = (1 - weight) * self.boxes[prev] + weight * self.boxes[nxt]
        return out


def read_tracks(paths: list[Path], *, min_score: float, name: str = "--tracks") -> dict[TrackKey, BallTrack]:
    """Every track in the CSV(s), keyed by (video_id, half) (None when the CSV has no video_id/half columns)."""
    tables = [_read_one(Path(p), name) for p in paths]
    keyed = {tuple(t.columns.intersection(["video_id", "half"])) for t in tables}
    if len(keyed) > 1:
        raise UserError(f"{name}: some CSVs have video_id,half columns and some do not; give them all or none")
    frame = pd.concat(tables, ignore_index=True)
    if "score" in frame.columns:
        frame = frame[frame["score"] >= min_score].sort_values("score", ascending=False, kind="stable")
    frame = frame.drop_duplicates([c for c in ("video_id", "half", "frame") if c in frame.columns])
    if "video_id" not in frame.columns:
        return {None: _track(frame)}
    return {(str(video_id), int(half)): _track(rows) for (video_id, half), rows in frame.groupby(["video_id", "half"])}


def _read_one(path: Path, name: str) -> pd.DataFrame:
    table = read_table(path, name, required=("frame", *BOX_COLUMNS), hint="a ball-track CSV needs frame,x,y,w,h "
                       "(+ video_id,half for several videos, + optional score)")
    if ("video_id" in table.columns) != ("half" in table.columns):
        raise UserError(f"{name}: {path} has only one of video_id, half; give both (or neither, for one video)")
    columns = {"frame": integer_column(table, "frame", path), **{c: number_column(table, c, path) for c in BOX_COLUMNS}}
    if "score" in table.columns:
        columns["score"] = number_column(table, "score", path)
    if "video_id" in table.columns:
        columns["video_id"] = table["video_id"].astype(str)
        columns["half"] = integer_column(table, "half", path)
    out = pd.DataFrame(columns)
    bad = np.flatnonzero(~((out["w"] > 0) & (out["h"] > 0)).to_numpy())
    if len(bad):
        i = int(bad[0])
        raise UserError(f"{path} row {i + 1} (line {i + 2}): box w={out['w'][i]}, h={out['h'][i]}; a ball "
                        "box needs w > 0 and h > 0 pixels (drop the row, or fix the detector's output)")
    return out


def _track(rows: pd.DataFrame) -> BallTrack:
    rows = rows.sort_values("frame", kind="stable")
    return BallTrack(frames=rows["frame"].to_numpy(np.int64), boxes=rows[list(BOX_COLUMNS)].to_numpy(np.float64))


def track_for(tracks: dict[TrackKey, BallTrack], video_id: str, half: int, videos: int) -> BallTrack | None:
    """The track of (video_id, half); a CSV without video_id,half columns is the track of the only video."""
    if None in tracks:
        if videos > 1:
            raise UserError(f"--tracks: has no video_id,half columns, so it describes one video, but the labels name "
                            f"{videos} videos; add video_id,half columns")
        return tracks[None]
    return tracks.get((video_id, half))
