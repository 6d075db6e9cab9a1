"""Dataset readers: which videos exist, their labels and groups, per split (UCF-101, HMDB-51, list files).

Kinetics-400 lives in `kinetics.py`; `read_index(cfg.dataset)` picks the reader by `dataset.format`.
Paths are checked here, once, so a typo in a list file is one clear error before training starts.
"""
import logging
import re
from pathlib import Path

from src.clip.data.kinetics import read_kinetics400
from src.clip.data.records import (
    LIST_HINT,
    DatasetIndex,
    VideoRecord,
    check_label,
    parse_path_label,
    read_lines,
    require_dir,
    video_path,
)
from src.core.errors import UserError

log = logging.getLogger(__name__)

# UCF-101 names its clips v_<Class>_gXX_cYY: gXX is one group of clips (same actor, same scene) within a class.
_UCF_GROUP = re.compile(r"_(g\d+)_c\d+")


def read_index(dataset: dict) -> DatasetIndex:
    """The index of the dataset described by the resolved `cfg.dataset` section."""
    root = Path(dataset["root"])
    if not root.is_dir():
        raise UserError(f"dataset root {root} does not exist; {dataset['get_it']}")
    fmt = dataset["format"]
    if fmt == "ucf101":
        return read_ucf101(root, dataset["split"])
    if fmt == "hmdb51":
        return read_hmdb51(root, dataset["split"])
    if fmt == "kinetics400":
        return read_kinetics400(root)
    if fmt == "list":
        return read_list(root, dataset["train_list"], dataset["val_list"], dataset["test_list"],
                         dataset["class_names_file"])
    raise UserError(f"dataset.format: unknown format {fmt!r}; use one of ucf101, hmdb51, kinetics400, list")


def read_ucf101(root: Path, split: int) -> DatasetIndex:
    """<root>/<Class>/v_<Class>_gXX_cYY.avi + <root>/ucfTrainTestlist/{classInd,trainlist0N,testlist0N}.txt."""
    root = require_dir(root, "point dataset.root at the unpacked UCF-101 folder")
    _check_split(split)
    lists = root / "ucfTrainTestlist"
    class_file = lists / "classInd.txt"
    class_names = []
    for line_no, text in read_lines(class_file):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != len(class_names) + 1:
            raise UserError(f"{class_file}:{line_no}: expected '{len(class_names) + 1} <ClassName>', got {text!r}; "
                            "fix the line (class indices count up from 1)")
        class_names.append(parts[1])
    by_folder = {name: i for i, name in enumerate(class_names)}

    train_file = lists / f"trainlist0{split}.txt"
    train = []
    for line_no, text in read_lines(train_file):
        rel, label = parse_path_label(train_file, line_no, text)
        check_label(train_file, line_no, label - 1, len(class_names), first=1)
        train.append(VideoRecord(video_path(root, rel, train_file, line_no), label - 1, _ucf_group(rel)))

    test_file = lists / f"testlist0{split}.txt"
    test = []
    for line_no, text in read_lines(test_file):
        rel = text.split()[0]      # "path" (some copies also carry the label: it is implied by the folder)
        folder = rel.replace("\\", "/").split("/")[0]
        if folder not in by_folder:
            raise UserError(f"{test_file}:{line_no}: class folder {folder!r} is not in {class_file.name}; "
                            "fix or remove the line")
        test.append(VideoRecord(video_path(root, rel, test_file, line_no), by_folder[folder], _ucf_group(rel)))
    return DatasetIndex(train=train, test=test, class_names=class_names, val=None)


def read_hmdb51(root: Path, split: int) -> DatasetIndex:
    """<root>/<class>/<video>.avi + <root>/testTrainMulti_7030_splits/<class>_test_split{N}.txt (1 train, 2 test)."""
    root = require_dir(root, "point dataset.root at the unpacked HMDB-51 folder")
    _check_split(split)
    split_dir = require_dir(root / "testTrainMulti_7030_splits",
                            "unpack test_train_splits.rar into the dataset root")
    suffix = f"_test_split{split}.txt"
    split_files = sorted(split_dir.glob(f"*{suffix}"))
    if not split_files:
        raise UserError(f"{split_dir}: no *{suffix} files; unpack test_train_splits.rar into the dataset root")
    class_names = [f.name[: -len(suffix)] for f in split_files]
    train, test = [], []
    for label, (name, split_file) in enumerate(zip(class_names, split_files)):
        for line_no, text in read_lines(split_file):
            parts = text.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise UserError(f"{split_file}:{line_no}: expected '<video> <0|1|2>' (1 train, 2 test, 0 unused), "
                                f"got {text!r}; fix or remove the line")
            if parts[1] == "0":
                continue
            path = video_path(root, f"{name}/{parts[0]}", split_file, line_no)
            # HMDB clips are named <source film>_<class>_<tags>: the film is the group (same actors and scene).
            group = parts[0].split(f"_{name}_")[0] if f"_{name}_" in parts[0] else None
            (train if parts[1] == "1" else test).append(VideoRecord(path, label, group))
    return DatasetIndex(train=train, test=test, class_names=class_names, val=None)


def read_list(root: Path, train_list: str, val_list: str | None, test_list: str | None,
              class_names_file: str) -> DatasetIndex:
    """Any folder of videos: list files of '<relative path> <label index>' (0-based) + one class name per line."""
    root = require_dir(root, "point dataset.root at the folder the list files' paths are relative to")
    names_path = _require_file(class_names_file, "dataset.class_names_file", "write one class name per line")
    class_names = [text for _, text in read_lines(names_path)]
    if not class_names:
        raise UserError(f"{names_path}: no class names; write one class name per line (line i = label i)")

    def records(list_file: str | None, key: str, fix: str) -> list[VideoRecord]:
        if list_file is None:
            return []
        path = _require_file(list_file, key, fix)
        out = []
        for line_no, text in read_lines(path):
            rel, label = parse_path_label(path, line_no, text)
            check_label(path, line_no, label, len(class_names), first=0)
            out.append(VideoRecord(video_path(root, rel, path, line_no), label, _ucf_group(rel)))
        return out

    write_it = f"write it ({LIST_HINT} per line)"
    train = records(train_list, "dataset.train_list", write_it)
    val = records(val_list, "dataset.val_list",
                  f"{write_it} or set dataset.val_list=null to hold out dataset.val_fraction of the train list")
    test = records(test_list, "dataset.test_list", f"{write_it} or set dataset.test_list=null")
    return DatasetIndex(train=train, test=test, class_names=class_names, val=val if val_list is not None else None)


def _require_file(path: str, key: str, fix: str) -> Path:
    if not Path(path).is_file():
        raise UserError(f"{key}: {path} does not exist; {fix}")
    return Path(path)


def _check_split(split: int) -> None:
    if split not in (1, 2, 3):
        raise UserError(f"dataset.split: {split!r} is not an official split; use 1, 2 or 3")


def _ucf_group(rel: str) -> str | None:
    match = _UCF_GROUP.search(Path(rel).name)
    return match.group(1) if match else None
