"""HMDB-51 as its archives unpack.

`hmdb51_org.rar` holds one `<class>.rar` per class, each unpacking to `<class>/<video>.avi`;
`test_train_splits.rar` unpacks to `testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt` ("<video> <id>",
id 1 = train, 2 = test, 0 = unused). Accepted (dataset.root = R): the class folders in R or in R/hmdb51_org/,
the split folder in R or beside the class folders. A class still packed as `<class>.rar` is an error that says
to unpack it. File names keep their brackets, `&` and `!` (they are paths, never shell words).
"""
from pathlib import Path

from src.clip.data.readers import Reader
from src.clip.data.readers.ucf101 import check_split
from src.clip.data.records import (
    DatasetIndex,
    MissingVideo,
    VideoRecord,
    locate_video,
    raise_if_missing,
    read_lines,
)
from src.core.errors import UserError

SPLIT_DIR = "testTrainMulti_7030_splits"
ARCHIVE_DIR = "hmdb51_org"                  # where people unpack hmdb51_org.rar (one <class>.rar per class)
_IDS = {"1": "train", "2": "test"}          # 0: not used in this split
MISSING_FIX = "fix the split file or re-extract that class's .rar"


def read_hmdb51(root: Path, split: int, strict: bool = True) -> DatasetIndex:
    """The official split `split` (1, 2, 3). strict: a listed video not on disk is an error (else noted)."""
    root, split_files = Path(root), split_files_of(root, split)
    split_dir, suffix = split_files[0].parent, f"_test_split{split}.txt"
    class_names = [f.name[: -len(suffix)] for f in split_files]
    videos = _find_video_dir(root, class_names)
    train, test, missing = [], [], []
    for label, (name, split_file) in enumerate(zip(class_names, split_files)):
        for kind, record in _split_records(videos, name, label, split_file, missing):
            (train if kind == "train" else test).append(record)
    layout = f"hmdb51 split {split}: class folders in {videos}, split lists in {split_dir}"
    index = DatasetIndex(train=train, test=test, class_names=class_names, val=None, layout=layout, missing=missing)
    return raise_if_missing(index, MISSING_FIX) if strict else index


def split_files_of(root: Path, split: int) -> list[Path]:
    """The per-class split files of `split` (<class>_test_split<split>.txt), sorted: what a scan reads."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} does not exist or is not a folder; point dataset.root at the folder you "
                        "unpacked HMDB-51 into")
    check_split(split)
    split_dir = _find_split_dir(root)
    suffix = f"_test_split{split}.txt"
    split_files = sorted(split_dir.glob(f"*{suffix}"))
    if not split_files:
        raise UserError(f"{split_dir}: no *{suffix} files; re-extract test_train_splits.rar into {root}")
    return split_files


def _find_split_dir(root: Path) -> Path:
    candidates = [root / SPLIT_DIR, root / ARCHIVE_DIR / SPLIT_DIR, root.parent / SPLIT_DIR]
    for split_dir in candidates:
        if split_dir.is_dir():
            return split_dir
    if (root / "test_train_splits.rar").is_file():
        raise UserError(f"{root / 'test_train_splits.rar'} is still packed; unpack it into {root} "
                        f"(e.g. `unrar x test_train_splits.rar`), which gives {SPLIT_DIR}/")
    raise UserError(f"{root}: no {SPLIT_DIR}/ (looked in {', '.join(map(str, candidates))}); unpack "
                    f"test_train_splits.rar into {root}")


def _find_video_dir(root: Path, class_names: list[str]) -> Path:
    """The folder with the class folders (root or root/hmdb51_org); a class still packed as <class>.rar is an error."""
    candidates = [root, root / ARCHIVE_DIR]
    for videos in candidates:
        present = [name for name in class_names if (videos / name).is_dir()]
        packed = [name for name in class_names if (videos / f"{name}.rar").is_file() and name not in present]
        if packed:
            raise UserError(f"{videos / (packed[0] + '.rar')}: class {packed[0]!r} is still packed"
                            f"{f' ({len(packed)} classes are)' if len(packed) > 1 else ''}; unpack every "
                            f"<class>.rar in {videos} (e.g. `cd {videos} && for f in *.rar; do unrar x \"$f\"; done`)")
        if present:
            return videos
    if (root / f"{ARCHIVE_DIR}.rar").is_file():
        raise UserError(f"{root / (ARCHIVE_DIR + '.rar')} is still packed; unpack it into {root / ARCHIVE_DIR}, "
                        "then unpack each <class>.rar inside it")
    raise UserError(f"{root}: no class folders such as {class_names[0]}/ (looked in "
                    f"{', '.join(map(str, candidates))}); unpack hmdb51_org.rar and each <class>.rar in it")


def _split_records(videos: Path, name: str, label: int, split_file: Path, missing: list[MissingVideo]):
    """(train | test, record) for each line of one class's split file that is used in this split."""
    for line_no, text in read_lines(split_file):
        parts = text.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise UserError(f"{split_file}:{line_no}: expected '<video> <0|1|2>' (1 train, 2 test, 0 unused), "
                            f"got {text!r}; fix or remove the line")
        if parts[1] == "0":
            continue
        kind = _IDS[parts[1]]
        path = locate_video(videos, f"{name}/{parts[0]}", split_file, line_no, kind, missing)
        if path is None:
            continue
        # HMDB clips are named <source film>_<class>_<tags>: the film is the group (same actors and scene).
        group = parts[0].split(f"_{name}_")[0] if f"_{name}_" in parts[0] else None
        yield kind, VideoRecord(path, label, group)


READER = Reader(
    scan=lambda root, dataset: read_hmdb51(root, dataset["split"], strict=False),
    inputs=lambda root, dataset: split_files_of(root, dataset["split"]),
    settings=("split",),
    check=lambda index, dataset, strict: raise_if_missing(index, MISSING_FIX) if strict else index,
)
