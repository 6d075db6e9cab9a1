"""UCF-101 as its two archives unpack, wherever the user put them.

`UCF101.rar` unpacks to `UCF-101/<Class>/v_<Class>_gXX_cYY.avi`; `UCF101TrainTestSplits-RecognitionTask.zip`
to `ucfTrainTestlist/` (classInd.txt "1 ApplyEyeMakeup", trainlist0N.txt "<Class>/<file> <label>",
testlist0N.txt "<Class>/<file>", Windows line ends). Accepted, found by looking (dataset.root = R):
- R/UCF-101/<Class>/ beside R/ucfTrainTestlist/ (both archives unpacked into R),
- R/UCF-101/ucfTrainTestlist/ (the lists moved inside the video folder),
- R = the video folder (R/<Class>/) with R/ucfTrainTestlist/ inside it or ../ucfTrainTestlist/ beside it.
"""
import re
from pathlib import Path

from src.clip.data.readers import Reader
from src.clip.data.records import (
    DatasetIndex,
    MissingVideo,
    VideoRecord,
    check_label,
    locate_video,
    parse_path_label,
    raise_if_missing,
    read_lines,
    require_dir,
)
from src.core.errors import UserError

LIST_DIR = "ucfTrainTestlist"
VIDEO_DIRS = ("UCF-101", "UCF101")          # what UCF101.rar unpacks to (and a common respelling)
# UCF-101 names its clips v_<Class>_gXX_cYY: gXX is one group of clips (same actor, same scene) within a class.
_UCF_GROUP = re.compile(r"_(g\d+)_c\d+")
MISSING_FIX = "fix the path or remove the line (UCF-101 is complete: re-extract UCF101.rar)"


def read_ucf101(root: Path, split: int, strict: bool = True) -> DatasetIndex:
    """The official split `split` (1, 2, 3). strict: a listed video not on disk is an error (else noted)."""
    class_file, train_file, test_file = list_files(root, split)
    root, lists = Path(root), class_file.parent
    class_names = read_class_ind(class_file)
    videos = find_video_dir(root, lists, class_names[0])
    missing: list[MissingVideo] = []
    train = _train_records(videos, train_file, len(class_names), missing)
    test = _test_records(videos, test_file, class_names, missing)
    layout = f"ucf101 split {split}: videos in {videos}, lists in {lists}"
    index = DatasetIndex(train=train, test=test, class_names=class_names, val=None, layout=layout, missing=missing)
    return raise_if_missing(index, MISSING_FIX) if strict else index


def list_files(root: Path, split: int) -> list[Path]:
    """classInd.txt, trainlist0<split>.txt, testlist0<split>.txt: what a scan of `split` reads."""
    root = require_dir(root, "point dataset.root at the folder you unpacked UCF-101 into")
    check_split(split)
    lists = find_list_dir(root)
    return [lists / "classInd.txt", lists / f"trainlist0{split}.txt", lists / f"testlist0{split}.txt"]


def check_split(split: int) -> None:
    if split not in (1, 2, 3):
        raise UserError(f"dataset.split: {split!r} is not an official split; use 1, 2 or 3")


def find_list_dir(root: Path) -> Path:
    candidates = [root / LIST_DIR, *(root / name / LIST_DIR for name in VIDEO_DIRS), root.parent / LIST_DIR, root]
    for lists in candidates:
        if (lists / "classInd.txt").is_file():
            return lists
    looked = ", ".join(str(c) for c in candidates[:-1])
    raise UserError(f"{root}: no {LIST_DIR}/classInd.txt (looked in {looked}); unpack "
                    f"UCF101TrainTestSplits-RecognitionTask.zip into {root}")


def find_video_dir(root: Path, lists: Path, first_class: str) -> Path:
    """The folder holding the class folders: the first candidate that has the first class of classInd.txt."""
    candidates = [root, *(root / name for name in VIDEO_DIRS), lists.parent]
    for videos in candidates:
        if (videos / first_class).is_dir():
            return videos
    packed = [p for p in (root / "UCF101.rar", root.parent / "UCF101.rar") if p.is_file()]
    if packed:
        raise UserError(f"{packed[0]} is still packed; unpack it into {packed[0].parent} (e.g. `unrar x "
                        f"{packed[0].name}`), which gives UCF-101/<Class>/…")
    looked = ", ".join(dict.fromkeys(str(c) for c in candidates))
    raise UserError(f"{root}: no class folder {first_class}/ (looked in {looked}); unpack UCF101.rar into {root} "
                    "so that UCF-101/<Class>/v_<Class>_gXX_cYY.avi exists")


def read_class_ind(class_file: Path) -> list[str]:
    names: list[str] = []
    for line_no, text in read_lines(class_file):
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or int(parts[0]) != len(names) + 1:
            raise UserError(f"{class_file}:{line_no}: expected '{len(names) + 1} <ClassName>', got {text!r}; "
                            "fix the line (class indices count up from 1)")
        names.append(parts[1])
    if not names:
        raise UserError(f"{class_file}: no classes; re-extract UCF101TrainTestSplits-RecognitionTask.zip")
    return names


def _train_records(videos: Path, train_file: Path, num_classes: int,
                   missing: list[MissingVideo]) -> list[VideoRecord]:
    records = []
    for line_no, text in read_lines(train_file):
        rel, label = parse_path_label(train_file, line_no, text)
        check_label(train_file, line_no, label - 1, num_classes, first=1)
        path = locate_video(videos, rel, train_file, line_no, "train", missing)
        if path is not None:
            records.append(VideoRecord(path, label - 1, ucf_group(rel)))
    return records


def _test_records(videos: Path, test_file: Path, class_names: list[str],
                  missing: list[MissingVideo]) -> list[VideoRecord]:
    by_folder = {name: i for i, name in enumerate(class_names)}
    records = []
    for line_no, text in read_lines(test_file):
        rel = text.split()[0]      # "path" (some copies also carry the label: it is implied by the folder)
        folder = rel.replace("\\", "/").split("/")[0]
        if folder not in by_folder:
            raise UserError(f"{test_file}:{line_no}: class folder {folder!r} is not in classInd.txt; "
                            "fix or remove the line")
        path = locate_video(videos, rel, test_file, line_no, "test", missing)
        if path is not None:
            records.append(VideoRecord(path, by_folder[folder], ucf_group(rel)))
    return records


def ucf_group(rel: str) -> str | None:
    match = _UCF_GROUP.search(Path(rel).name)
    return match.group(1) if match else None


READER = Reader(
    scan=lambda root, dataset: read_ucf101(root, dataset["split"], strict=False),
    inputs=lambda root, dataset: list_files(root, dataset["split"]),
    settings=("split",),
    check=lambda index, dataset, strict: raise_if_missing(index, MISSING_FIX) if strict else index,
)
