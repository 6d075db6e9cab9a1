"""One reader per dataset format (ucf101, hmdb51, kinetics400, ssv2, list); `src.clip.data.index.read_index` picks one.

Each reader module offers a `READER`: how to scan the dataset (every listed video, the missing ones noted instead of
stopping), which list / annotation files the scan reads (the index cache's key covers them: an edited list means a
new scan, never a stale index), which `dataset.*` keys shape the scan, and the check that the scanned (or cached)
index must pass before a run uses it (a listed video missing, too many Kinetics / SSv2 clips missing: one
error line).
"""
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.clip.data.records import DatasetIndex


@dataclass(frozen=True)
class Reader:
    scan: Callable[[Path, dict], DatasetIndex]           # (root, dataset section) -> the index, missing noted
    inputs: Callable[[Path, dict], list[Path]]           # (root, dataset section) -> the files the scan reads
    settings: tuple[str, ...]                            # the dataset keys that change what the scan finds
    check: Callable[[DatasetIndex, dict, bool], DatasetIndex]   # (index, dataset, strict) -> index or UserError
