"""Any folder of videos described by list files (dataset=list).

Each line: `<path> <label>`; the path is relative to dataset.root or absolute (it may contain spaces: the label
is the last field). The label is a class index (0-based) or a class name without spaces (names with spaces:
use indices and a class-name file). Class names come from, in order:
dataset.class_names_file (line i = class i; it must exist when set), <root>/classes.txt when it exists, the
labels themselves when they are names (sorted), or the folder each labelled video sits in when they are indices.
"""
from pathlib import Path

from src.clip.data.readers import Reader
from src.clip.data.readers.ucf101 import ucf_group
from src.clip.data.records import (
    LIST_HINT,
    DatasetIndex,
    MissingVideo,
    VideoRecord,
    check_label,
    locate_video,
    raise_if_missing,
    read_lines,
    require_dir,
)
from src.core.errors import UserError

DEFAULT_CLASSES = "classes.txt"
MISSING_FIX = "fix the path (relative to dataset.root, or absolute) or remove the line"
SETTINGS = ("train_list", "val_list", "test_list", "class_names_file")


def read_list(root: Path, train_list: str, val_list: str | None, test_list: str | None,
              class_names_file: str | None, strict: bool = True) -> DatasetIndex:
    """Lists -> index. strict: a listed video not on disk is an error (else noted in `missing`)."""
    root = require_dir(root, "point dataset.root at the folder the list files' paths are relative to")
    write_it = f"write it ({LIST_HINT} per line)"
    sources = {
        "train": (train_list, "dataset.train_list", write_it),
        "val": (val_list, "dataset.val_list",
                f"{write_it} or set dataset.val_list=null to hold out dataset.val_fraction of the train list"),
        "test": (test_list, "dataset.test_list", f"{write_it} or set dataset.test_list=null"),
    }
    lines = {split: _parse(_require_file(path, key, fix)) for split, (path, key, fix) in sources.items()
             if path is not None}
    class_names, names_from = _class_names(root, class_names_file, lines)
    label_of = {name: i for i, name in enumerate(class_names)}
    missing: list[MissingVideo] = []
    splits = {split: [] for split in sources}
    for split, entries in lines.items():
        for file, line_no, rel, label in entries:
            index = label if isinstance(label, int) else label_of[label]
            check_label(file, line_no, index, len(class_names), first=0)
            path = locate_video(root, rel, file, line_no, split, missing)
            if path is not None:
                splits[split].append(VideoRecord(path, index, ucf_group(rel)))
    layout = f"list: videos under {root}, lists {', '.join(str(sources[s][0]) for s in lines)}; class names {names_from}"
    index = DatasetIndex(train=splits["train"], test=splits["test"], class_names=class_names,
                         val=splits["val"] if val_list is not None else None, layout=layout, missing=missing)
    return raise_if_missing(index, MISSING_FIX) if strict else index


def list_inputs(root: Path, dataset: dict) -> list[Path]:
    """The list files and the class-name file (given, or <root>/classes.txt, present or not) a scan reads."""
    root = require_dir(root, "point dataset.root at the folder the list files' paths are relative to")
    lists = [dataset[key] for key in ("train_list", "val_list", "test_list") if dataset[key] is not None]
    names = dataset["class_names_file"] if dataset["class_names_file"] is not None else root / DEFAULT_CLASSES
    return [Path(path) for path in (*lists, names)]


def _require_file(path: str, key: str, fix: str) -> Path:
    if not Path(path).is_file():
        raise UserError(f"{key}: {path} does not exist; {fix}")
    return Path(path)


def _parse(file: Path) -> list[tuple[Path, int, str, int | str]]:
    """(file, line, path, label) per line; label an int when it is written as one."""
    entries = []
    for line_no, text in read_lines(file):
        parts = text.rsplit(maxsplit=1)
        if len(parts) != 2:
            raise UserError(f"{file}:{line_no}: {LIST_HINT} (or '<path> <class name>'), got {text!r}; "
                            "fix or remove the line")
        label = int(parts[1]) if parts[1].lstrip("-").isdigit() else parts[1]
        entries.append((file, line_no, parts[0], label))
    return entries


def _class_names(root: Path, class_names_file: str | None, lines: dict) -> tuple[list[str], str]:
    """(class names, where they came from)."""
    entries = [entry for split in lines.values() for entry in split]
    default = root / DEFAULT_CLASSES
    if class_names_file is not None or default.is_file():
        path = _require_file(class_names_file or str(default), "dataset.class_names_file",
                             "write one class name per line (line i = label i), or set it to null")
        names = [text for _, text in read_lines(path)]
        if not names:
            raise UserError(f"{path}: no class names; write one class name per line (line i = label i)")
        for file, line_no, _, label in entries:
            if isinstance(label, str) and label not in names:
                raise UserError(f"{file}:{line_no}: class {label!r} is not in {path}; fix the line or add the class")
        return names, f"from {path}"
    if all(isinstance(label, str) for *_, label in entries):
        return sorted({label for *_, label in entries}), "from the labels (sorted)"
    if any(isinstance(label, str) for *_, label in entries):
        file, line_no, _, label = next(e for e in entries if isinstance(e[3], str))
        raise UserError(f"{file}:{line_no}: label {label!r} is a name but other lines use indices; use one kind, "
                        f"or write {default} (line i = class i)")
    return _names_from_folders(entries, default), "from the video folders"


def _names_from_folders(entries: list, default: Path) -> list[str]:
    folders: dict[int, str] = {}
    for file, line_no, rel, label in entries:
        folder = Path(rel.replace("\\", "/")).parent.name
        if folders.setdefault(label, folder) != folder or not folder:
            raise UserError(f"{file}:{line_no}: label {label} is used for videos in folders {folders[label]!r} and "
                            f"{folder!r}; write {default} (one class name per line, line i = label i)")
    if sorted(folders) != list(range(len(folders))):
        raise UserError(f"labels {sorted(folders)} do not count up from 0 without gaps, so class names cannot be "
                        f"read from the video folders; write {default} (one class name per line)")
    return [folders[i] for i in range(len(folders))]


READER = Reader(
    scan=lambda root, dataset: read_list(root, *(dataset[key] for key in SETTINGS), strict=False),
    inputs=list_inputs,
    settings=SETTINGS,
    check=lambda index, dataset, strict: raise_if_missing(index, MISSING_FIX) if strict else index,
)
