"""RecordRows: a split's videos (or its missing videos) kept as columns, each VideoRecord built when it is asked for.

An index loaded from the index cache (src/clip/data/index_cache.py) holds Kinetics-400's 240,000 videos. Building
240,000 `Path`s and records up front costs ~10 µs each (2-3 s, as long as the scan the cache saves), and most runs
use a few of them: the few-shot draw (`k_per_class`) reads the label column only and builds the k chosen records.
A RecordRows is an immutable sequence: `rows[i]` is a VideoRecord / MissingVideo, slices are RecordRows, and it
pickles as a few lists of strings (DataLoader workers, ddp_spawn). `column(records, name)` reads one field of any
sequence of records, from the column when there is one.
"""
import os
from collections.abc import Sequence
from pathlib import Path

from src.clip.data.records import MissingVideo, VideoRecord

KINDS = {"video": VideoRecord, "missing": MissingVideo}   # what a row is; the columns are its fields, in order


class RecordRows(Sequence):
    """Rows of `kind` ("video" | "missing"). `columns`: the kind's fields in order, "path" first, as lists; a path
    is stored as the text after `base` ("" when the paths are kept whole)."""

    def __init__(self, kind: str, base: str, columns: dict[str, list]):
        self.kind, self.base, self.columns = kind, base, columns
        fields = list(KINDS[kind].__dataclass_fields__)
        if list(columns) != fields or len({len(c) for c in columns.values()}) > 1:
            raise ValueError(f"{kind} rows need the columns {fields} of one length, got {list(columns)}")

    def __len__(self) -> int:
        return len(self.columns["path"])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return RecordRows(self.kind, self.base, {name: values[i] for name, values in self.columns.items()})
        path, *rest = (values[i] for values in self.columns.values())
        return KINDS[self.kind](Path(self.base + path), *rest)

    def column(self, name: str) -> list:
        return self.columns[name]

    def select(self, positions: Sequence[int], **replaced: list) -> "RecordRows":
        """The rows at `positions`, in that order; `replaced` gives new values (one per position) for a column."""
        columns = {name: replaced[name] if name in replaced else [values[p] for p in positions]
                   for name, values in self.columns.items()}
        return RecordRows(self.kind, self.base, columns)

    def __repr__(self) -> str:
        return f"RecordRows({self.kind}, {len(self)} rows under {self.base!r})"


def column(records: Sequence, name: str) -> list:
    """Field `name` of every record, read from the column of a RecordRows (no record is built)."""
    if isinstance(records, RecordRows):
        return records.column(name)
    return [getattr(record, name) for record in records]


def pick(records: Sequence, positions: Sequence[int]) -> Sequence:
    """The records at `positions`: RecordRows stay rows (nothing is built), other sequences give a list."""
    if isinstance(records, RecordRows):
        return records.select(positions)
    return [records[p] for p in positions]


def as_rows(kind: str, records: Sequence, root: Path) -> RecordRows:
    """`records` as rows; paths under `root` are stored relative to it (shorter files), others whole."""
    if isinstance(records, RecordRows):
        return records
    paths = [str(record.path) for record in records]
    base = os.path.join(str(root), "")   # "<root>/"
    if not all(path.startswith(base) for path in paths):
        base = ""  # some paths lie outside the root (a list file's absolute paths, UCF lists beside the root)
    columns = {"path": [path[len(base):] for path in paths]}
    columns.update({name: column(records, name) for name in list(KINDS[kind].__dataclass_fields__)[1:]})
    return RecordRows(kind, base, columns)
