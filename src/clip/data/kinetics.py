"""Kinetics-400 reader: <root>/{train,val}/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4.

With the official annotation CSVs (<root>/annotations/{train,val}.csv: label,youtube_id,time_start,time_end,split)
the CSV is the truth: labels come from it, and clips it lists that are not on disk are left out with one
warning (Kinetics downloads are always incomplete: YouTube videos disappear). Without the CSVs the class folders
are the truth. The clip may also sit directly in <root>/<split>/ (the CVDF download layout) or under a label
folder spelled with underscores ("air_drumming"). The val folder is both the validation split (k_val applies)
and the test split (always whole), as Kinetics has no public test labels.
"""
import logging
import os
import re
from pathlib import Path

import pandas as pd

from src.clip.data.records import DatasetIndex, VideoRecord, require_dir
from src.core.errors import UserError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"}
_CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end")
_CLIP_STEM = re.compile(r"^(?P<youtube_id>.+)_\d{6}_\d{6}$")


def read_kinetics400(root: Path) -> DatasetIndex:
    root = require_dir(root, "point dataset.root at the Kinetics-400 folder (with train/ and val/)")
    train_csv = root / "annotations" / "train.csv"
    if train_csv.is_file():
        class_names = sorted(_read_csv(train_csv)["label"].unique())
    else:
        train_dir = require_dir(root / "train", "download the Kinetics-400 train videos into it")
        class_names = sorted(d.name for d in train_dir.iterdir() if d.is_dir())
        if not class_names:
            raise UserError(f"{train_dir}: no class folders and no {train_csv}; put the videos in "
                            "<root>/train/<label>/ or add the official annotation CSVs")
    # Labels may be spelled "air drumming" (CSV) or "air_drumming" (folder): both find the same class.
    class_index = {name: i for i, name in enumerate(class_names)}
    class_index.update({name.replace(" ", "_"): i for i, name in enumerate(class_names)})
    train = _split_records(root, "train", class_index)
    val = _split_records(root, "val", class_index)
    log.info("kinetics400: %d classes, %d train and %d val videos", len(class_names), len(train), len(val))
    return DatasetIndex(train=train, test=val, class_names=class_names, val=val)


def _split_records(root: Path, split: str, class_index: dict[str, int]) -> list[VideoRecord]:
    folder = require_dir(root / split, f"download the Kinetics-400 {split} videos into it")
    csv = root / "annotations" / f"{split}.csv"
    records = _from_csv(csv, folder, class_index) if csv.is_file() else _from_folders(folder, class_index)
    if not records:
        raise UserError(f"{folder}: no videos found; expected <root>/{split}/<label>/"
                        "<youtube_id>_<start:06d>_<end:06d>.mp4")
    return records


def _read_csv(csv: Path) -> pd.DataFrame:
    table = pd.read_csv(csv, dtype={"label": str, "youtube_id": str})
    missing = [c for c in _CSV_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{csv}: missing column(s) {', '.join(missing)}; use the official annotation CSV "
                        "(label,youtube_id,time_start,time_end,split)")
    return table


def _from_csv(csv: Path, folder: Path, class_index: dict[str, int]) -> list[VideoRecord]:
    on_disk = _videos_by_stem(folder)
    records, absent = [], 0
    table = _read_csv(csv)
    for row_no, row in enumerate(table.itertuples(index=False), start=2):   # row 1 is the header
        if row.label not in class_index:
            raise UserError(f"{csv}:{row_no}: label {row.label!r} is not a class of the train split; "
                            "fix or remove the row")
        try:
            stem = f"{row.youtube_id}_{int(row.time_start):06d}_{int(row.time_end):06d}"
        except (TypeError, ValueError):
            raise UserError(f"{csv}:{row_no}: time_start/time_end must be whole seconds, got "
                            f"{row.time_start!r}/{row.time_end!r}; fix or remove the row") from None
        path = on_disk.get(stem)
        if path is None:
            absent += 1
            continue
        records.append(VideoRecord(path, class_index[row.label], str(row.youtube_id)))
    if absent:
        log.warning("%s: %d of %d listed clips are not under %s (incomplete download); they are left out",
                    csv, absent, len(table), folder)
    return records


def _from_folders(folder: Path, class_index: dict[str, int]) -> list[VideoRecord]:
    records = []
    for sub in sorted(d for d in folder.iterdir() if d.is_dir()):
        if sub.name not in class_index:
            raise UserError(f"{sub}: class folder {sub.name!r} is not a class of the train split; "
                            "rename or remove it")
        for path in sorted(sub.iterdir()):
            if path.suffix.lower() in VIDEO_EXTENSIONS:
                records.append(VideoRecord(path, class_index[sub.name], _youtube_id(path.stem)))
    return records


def _videos_by_stem(folder: Path) -> dict[str, Path]:
    """Every video file in <folder>/ and <folder>/<label>/, keyed by its name without extension (one scan)."""
    found: dict[str, Path] = {}
    with os.scandir(folder) as top:
        for entry in top:
            children = os.scandir(entry.path) if entry.is_dir() else None
            for item in ([entry] if children is None else children):
                if item.is_file() and os.path.splitext(item.name)[1].lower() in VIDEO_EXTENSIONS:
                    found[os.path.splitext(item.name)[0]] = Path(item.path)
            if children is not None:
                children.close()
    return found


def _youtube_id(stem: str) -> str:
    match = _CLIP_STEM.match(stem)
    return match.group("youtube_id") if match else stem
