"""windows.csv and gaps.csv, written as detection goes: one flushed append per batch, so a Ctrl-C or a kill
leaves every finished row readable, and `resume=true` continues after the last one.

A kill can cut the last line short; reading for a resume drops such a torn line (it is rewritten).
`settings.json` beside them records what the rows were made with; a resume with other settings is refused.
"""
import csv
import json
import os
from io import StringIO
from pathlib import Path

import pandas as pd

from src.core.atomic import append_bytes, write_json, write_text
from src.core.errors import UserError

# status: scored, or no_ball (a frame of the window had no ball box: not scored, prob_header empty)
WINDOW_COLUMNS = ("start_frame", "end_frame", "center_time_s", "prob_header", "status")
GAP_COLUMNS = ("start_frame", "end_frame", "start_time_s", "end_time_s")


class AppendLog:
    """A CSV opened for appending; `append(rows)` writes the rows whole or not at all (a full disk leaves the file
    as it was: src/core/atomic.py `append_bytes`)."""

    def __init__(self, path: Path, columns: tuple[str, ...], fresh: bool):
        self.path = Path(path)
        if fresh or not self.path.is_file() or self.path.stat().st_size == 0:
            write_text(self.path, ",".join(columns) + "\n")
        else:
            drop_torn_line(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, rows: list[tuple]) -> None:
        text = StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        append_bytes(self._fd, text.getvalue().encode("utf-8"), self.path)

    def close(self) -> None:
        os.close(self._fd)


def drop_torn_line(path: Path) -> None:
    """Truncate a file to its last complete line (a kill mid-write leaves a partial one)."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def read_windows(path: Path) -> pd.DataFrame:
    """The finished rows of a windows.csv (torn last line ignored), sorted by start_frame."""
    text = Path(path).read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    table = pd.read_csv(StringIO(text)) if text.strip() else pd.DataFrame(columns=WINDOW_COLUMNS)
    return table.sort_values("start_frame", kind="stable").drop_duplicates("start_frame").reset_index(drop=True)


def resume_start(out_dir: Path, settings: dict, resume: bool) -> int | None:
    """The first window start still to do when resuming (None: start afresh). Refuses mismatched settings."""
    windows, recorded = out_dir / "windows.csv", out_dir / "settings.json"
    if not resume or not windows.is_file() or not recorded.is_file():
        return None
    before = json.loads(recorded.read_text())
    if before != settings:
        changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
        raise UserError(f"resume=true: {out_dir} was made with other settings ({', '.join(changed)} differ); "
                        f"use the same settings, or resume=false to start again")
    done = read_windows(windows)
    if done.empty:
        return None
    return int(done["start_frame"].iloc[-1]) + int(settings["stride"])


def write_settings(out_dir: Path, settings: dict) -> None:
    write_json(out_dir / "settings.json", settings)
