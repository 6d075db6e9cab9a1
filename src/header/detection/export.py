"""export_clips=true: each event's window as a `.npy` clip in the training format ((T, H, W, 3) uint8, the
window's frames at the window's frame spacing) plus `clips.csv` in the split tool's input format
(path,label,video_id,half,frame), so reviewed detections can go back into training:

    python -m data_tools.split_dataset --input_csv detections/<stem>/clips.csv --output_dir … --root_dir …

label is 1 (detected as a header; reviewers flip the wrong ones) or, when annotations were given, 1 for events
that matched a true header and 0 for false positives. The frames are decoded again with a seek per event (events
are few), at the video's resolution or `size` x `size`.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torchvision.transforms import v2

from src.core.atomic import save_numpy, write_csv
from src.header.detection.video_stream import VideoStream

CLIP_COLUMNS = ("path", "label", "video_id", "half", "frame")


def read_window_frames(video: VideoStream, start_frame: int, num_frames: int, frame_step: int) -> np.ndarray | None:
    """Frames start, start + step, … (num_frames of them) as (T, H, W, 3) uint8, or None when one is missing."""
    wanted = {start_frame + j * frame_step: j for j in range(num_frames)}
    got: dict[int, np.ndarray] = {}
    for index, frame in video.frames(start_frame, start_frame + (num_frames - 1) * frame_step + 1):
        if index in wanted:
            got[wanted[index]] = frame.to_ndarray(format="rgb24")
    if len(got) < num_frames:
        return None
    return np.stack([got[j] for j in range(num_frames)])


def export_event_clips(video: VideoStream, events: pd.DataFrame, out_dir: Path, *, num_frames: int, frame_step: int,
                       size: int | None, half: int | None, labels: np.ndarray) -> Path:
    """Write clips/<stem>_f<peak frame>.npy per event and clips.csv; returns the CSV path."""
    clip_dir = Path(out_dir) / "clips"
    clip_dir.mkdir(parents=True, exist_ok=True)
    stem = video.path.stem
    resize = v2.Resize((size, size), antialias=True) if size else None
    rows = []
    for event, label in zip(events.itertuples(index=False), labels):
        frames = read_window_frames(video, int(event.start_frame), num_frames, frame_step)  # (T, H, W, 3)
        if frames is None:
            continue  # the window lost frames to a corrupt stretch since scoring: nothing to export
        if resize is not None:
            frames = resize(torch.from_numpy(frames).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).contiguous().numpy()
        name = f"clips/{stem}_f{int(event.peak_frame):06d}.npy"
        save_numpy(Path(out_dir) / name, np.ascontiguousarray(frames, dtype=np.uint8))
        rows.append({"path": name, "label": int(label), "video_id": stem, "half": half,
                     "frame": int(event.peak_frame)})
    return write_csv(Path(out_dir) / "clips.csv", pd.DataFrame(rows, columns=CLIP_COLUMNS))
