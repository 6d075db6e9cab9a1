"""Filling the decoded-frame store up front (data_tools/cache_frames.py, dataset.frame_store=write) and the check of
dataset.frame_store=read.

Sharding follows src/core/feature_cache/fill.py: rank r takes videos r, r + world, … of the sorted list and only
then skips those already stored, so a fast rank's fresh entries never change a slower rank's share. The videos of a
share are built in DataLoader workers, one video per item.
"""
import logging
from pathlib import Path

import numpy as np
from rich.progress import track
from torch.utils.data import DataLoader, Dataset

from src.clip.data.frame_store.store import FrameStore
from src.clip.data.reader import VideoReader
from src.core.errors import BadVideoError, UserError

log = logging.getLogger(__name__)

BUILD_HINT = "build them with `python data_tools/cache_frames.py` (same overrides) or use dataset.frame_store=auto"


def fill_store(store: FrameStore, videos: list[Path], *, num_workers: int, rank: int = 0, world_size: int = 1,
               overwrite: bool = False) -> dict:
    """Build this rank's share of the entries `videos` lack (every entry of the share when `overwrite`)."""
    videos = sorted({Path(v) for v in videos})
    share = videos[rank::world_size]
    todo = list(share) if overwrite else [v for v in share if not store.has(v)]
    written = bad = 0
    if todo:
        loader = DataLoader(_Builds(store, todo), batch_size=None, num_workers=num_workers)
        for built in track(loader, total=len(todo), description=f"storing the frames of {len(todo)} videos",
                           disable=rank != 0, transient=True):
            written += int(built)
            bad += int(not built)
    stats = {"videos": len(videos), "share": len(share), "already_stored": len(share) - len(todo),
             "written": written, "unreadable": bad}
    log.info("frame store %s (rank %d of %d): %s", store.dir, rank, world_size, stats)
    return stats


def check_stored(store: FrameStore, splits: dict[str, list[Path]]) -> None:
    """dataset.frame_store=read: every video of `splits` has an entry, else one UserError saying how many lack one.
    A video without an entry that cannot be decoded is no gap (training skips and counts it, as from the video).
    Only whether the entry file exists is checked (one stat per video: Kinetics' 240k in seconds); an entry that
    is there but damaged is found when read, and that video is skipped and counted with a message to rebuild it."""
    absent = {name: [v for v in videos if not _entry_exists(store, v)] for name, videos in splits.items()}
    lacking = sorted({v for videos in absent.values() for v in videos})
    if not lacking:
        return
    # any() stops at the first decodable video: a store that was never built costs one probe, not a pass.
    if any(_decodable(v) for v in lacking):
        total = len({v for videos in splits.values() for v in videos})
        per_split = ", ".join(f"{name} {len(videos)}" for name, videos in absent.items() if videos)
        raise UserError(f"dataset.frame_store=read: {len(lacking)} of {total} videos ({per_split}) have no entry "
                        f"in {store.dir}; {BUILD_HINT}")
    log.warning("frame store: %d unreadable videos have no entry: skipped and counted", len(lacking))


def _entry_exists(store: FrameStore, video: Path) -> bool:
    try:
        return store.entry(video).is_file()
    except OSError:                                   # the video itself is gone: unreadable, as from the video
        return False


def _decodable(video: Path) -> bool:
    try:
        with VideoReader(video) as reader:
            reader.read(np.zeros(1, dtype=np.int64))
        return True
    except BadVideoError:
        return False


class _Builds(Dataset):
    """Item i builds the entry of video i: True when written, False when the video is unreadable (warned)."""

    def __init__(self, store: FrameStore, videos: list[Path]):
        self.store, self.videos = store, videos

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> bool:
        try:
            self.store.build(self.videos[i])
            return True
        except BadVideoError as error:
            log.warning("frame store: skipping a bad video: %s", error)
            return False
