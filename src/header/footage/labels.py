"""The labels of `make_header_clips`: one row per header in a match video.

    video_id,half,frame[,label][,video_path]

frame is the video's own 0-based frame number, label 1 (header, the default) or 0 (a chosen non-header),
video_path (optional) names the video instead of the --videos lookup. A file the tool cannot use (missing, not a
CSV, a missing column, a frame or half that is not an integer) is one error line; a row it cannot use (a label
other than 0/1, an empty or unsafe video_id, a repeated frame) is skipped with its reason and the rest go on.
"""
from pathlib import Path

import numpy as np
import pandas as pd

from src.header.footage.tables import integer_column, read_table

HINT = "a labels CSV needs video_id,half,frame (+ optional label, video_path), one row per header"


def read_labels(paths: list[Path], name: str = "--labels") -> pd.DataFrame:
    """Columns video_id (str), half, frame (int64), label (int64, -1 when not 0/1), video_path (str, "" = look it
    up), source (the CSV's folder, for relative video paths), problem ("" = usable, else the skip reason)."""
    tables = []
    for path in paths:
        table = read_table(Path(path), name, required=("video_id", "half", "frame"), hint=HINT)
        label = table["label"] if "label" in table.columns else pd.Series("1", index=table.index)
        label = pd.to_numeric(label.str.strip().replace("", "1"), errors="coerce")
        tables.append(pd.DataFrame({
            "video_id": table["video_id"].str.strip(),
            "half": integer_column(table, "half", Path(path)),
            "frame": integer_column(table, "frame", Path(path)),
            "label": np.where(label.isin([0, 1]), label.fillna(-1), -1).astype(np.int64),
            "video_path": table["video_path"].str.strip() if "video_path" in table.columns else "",
            "source": str(Path(path).parent),
        }))
    labels = pd.concat(tables, ignore_index=True)
    labels["problem"] = [_problem(row) for row in labels.itertuples(index=False)]
    repeated = labels.duplicated(["video_id", "half", "frame"]) & (labels["problem"] == "")
    labels.loc[repeated, "problem"] = "duplicate: the same video_id, half and frame is on an earlier row"
    return labels


def _problem(row) -> str:
    if row.label < 0:
        return "bad_label: label must be 1 (header) or 0 (no header)"
    if not row.video_id:
        return "bad_video_id: empty video_id"
    if ".." in Path(row.video_id).parts or Path(row.video_id).is_absolute():
        return "bad_video_id: a video_id is a folder or name under --videos (no .., not absolute)"
    return ""
