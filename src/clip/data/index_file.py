"""The index cache's file: one DatasetIndex as compact JSON, one list per field rather than one object per video.

    {"index_format": 1,
     "built_from": {...},                  what the key hashes (format, root, settings, list files' size + mtime)
     "folders": {"<folder>": mtime_ns},    the folders the videos sit in (and the root, the lists' folders)
     "class_names": [...], "layout": "...",
     "splits": {"train": ROWS, "val": ROWS | null, "test": ROWS | "val"},      "val": val doubles as test
     "missing": ROWS}
    ROWS = {"base": "<root>/", "path": [paths after base], "label": [...], "group": [...]}   (missing: where, split)

json.loads reads Kinetics-400's 240,000 videos in ~0.1 s; the rows stay columns (src/clip/data/record_rows.py).
A file that does not have this shape raises IndexFileError (the cache then rebuilds it).
"""
import os
from pathlib import Path

from src.clip.data.record_rows import KINDS, RecordRows, as_rows, column
from src.clip.data.records import DatasetIndex

INDEX_FORMAT = 1    # bump when the file's layout or what a reader puts in an index changes: old files are rebuilt


class IndexFileError(ValueError):
    """The file is not an index file of this INDEX_FORMAT."""


def encode(index: DatasetIndex, root: Path, built_from: dict) -> dict:
    splits = {"train": as_rows("video", index.train, root), "val": None, "test": None}
    if index.val is not None:
        splits["val"] = as_rows("video", index.val, root)
    test_is_val = index.val is not None and index.test is index.val   # Kinetics without a test split
    splits["test"] = None if test_is_val else as_rows("video", index.test, root)
    missing = as_rows("missing", index.missing, root)
    return {"index_format": INDEX_FORMAT, "built_from": built_from,
            "folders": folder_times(watched_folders(root, built_from, [*splits.values(), missing])),
            "class_names": list(index.class_names), "layout": index.layout,
            "splits": {name: "val" if name == "test" and test_is_val else _plain(rows) for name, rows in splits.items()},
            "missing": _plain(missing)}


def decode(data) -> DatasetIndex:
    """The DatasetIndex of a loaded index file; IndexFileError when it is not one."""
    try:
        splits, names = data["splits"], data["class_names"]
        train = _rows("video", splits["train"])
        val = None if splits["val"] is None else _rows("video", splits["val"])
        test = val if splits["test"] == "val" else _rows("video", splits["test"])
        missing = _rows("missing", data["missing"])
        if not isinstance(names, list) or not isinstance(data["layout"], str):
            raise IndexFileError("class_names / layout have the wrong type")
    except (KeyError, TypeError, ValueError) as err:
        raise IndexFileError(f"not an index file ({type(err).__name__}: {err})") from None
    return DatasetIndex(train=train, test=test, class_names=names, val=val, layout=data["layout"], missing=missing)


def watched_folders(root: Path, built_from: dict, rows: list[RecordRows | None]) -> list[str]:
    """The folders whose listing decides what the index holds: the root, the folders of the list files, and every
    folder a video (or a missing one) is in. Adding, removing or renaming a file in a folder changes its mtime."""
    folders = {str(root), *(os.path.dirname(path) for path, _, _ in built_from["inputs"])}
    for split in rows:
        if split is not None:
            folders.update({os.path.dirname(split.base + path) or "." for path in column(split, "path")})
    return sorted(folders)


def folder_times(folders: list[str]) -> dict[str, int | None]:
    """folder -> its mtime_ns (None: it does not exist)."""
    return {folder: mtime_ns(folder) for folder in folders}


def mtime_ns(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def changed_folder(folders: dict) -> str | None:
    """The first folder whose mtime is not the recorded one (a video added or removed since), or None."""
    for folder, recorded in folders.items():
        if mtime_ns(folder) != recorded:
            return folder
    return None


def _plain(rows: RecordRows | None) -> dict | None:
    return None if rows is None else {"base": rows.base, **rows.columns}


def _rows(kind: str, plain: dict) -> RecordRows:
    base = plain["base"]
    if not isinstance(base, str):
        raise IndexFileError("a split's base is not a path")
    return RecordRows(kind, base, {name: plain[name] for name in KINDS[kind].__dataclass_fields__})
