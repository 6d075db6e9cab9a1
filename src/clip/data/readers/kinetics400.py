"""Kinetics-400 and -600: <root>/{train,val,test}/[<label>/]<youtube_id>_<start:06d>_<end:06d>.mp4 (+ annotation CSVs).

With the official annotation CSVs (label,youtube_id,time_start,time_end,split; in <root>/annotations/ or <root>,
named train.csv / val.csv or validate.csv / test.csv, or kinetics[_-]{400,600}_*.csv) the CSV is the truth: labels come
from it, and clips it lists that are not on disk are left out, counted and warned about (Kinetics downloads are
always incomplete: YouTube videos disappear) — unless more than `max_missing_fraction` of a split is missing,
which is an error. Without the CSVs the class folders are the truth. A clip may sit directly in <root>/<split>/
(the CVDF layout) or under a label folder spelled with underscores ("air_drumming"). The val folder may be
called val, validate or valid. When a test split is on disk (test/ + its CSV with labels, or test/<label>/) it
is the test split; otherwise val doubles as test (as the original release had no public test labels).
Kinetics-600 (dataset=kinetics600) is read the same way: CVDF's k600 download is flat (<root>/{train,val,test}/
<youtube_id>_…mp4) with annotations/train.csv, validate.csv and a test.csv without labels (cvdfoundation/
kinetics-dataset issues #23 and #31; its older train.txt / val.txt are not the CSVs, and an error says so).
"""
import logging
import os
import re
from pathlib import Path

import pandas as pd

from src.clip.data.readers import Reader
from src.clip.data.readers.missing_share import check_missing_share
from src.clip.data.records import DatasetIndex, MissingVideo, VideoRecord, require_dir
from src.core.errors import UserError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"}
_CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end")
_CLIP_STEM = re.compile(r"^(?P<youtube_id>.+)_\d{6}_\d{6}$")
# Names each split's folder and annotation CSV go by in the common downloads (official, CVDF, academic mirrors).
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "validate", "valid"), "test": ("test",)}
_CSV_PREFIXES = ("kinetics_400_", "kinetics-400_", "kinetics_600_", "kinetics-600_", "kinetics_")
CSV_NAMES = {split: (*names, *(f"{prefix}{n}" for prefix in _CSV_PREFIXES for n in names))
             for split, names in SPLIT_FOLDERS.items()}
_NOT_FOUND = "point dataset.root at the Kinetics folder (with train/ and val/)"


def read_kinetics400(root: Path, max_missing_fraction: float, strict: bool = True) -> DatasetIndex:
    """train / val (/ test) splits. strict: more than max_missing_fraction of a split missing is an error."""
    return check_kinetics400(scan_kinetics400(root), Path(root), max_missing_fraction, strict)


def scan_kinetics400(root: Path) -> DatasetIndex:
    """Every clip on disk that the annotations (or the class folders) list; the listed ones not on disk in `missing`."""
    root = require_dir(root, _NOT_FOUND)
    train_csv = find_csv(root, "train")
    if train_csv is not None:
        class_names = sorted(_read_csv(train_csv)["label"].unique())
    else:
        train_dir = _split_folder(root, "train", required=True)
        class_names = sorted(d.name for d in train_dir.iterdir() if d.is_dir())
        if not class_names:
            old_list = root / "annotations" / "train.txt"       # CVDF's first Kinetics-600 annotations
            hint = (f" ({old_list} is CVDF's old Kinetics-600 list, not the CSV: download train.csv and "
                    "validate.csv from https://s3.amazonaws.com/kinetics/600/annotations/)") if old_list.is_file() else ""
            raise UserError(f"{train_dir}: no class folders and no annotations/train.csv{hint}; put the videos in "
                            "<root>/train/<label>/ or add the official annotation CSVs")
    # Labels may be spelled "air drumming" (CSV) or "air_drumming" (folder): both find the same class.
    class_index = {name: i for i, name in enumerate(class_names)}
    class_index.update({name.replace(" ", "_"): i for i, name in enumerate(class_names)})
    missing: list[MissingVideo] = []
    splits = {split: _split_records(root, split, class_index, missing) for split in ("train", "val", "test")}
    train, val, test = splits["train"], splits["val"], splits["test"]
    test_source = "test/" if test else "val (no test split on disk)"
    layout = (f"kinetics: {len(class_names)} classes, labels from "
              f"{f'annotation CSVs ({train_csv.parent})' if train_csv is not None else 'class folders'}; test = {test_source}")
    return DatasetIndex(train=train, test=test or val, class_names=class_names, val=val, layout=layout,
                        missing=missing)


def check_kinetics400(index: DatasetIndex, root: Path, max_fraction: float, strict: bool) -> DatasetIndex:
    """Missing clips counted and warned about per split (strict: above max_fraction of a split is an error); an
    empty train or val split is an error. Run on every index, scanned or read from the index cache."""
    check_missing_share(index, max_fraction, strict)
    for split, records in (("train", index.train), ("val", index.val)):
        if not records:
            raise UserError(f"{root}: no {split} videos found; expected <root>/{SPLIT_FOLDERS[split][0]}/<label>/"
                            "<youtube_id>_<start:06d>_<end:06d>.mp4")
    log.info("%s; %d train, %d val, %d test videos", index.layout, len(index.train), len(index.val), len(index.test))
    return index


def annotation_files(root: Path) -> list[Path]:
    """The annotation CSVs a scan reads (those present; without them the class folders are the truth)."""
    root = require_dir(root, _NOT_FOUND)
    return [csv for split in SPLIT_FOLDERS if (csv := find_csv(root, split)) is not None]


def find_csv(root: Path, split: str) -> Path | None:
    for folder in (root / "annotations", root):
        for name in CSV_NAMES[split]:
            if (folder / f"{name}.csv").is_file():
                return folder / f"{name}.csv"
    return None


def _split_folder(root: Path, split: str, required: bool) -> Path | None:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    if required:
        raise UserError(f"{root / SPLIT_FOLDERS[split][0]} does not exist; download the Kinetics {split} "
                        "videos into it")
    return None


def _split_records(root: Path, split: str, class_index: dict[str, int],
                   missing: list[MissingVideo]) -> list[VideoRecord]:
    folder = _split_folder(root, split, required=split != "test")
    if folder is None:
        return []
    csv = find_csv(root, split)
    if csv is not None and "label" not in pd.read_csv(csv, nrows=0).columns:
        log.warning("%s has no label column (the original test CSV): the %s split is left out", csv, split)
        return []
    return _from_csv(csv, folder, split, class_index, missing) if csv else _from_folders(folder, class_index)


def _read_csv(csv: Path) -> pd.DataFrame:
    table = pd.read_csv(csv, dtype={"label": str, "youtube_id": str})
    missing = [c for c in _CSV_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{csv}: missing column(s) {', '.join(missing)}; use the official annotation CSV "
                        "(label,youtube_id,time_start,time_end,split)")
    return table


def _from_csv(csv: Path, folder: Path, split: str, class_index: dict[str, int],
              missing: list[MissingVideo]) -> list[VideoRecord]:
    on_disk = _videos_by_stem(folder)
    records = []
    for row_no, row in enumerate(_read_csv(csv).itertuples(index=False), start=2):   # row 1 is the header
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
            missing.append(MissingVideo(folder / f"{stem}.mp4", f"{csv}:{row_no}", split))
            continue
        records.append(VideoRecord(path, class_index[row.label], str(row.youtube_id)))
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


# max_missing_fraction is not a setting of the scan: the check applies it to the scanned or cached index alike.
READER = Reader(
    scan=lambda root, dataset: scan_kinetics400(root),
    inputs=lambda root, dataset: annotation_files(root),
    settings=(),
    check=lambda index, dataset, strict: check_kinetics400(index, Path(dataset["root"]),
                                                           dataset["max_missing_fraction"], strict),
)
