"""The --src / --dst checks (before anything is written), the claim on --dst, and the partial files a killed run left.

--dst is a new or empty folder, or the output of an earlier run with the same settings: its resize_summary.json is
written first (status "running", the settings) and completed at the end, so a killed run's folder is recognised and
continued, and a folder made with other settings is refused, naming the option that differs.
"""
import json
import os
from pathlib import Path

from src.clip.data.resize.file_job import PARTIAL_SUFFIX
from src.core.atomic import write_json
from src.core.errors import UserError

SUMMARY_NAME, FAILURES_NAME = "resize_summary.json", "failures.csv"
REPORT_NAMES = (SUMMARY_NAME, FAILURES_NAME)   # this tool's own files in --dst (not copied from a resized --src)


def check_folders(src: Path, dst: Path) -> tuple[Path, Path]:
    """(src, dst) resolved, or a UserError: no --src folder, --dst equal to it or inside it."""
    if not src.is_dir():
        raise UserError(f"--src {src}: no such folder; give the dataset root (the folder dataset.root points at)")
    src_real, dst_real = src.resolve(), dst.resolve()
    if dst_real == src_real or src_real in dst_real.parents:
        raise UserError(f"--dst {dst}: is inside --src {src} (it would be walked as part of the dataset); give a "
                        "folder outside it, e.g. a sibling")
    return src_real, dst_real


def check_destination(dst: Path, record: dict) -> bool:
    """True when `dst` is an earlier run's output to continue, False when new or empty; else a UserError."""
    if not dst.exists():
        return False
    summary = dst / SUMMARY_NAME
    if not summary.is_file():
        if any(dst.iterdir()):
            raise UserError(f"--dst {dst}: is not empty and holds no {SUMMARY_NAME} (not made by this tool); give a "
                            "new or empty folder")
        return False
    try:
        before = json.loads(summary.read_text())["settings"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"--dst {dst}: {SUMMARY_NAME} is unreadable ({err}); give another --dst, or delete the "
                        "folder to start again") from None
    changed = [key for key in record if before.get(key) != record[key]]
    if changed:
        key = changed[0]
        raise UserError(f"--dst {dst}: was made with other settings (--{key} {before.get(key)} there, "
                        f"{record[key]} now); run with the same options to continue it, or give another --dst")
    return True


def claim(dst: Path, record: dict) -> None:
    """Create --dst and record the settings (status "running") before the first file is written."""
    dst.mkdir(parents=True, exist_ok=True)
    write_json(dst / SUMMARY_NAME, {"status": "running", "settings": record})


def remove_partials(dst: Path) -> int:
    """Delete the partial files a killed run left (`.<name>.resize-partial`); returns how many."""
    removed = 0
    for folder, _, files in os.walk(dst):
        for name in files:
            if name.startswith(".") and name.endswith(PARTIAL_SUFFIX):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed
