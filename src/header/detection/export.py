"""export_clips=true: detections back into training clips, cut exactly as the run's clips were (same crop, frames,
size: src/header/footage/clip_writer.py, the code make_header_clips uses), for the hard-negative mining loop:

    python -m src.detect run=<run> video=m3.mkv detect.tracks=m3_tracks.csv events_csv=m3_events.csv export_clips=true
    python -m data_tools.split_dataset --input_csv clips/all_clips.csv detections/<stem>/clips.csv --output_dir …

With annotations (events_csv=), the model's mistakes: false positives (label 0, centred on the event's peak) and
missed headers (label 1, centred on the true frame). Without, every event (label 1; reviewers flip the wrong
ones). clips.csv is the split tool's input: path,label,video_id,half,frame,group + mined (1) and reason
(false_positive | missed | detected). The folder's summary.json records `clip_settings`, so a run trained on
these clips knows how they were cut.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from src.core.atomic import write_csv
from src.header.detection.clip_view import ClipView
from src.header.detection.postprocess import Detections
from src.header.detection.video_stream import VideoStream
from src.header.footage.clip_writer import ClipRequest, write_clips
from src.header.footage.sampling import clip_offsets
from src.header.footage.videos import safe_name

CLIP_COLUMNS = ("path", "label", "video_id", "half", "frame", "group", "mined", "reason")


def mined_centres(found: Detections) -> list[tuple[int, int, str]]:
    """(centre frame, label, reason) of each clip to export."""
    peaks = found.events["peak_frame"].to_numpy(np.int64)
    if found.match is None:
        return [(int(p), 1, "detected") for p in peaks]
    false_positives = [(int(p), 0, "false_positive") for p in peaks[found.match.detection_to_true < 0]]
    missed = [(int(t), 1, "missed") for t in found.true_frames[~found.match.true_hit]]
    return sorted(false_positives + missed)


def export_mined_clips(video: VideoStream, found: Detections, view: ClipView, key: tuple, out_dir: Path) -> dict:
    """Write clips/ and clips.csv in `out_dir`; returns {exported_clips, export_skipped[, clip_settings]}. A run
    trained on clips not made from footage gets its frames as decoded (no clip_settings: like those clips)."""
    crop = view.crop
    video_id = str(key[0]) if key[0] is not None else video.path.stem
    half = key[1]
    offsets = clip_offsets(view.num_frames, view.frame_step)
    requests, rows, skipped = {}, [], []
    for centre, label, reason in mined_centres(found):
        name = "_".join(str(p) for p in (safe_name(video_id), half, centre, label) if p is not None) + ".npy"
        request = ClipRequest(frames=tuple(int(f) for f in centre + offsets), path=Path(out_dir) / "clips" / name)
        if min(request.frames) < 0:
            skipped.append(centre)
            continue
        requests[request.path] = request
        rows.append({"path": f"clips/{name}", "label": label, "video_id": video_id, "half": half, "frame": centre,
                     "group": f"{video_id}_{half}" if half is not None else video_id, "mined": 1, "reason": reason})

    failed = set()

    def done(request: ClipRequest, problem: str) -> None:
        if problem:
            failed.add(f"clips/{request.path.name}")

    (Path(out_dir) / "clips").mkdir(parents=True, exist_ok=True)
    write_clips(video, list(requests.values()), crop, view.track, view.max_track_gap, done=done)
    kept = [row for row in rows if row["path"] not in failed]
    write_csv(Path(out_dir) / "clips.csv", pd.DataFrame(kept, columns=CLIP_COLUMNS))
    exported = {"exported_clips": len(kept), "export_skipped": len(rows) - len(kept) + len(skipped)}
    if crop is not None:
        exported["clip_settings"] = {**crop.as_dict(), "num_frames": view.num_frames, "frame_step": view.frame_step,
                                     "max_track_gap": view.max_track_gap, "min_track_score": view.min_track_score}
    return exported
