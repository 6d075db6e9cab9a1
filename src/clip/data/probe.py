"""Open (and decode some or all of) each video once, in DataLoader workers, and say what it is or why it fails.

Used by the dataset checker (src/clip/data/check.py). The frame count and the first-frame decode go through the
training reader (VideoReader), so the verdict is the one a run would reach; container facts (codec, size, fps,
duration) come from PyAV's stream. decode="all" decodes every frame (without converting it to RGB) to find
files that break or end early.
"""
import math
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from rich.progress import track
from torch.utils.data import DataLoader, Dataset

from src.clip.data.decoded import TAIL_TOLERANCE_FRACTION, TAIL_TOLERANCE_FRAMES
from src.clip.data.reader import VideoReader
from src.core.errors import BadVideoError, UserError

DECODE_MODES = ("all", "first", "none")


def probe_video(path: Path, decode: str) -> dict:
    """{path, ok, reason, frames, width, height, fps, duration_s, codec}; ok=False with the reason when it fails."""
    info = {"path": str(path), "ok": False, "reason": None, "frames": None, "width": None, "height": None,
            "fps": None, "duration_s": None, "codec": None}
    if Path(path).stat().st_size == 0:
        info["reason"] = "empty file (0 bytes)"
        return info
    try:
        with VideoReader(path) as video:
            info["frames"] = video.num_frames
            if decode == "first":
                video.read(np.zeros(1, dtype=np.int64))
        info.update(_stream_facts(path, count_frames=decode == "all"))
    except BadVideoError as error:
        info["reason"] = str(error).removeprefix(f"{path}: ")
        return info
    decoded = info.pop("decoded", None)
    if decoded is not None:
        allowed = max(TAIL_TOLERANCE_FRAMES, math.ceil(TAIL_TOLERANCE_FRACTION * info["frames"]))
        if decoded < info["frames"] - allowed:
            info["reason"] = f"truncated: {decoded} of {info['frames']} frames decode"
            return info
    info["ok"] = True
    return info


def _stream_facts(path: Path, count_frames: bool) -> dict:
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            else:
                duration = container.duration / av.time_base if container.duration else None
            facts = {"width": stream.codec_context.width, "height": stream.codec_context.height,
                     "fps": round(float(rate), 3) if rate else None, "codec": stream.codec_context.name,
                     "duration_s": round(duration, 3) if duration is not None else None}
            if count_frames:
                facts["decoded"] = sum(1 for _ in container.decode(stream))
            return facts
    except (av.FFmpegError, OSError) as error:
        raise BadVideoError(f"{path}: cannot decode ({error})") from None


class _Probes(Dataset):
    def __init__(self, paths: list[Path], decode: str):
        self.paths, self.decode = paths, decode

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        return probe_video(self.paths[i], self.decode)


def _single(batch: list[dict]) -> dict:
    return batch[0]


def probe_videos(paths: list[Path], decode: str, num_workers: int) -> Iterator[dict]:
    """probe_video for every path, `num_workers` at a time, with a progress bar."""
    if decode not in DECODE_MODES:
        raise UserError(f"check.decode: {decode!r} is not one of {', '.join(DECODE_MODES)}")
    loader = DataLoader(_Probes(paths, decode), batch_size=1, num_workers=num_workers, collate_fn=_single)
    yield from track(loader, total=len(paths), description=f"probing {len(paths)} videos (decode={decode})",
                     transient=True)
