"""Reading a CSV of header clips (`path,label` + optional `video_id,half,frame,group`): the one reader behind the
training data, the dataset checker and the split tool, so a missing, unreadable or incomplete CSV is the same one
line wherever it is given."""
from pathlib import Path

import pandas as pd

from src.core.errors import UserError

REQUIRED_COLUMNS = ("path", "label")
MAKE_ONE = "make it with `python -m data_tools.split_dataset --input_csv <all clips>.csv --output_dir <dir>`"


def read_clip_csv(path: Path, name: str) -> pd.DataFrame:
    """The CSV at `path` as a DataFrame with at least REQUIRED_COLUMNS; `name` is what gave it (`dataset.train_csv`,
    `--input_csv`), for the error line."""
    path = Path(path)
    given = f"{name}={path}" if name.replace(".", "").replace("_", "").isalnum() else f"{name} {path}"
    if not path.is_file():
        hint = "give the CSV of every clip (path,label,…)" if name.startswith("-") else MAKE_ONE
        raise UserError(f"{given}: no such file; {hint}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0][:120]
        raise UserError(f"{given}: not a readable CSV ({reason}); it needs a header line with path,label") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise UserError(f"{given}: missing column(s) {', '.join(missing)} (has: {', '.join(map(str, frame.columns))}); "
                        "a header CSV needs path,label (+ optional video_id,half,frame,group)")
    return frame
