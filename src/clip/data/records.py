"""What a dataset index is made of (a video, its label and group; the splits) and the checks its readers share."""
from dataclasses import dataclass, field
from pathlib import Path

from src.core.errors import UserError

LIST_HINT = "expected '<relative path> <label index>'"


@dataclass(frozen=True)
class VideoRecord:
    path: Path
    label: int               # 0-based index into DatasetIndex.class_names
    group: str | None        # clips sharing a group (UCF gXX, HMDB source film, YouTube id) stay in one split


@dataclass(frozen=True)
class MissingVideo:
    """A video a list / annotation file names that is not on disk."""
    path: Path
    where: str               # "<list file>:<line>" (or "<csv>:<row>") naming it
    split: str               # train | val | test


@dataclass
class DatasetIndex:
    train: list[VideoRecord]
    test: list[VideoRecord]                 # empty when the dataset has no test split
    class_names: list[str]                  # raw names (folder names / labels), index = label
    val: list[VideoRecord] | None           # an official validation split; None -> hold out from train
    layout: str = ""                        # what the reader found where, in words (logs, dataset_report.json)
    missing: list[MissingVideo] = field(default_factory=list)   # listed but not on disk (left out of the splits)


def require_dir(path: Path, fix: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise UserError(f"{path} does not exist or is not a folder; {fix}")
    return path


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based line number, stripped text) of the non-blank lines; tolerates Windows line ends and a BOM."""
    if not path.is_file():
        raise UserError(f"{path}: file not found; check dataset.root and the dataset's layout")
    lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    return [(no, line.strip()) for no, line in enumerate(lines, start=1) if line.strip()]


def parse_path_label(file: Path, line_no: int, text: str) -> tuple[str, int]:
    """'<relative path> <label index>'; the path may contain spaces (the label is the last field)."""
    parts = text.rsplit(maxsplit=1)
    if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
        raise UserError(f"{file}:{line_no}: {LIST_HINT}, got {text!r}; fix or remove the line")
    return parts[0], int(parts[1])


def check_label(file: Path, line_no: int, label: int, num_classes: int, *, first: int) -> None:
    """`label` is 0-based; `first` is how the file counts (1 for UCF-101 lists, 0 for list files)."""
    if not 0 <= label < num_classes:
        raise UserError(f"{file}:{line_no}: label {label + first} is outside {first}..{num_classes - 1 + first} "
                        "(the class list); fix or remove the line")


def locate_video(root: Path, rel: str, file: Path, line_no: int, split: str,
                 missing: list[MissingVideo]) -> Path | None:
    """root/rel (rel may be absolute, with / or \\), or None after noting it in `missing` when it is not a file."""
    path = root / rel.replace("\\", "/")
    if path.is_file():
        return path
    missing.append(MissingVideo(path, f"{file}:{line_no}", split))
    return None


def raise_if_missing(index: DatasetIndex, fix: str) -> DatasetIndex:
    """A complete archive (UCF-101, HMDB-51, a list file) lists only videos that exist: one error line if not."""
    if index.missing:
        first, more = index.missing[0], len(index.missing) - 1
        also = f" (and {more} more listed video(s) are missing)" if more else ""
        raise UserError(f"{first.where}: video {first.path} does not exist{also}; {fix}")
    return index
