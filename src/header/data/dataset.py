"""task=header clips: the CSV table (`path,label` + optional `video_id,half,frame,group`) and the `.npy` dataset.

A clip is a (T, H, W, 3) uint8 array. It is opened with mmap_mode="r" and only the sampled frames are copied, so
a long clip costs the frames used, not the file. Every row is checked once, up front, from the .npy header only:
a missing file or a label other than 0/1 is a UserError naming the CSV row (the CSV is wrong); a file that is not
a (T>0, H>0, W>0, 3) uint8 array (truncated, not a .npy, a pickled object array, a damaged header, a wrong shape
or dtype) is a bad clip: skipped, counted, and fatal only above `max_bad_fraction`. With the up-front check off
(`dataset.check_clips=false`) the same test runs when the clip is loaded, and a bad clip is dropped from its batch
and counted (`collate_skip_bad`, train/bad_clips and val/bad_clips in the metrics log).
"""
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, default_collate
from torchvision import tv_tensors

from src.core.errors import BadVideoError, UserError
from src.core.item_seeding import ItemSeeds
from src.core.npy_files import NpyReadError, open_npy
from src.header.data.clip_csv import read_clip_csv

log = logging.getLogger(__name__)

METADATA_COLUMNS = ("video_id", "half", "frame", "group")
HEADER, NON_HEADER = 1, 0


def clip_file_names(name: str) -> list[str]:
    """File names a CSV path may stand for: itself, and (the original pipeline's base names) `<name>_s.npy`."""
    if name.endswith(".npy"):
        return [name]
    return [name, f"{name}_s.npy", f"{name}.npy"]


def resolve_clip_path(raw: str, csv_dir: Path) -> Path | None:
    """The clip a CSV row names: as written when absolute, else relative to the CSV's folder, else to the cwd."""
    for name in clip_file_names(raw):
        path = Path(name)
        bases = [path] if path.is_absolute() else [csv_dir / path, Path.cwd() / path]
        for candidate in bases:
            if candidate.is_file():
                return candidate.resolve()
    return None


def open_clip(path: Path) -> np.ndarray:
    """The clip as a read-only memory map (nothing is read but the header). BadVideoError when unreadable."""
    try:
        return open_npy(path)
    except NpyReadError as err:
        raise BadVideoError(str(err)) from None


def check_clip_array(clip: np.ndarray, where: str) -> None:
    """(T, H, W, 3) uint8 with T, H, W > 0, or a BadVideoError naming `where`: a file's problem, not the run's."""
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise BadVideoError(f"{where}: clip has shape {tuple(clip.shape)} and dtype {clip.dtype}; header clips must "
                            f"be (T, H, W, 3) uint8 arrays — re-export it")
    if min(clip.shape[:3]) == 0:
        raise BadVideoError(f"{where}: clip has shape {tuple(clip.shape)}, no pixels (zero frames, height or width)")


def read_clip_frames(path: Path, num_frames: int) -> np.ndarray:
    """`num_frames` frames of the clip at `path` sampled evenly, (num_frames, H, W, 3) uint8; BadVideoError when the
    file is not a readable header clip. Only the sampled frames are read from disk."""
    clip = open_clip(path)
    check_clip_array(clip, str(path))
    unique, inverse = np.unique(sample_frame_indices(clip.shape[0], num_frames), return_inverse=True)
    try:
        return np.ascontiguousarray(clip[unique])[inverse]  # fancy indexing on the memmap copies just these frames
    except (OSError, ValueError) as err:
        raise BadVideoError(f"{path}: cannot read its frames ({err})") from None


def sample_frame_indices(total_frames: int, num_frames: int) -> np.ndarray:
    """`num_frames` evenly spaced indices into a clip of `total_frames`; frames repeat when the clip is shorter."""
    assert total_frames > 0 and num_frames > 0, f"cannot sample {num_frames} of {total_frames} frames"
    return np.linspace(0, total_frames - 1, num_frames).round().astype(np.int64)


@dataclass
class HeaderTable:
    """One CSV, checked. `rows` keeps the CSV's columns plus `row_idx` (0-based data row) and `file` (resolved)."""
    csv_path: Path
    rows: pd.DataFrame
    bad_clips: list[str] = field(default_factory=list)

    @property
    def class_counts(self) -> list[int]:
        counts = self.rows["label"].value_counts()
        return [int(counts.get(NON_HEADER, 0)), int(counts.get(HEADER, 0))]

    @property
    def metadata_columns(self) -> list[str]:
        return [c for c in METADATA_COLUMNS if c in self.rows.columns]


def read_header_csv(csv_path: Path, *, check_clips: bool, max_bad_fraction: float, name: str = "the CSV") -> HeaderTable:
    """Read and check a header CSV (`name`: the key that gave it); see the module docstring for what is an error and
    what is skipped."""
    csv_path = Path(csv_path)
    frame = read_clip_csv(csv_path, name)
    if frame.empty:
        raise UserError(f"{csv_path}: no rows; it needs at least one clip")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "row_idx", np.arange(len(frame), dtype=np.int64))
    frame["label"] = [_parse_label(v, csv_path, i) for i, v in enumerate(frame["label"])]
    files, keep, bad, first_reason = [], [], [], ""
    for i, raw in enumerate(frame["path"].astype(str)):
        where = f"{csv_path} row {i + 1} (line {i + 2})"
        path = resolve_clip_path(raw, csv_path.parent)
        if path is None:
            raise UserError(f"{where}: clip {raw} not found (relative paths are tried from {csv_path.parent} and "
                            f"{Path.cwd()}); fix the path, or rewrite the CSV with split_dataset --root_dir <clips>")
        try:
            if check_clips:
                check_clip_array(open_clip(path), f"{where}: {raw}")
        except BadVideoError as err:
            log.warning("skipping bad clip: %s", err)
            bad.append(str(path))
            first_reason = first_reason or str(err)
            continue
        files.append(str(path))
        keep.append(i)
    rows = frame.iloc[keep].copy()
    rows["file"] = files
    if len(bad) > max_bad_fraction * len(frame) or rows.empty:
        raise UserError(f"{csv_path}: {len(bad)} of {len(frame)} clips are unreadable or not (T, H, W, 3) uint8, more "
                        f"than dataset.max_bad_fraction={max_bad_fraction} (first: {first_reason}); re-export them")
    return HeaderTable(csv_path=csv_path, rows=rows.reset_index(drop=True), bad_clips=bad)


def _parse_label(value, csv_path: Path, i: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if number not in (0.0, 1.0):
        raise UserError(f"{csv_path} row {i + 1} (line {i + 2}): label {value!r} is not 0 or 1 "
                        f"(1 = header, 0 = no header); fix the label")
    return int(number)


class HeaderClipDataset(Dataset):
    """Items: {"video": (3, T, S, S) float, "label": int64, "row_idx": int64 (the CSV data row)}."""

    def __init__(self, rows: pd.DataFrame, *, num_frames: int, transform: Callable, seed: int):
        self.files = rows["file"].tolist()
        self.labels = np.array(rows["label"], dtype=np.int64)  # a writable copy (pandas hands out read-only views)
        self.row_idx = np.array(rows["row_idx"], dtype=np.int64)
        self.num_frames = num_frames
        self.transform = transform
        # Augmentation draws keyed on (seed, epoch, index): the same in every worker and after a resume.
        self.seeds = ItemSeeds(seed)
        self._warned: set[str] = set()

    def set_epoch(self, epoch: int) -> None:
        self.seeds.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.files)

    def load_frames(self, i: int) -> np.ndarray:
        """The sampled frames of clip i, (num_frames, H, W, 3) uint8 — only these are read from disk.
        BadVideoError when the clip cannot be read or is not a header clip (checked again here: with
        dataset.check_clips=false this is the first look at the file, and the file may have changed since)."""
        return read_clip_frames(Path(self.files[i]), self.num_frames)

    def __getitem__(self, i: int) -> dict | None:
        try:
            raw = self.load_frames(i)
        except BadVideoError as err:  # after the up-front check: check_clips=false, or the file changed since
            if self.files[i] not in self._warned:
                self._warned.add(self.files[i])
                log.warning("skipping bad clip: %s", err)
            return None
        frames = torch.from_numpy(raw).permute(0, 3, 1, 2)                  # (T, 3, H, W) uint8
        with self.seeds.draws(i):
            video = self.transform(tv_tensors.Video(frames))                 # (T, 3, S, S) float
        return {
            "video": video.as_subclass(torch.Tensor).permute(1, 0, 2, 3).contiguous(),  # (3, T, S, S)
            "label": torch.tensor(self.labels[i]),
            "row_idx": torch.tensor(self.row_idx[i]),
        }


def collate_skip_bad(batch: list[dict | None]) -> dict:
    """Stack the readable clips; `num_bad` counts the dropped ones (a batch of only bad clips has no "video")."""
    good = [item for item in batch if item is not None]
    num_bad = torch.tensor(len(batch) - len(good), dtype=torch.long)
    if not good:
        return {"label": torch.zeros(0, dtype=torch.long), "row_idx": torch.zeros(0, dtype=torch.long),
                "num_bad": num_bad}
    return {**default_collate(good), "num_bad": num_bad}
