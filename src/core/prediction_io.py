"""What `python -m src.predict` shares between tasks: finding the input files, and writing the results.

Inputs: a file, a folder (walked recursively for the task's file types), a glob pattern, or a list of these.
Results: `predictions.csv` (one row per file, or per file and rank for top-k; an `error` column says why a file
could not be read) and `predictions.json` (one record per file), both written atomically, and a rich table.
"""
import glob
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from src.core.atomic import write_csv, write_json
from src.core.errors import UserError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts")


def find_inputs(inputs, suffixes: tuple[str, ...]) -> list[Path]:
    """Every file `inputs` names (sorted, each once). A folder contributes its files with `suffixes`; a name that
    matches nothing is a UserError."""
    entries = [inputs] if isinstance(inputs, str) else list(inputs or [])
    if not entries:
        raise UserError("inputs= is required: a video (or .npy clip), a folder, a glob such as 'clips/*.mp4', "
                        "or a list [a.mp4,b.mp4]")
    found: list[Path] = []
    for entry in map(str, entries):
        path = Path(entry)
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in suffixes]
        elif path.is_file():
            found.append(path)
        else:
            matches = [Path(p) for p in sorted(glob.glob(entry, recursive=True)) if Path(p).is_file()]
            if not matches:
                raise UserError(f"inputs={entry}: no such file or folder, and no file matches it as a pattern")
            found += matches
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UserError(f"inputs={entries}: no files of type {', '.join(suffixes)} found")
    return unique


def resolve_device(name: str, key: str = "device"):
    """auto -> cuda when available, else cpu; a CUDA device asked for where there is none is a UserError."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"{key}={name}: no CUDA device here; use {key}=cpu or auto")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"{key}={name}: not a device; use auto, cpu, cuda or cuda:<index>") from None
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"{key}={name}: {torch.cuda.device_count()} CUDA device(s) here; use an index below that, "
                        f"or {key}=auto")
    return device


def write_predictions(out_dir: Path, rows: list[dict], records: list[dict], columns: list[str]) -> Path:
    """predictions.csv (rows, in `columns` order) and predictions.json (records); returns the folder."""
    out_dir = Path(out_dir)
    write_csv(out_dir / "predictions.csv", pd.DataFrame(rows, columns=columns))
    write_json(out_dir / "predictions.json", records)
    return out_dir


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
