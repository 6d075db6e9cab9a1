"""The task=header dataset checker: `python -m data_tools.check_dataset task=header dataset.train_csv=… …`.

For dataset.train_csv and dataset.val_csv: rows and label balance, labels other than 0/1, clips that are missing,
unreadable or not (T, H, W, 3) uint8, clips shorter than dataset.num_frames, the spread of clip shapes, and
leaks between the files (the same clip, or the same group — `group`, else `video_id` — in both). Clips are read
as training reads them (same path resolution, memory-mapped .npy); check.decode: all reads every frame, first
the first frame, none only the .npy header.
"""
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from rich.progress import track

from src.core.dataset_report import DatasetReport, spread
from src.core.errors import BadVideoError, UserError
from src.header.data.clip_csv import read_clip_csv
from src.header.data.dataset import open_clip, resolve_clip_path

GROUP_COLUMNS = ("group", "video_id")       # the first present is the leak key (as split_dataset groups rows)
DECODE_MODES = ("all", "first", "none")


def check_header_dataset(dataset: dict, check: dict) -> DatasetReport:
    if check["decode"] not in DECODE_MODES:
        raise UserError(f"check.decode: {check['decode']!r} is not one of {', '.join(DECODE_MODES)}")
    report = DatasetReport(task="header", dataset=dataset["name"])
    tables = {}
    for split in ("train", "val"):
        key = f"dataset.{split}_csv"
        if dataset[f"{split}_csv"] is None:
            raise UserError(f"{key} is not set; pass {key}=<csv> (make the CSVs with data_tools/split_dataset.py)")
        tables[split] = _read_csv(Path(dataset[f"{split}_csv"]), key)
    report.facts["csv"] = {split: str(table.attrs["path"]) for split, table in tables.items()}
    limit = check["max_listed"]
    report.facts["label_balance"] = {split: _balance(report, split, table, limit) for split, table in tables.items()}
    shapes = []
    for split, table in tables.items():
        shapes += _check_clips(report, split, table, dataset["num_frames"], check["decode"], limit)
    report.facts["clip_shapes"] = {
        "frames": spread([s[0] for s in shapes]),
        "size": dict(Counter(f"{s[2]}x{s[1]}" for s in shapes).most_common(10)),
    }
    _leaks(report, tables, limit)
    return report


def _read_csv(path: Path, key: str) -> pd.DataFrame:
    table = read_clip_csv(path, key)
    table.attrs["path"] = path
    return table


def _where(table: pd.DataFrame, i: int) -> str:
    return f"{table.attrs['path']} row {i + 1} (line {i + 2})"


def _balance(report: DatasetReport, split: str, table: pd.DataFrame, limit: int) -> dict:
    labels = pd.to_numeric(table["label"], errors="coerce")
    bad = [{"where": _where(table, i), "label": str(v)} for i, v in enumerate(table["label"])
           if labels[i] not in (0, 1)]
    if bad:
        report.problem("bad_labels", f"{len(bad)} row(s) of the {split} CSV have a label other than 0 or 1 "
                       "(training stops at the first)", bad[:limit])
    header, non_header = int((labels == 1).sum()), int((labels == 0).sum())
    if len(table) and (header == 0 or non_header == 0):
        report.problem("one_class_only", f"the {split} CSV has {header} header and {non_header} non-header clips: "
                       "precision / recall / F1 need both; re-split with data_tools/split_dataset.py")
    return {"rows": len(table), "header": header, "non_header": non_header,
            "header_fraction": round(header / max(len(table), 1), 4)}


def _read_clip(path: Path, decode: str) -> tuple[int, ...]:
    """The clip's shape after reading what `decode` asks for; BadVideoError when that fails."""
    clip = open_clip(path)
    try:
        if decode == "all":
            np.asarray(clip).sum()            # touches every byte: a short or damaged file fails here
        elif decode == "first" and clip.ndim >= 1 and clip.shape[0] > 0:
            np.asarray(clip[0]).sum()
    except (OSError, ValueError) as err:
        raise BadVideoError(f"{path}: cannot be read ({err})") from err
    return tuple(clip.shape) + (str(clip.dtype),)


def _check_clips(report: DatasetReport, split: str, table: pd.DataFrame, num_frames: int, decode: str,
                 limit: int) -> list[tuple]:
    csv_dir, shapes = Path(table.attrs["path"]).parent, []
    missing, unreadable, misshaped, short = [], [], [], []
    rows = track(list(enumerate(table["path"].astype(str))), description=f"reading {split} clips", transient=True)
    for i, raw in rows:
        path = resolve_clip_path(raw, csv_dir)
        if path is None:
            missing.append({"where": _where(table, i), "path": raw})
            continue
        try:
            *shape, dtype = _read_clip(path, decode)
        except BadVideoError as err:
            unreadable.append({"where": _where(table, i), "reason": str(err)})
            continue
        if len(shape) != 4 or shape[-1] != 3 or dtype != "uint8" or shape[0] == 0:
            misshaped.append({"where": _where(table, i), "shape": shape, "dtype": dtype})
            continue
        shapes.append(tuple(shape))
        if shape[0] < num_frames:
            short.append({"where": _where(table, i), "frames": shape[0]})
    fix = "fix the paths, or rewrite the CSV with data_tools/split_dataset.py --root_dir <clips>"
    for kind, items, message in (
            ("missing_files", missing, f"clip(s) of the {split} CSV are not found (training stops); {fix}"),
            ("unreadable_clips", unreadable, f"clip(s) of the {split} CSV cannot be read (skipped); re-export them"),
            ("misshaped_clips", misshaped, f"clip(s) of the {split} CSV are not (T>0, H, W, 3) uint8; re-export")):
        if items:
            report.problem(kind, f"{len(items)} {message}", items[:limit])
    if short:
        report.warning("short_clips", f"{len(short)} clip(s) of the {split} CSV have fewer than dataset.num_frames="
                       f"{num_frames} frames: frames repeat", short[:limit])
    return shapes


def _leaks(report: DatasetReport, tables: dict, limit: int) -> None:
    train, val = tables["train"], tables["val"]
    column = next((c for c in GROUP_COLUMNS if c in train.columns and c in val.columns), None)
    if column is None:
        report.warning("no_group_column", "neither CSV has a group or video_id column: clips of one match half "
                       "may sit in both files unnoticed")
    else:
        both = sorted(set(train[column].astype(str)) & set(val[column].astype(str)))
        if both:
            report.problem("groups_in_both", f"{len(both)} {column} value(s) are in both train and val: near-"
                           "duplicate clips leak into validation; re-split with data_tools/split_dataset.py",
                           [{column: value} for value in both[:limit]])
    resolve = lambda table: {str(resolve_clip_path(raw, Path(table.attrs["path"]).parent))  # noqa: E731
                             for raw in table["path"].astype(str)} - {"None"}
    shared = sorted(resolve(train) & resolve(val))
    if shared:
        report.problem("duplicate_paths_across_splits", f"{len(shared)} clip(s) are in both train and val",
                       [{"path": p} for p in shared[:limit]])
