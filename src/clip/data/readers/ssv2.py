"""Something-Something v2 as its download unpacks (https://www.qualcomm.com/developer/software/something-something-v-2-dataset).

    <root>/20bn-something-something-v2/<id>.webm   the video archive (cat 20bn-something-something-v2-?? | tar zx);
                                                   or the videos directly in <root>
    <root>/labels/labels.json       {"Approaching something with your camera": "0", …}: the 174 classes, index = value
    <root>/labels/train.json        [{"id": "78687", "label": "holding potato next to vicks vaporub bottle",
    <root>/labels/validation.json     "template": "Holding [something] next to [something]", "placeholders": […]}, …]
    <root>/labels/test.json         [{"id": "1420"}, …]: no labels, so it is not read

The annotation files may also sit in <root> itself, and under the 20BN-era names something-something-v2-labels.json,
-train.json, -validation.json. A video's class is its template with the brackets removed, looked up in labels.json
(as TSM's gen_label_sthv2.py and mmaction2 do); the "label" field (the template filled in with the objects) is not
the class. Splits: train.json trains; validation.json is val and doubles as test (the test set's labels are not in
test.json). SSv2 has no group (actor) information: every video is its own group. A listed video missing from the
download is counted as for Kinetics (src/clip/data/readers/missing_share.py: dataset.max_missing_fraction).
"""
import json
import logging
import os
from pathlib import Path

from src.clip.data.readers import Reader
from src.clip.data.readers.missing_share import check_missing_share
from src.clip.data.records import DatasetIndex, MissingVideo, VideoRecord, require_dir
from src.core.errors import UserError

log = logging.getLogger(__name__)

VIDEO_DIR = "20bn-something-something-v2"
LABEL_DIR = "labels"
# Each annotation file's name in the current (Qualcomm) package, then in the original 20BN one.
FILE_NAMES = {"labels": ("labels.json", "something-something-v2-labels.json"),
              "train": ("train.json", "something-something-v2-train.json"),
              "val": ("validation.json", "something-something-v2-validation.json")}
VIDEO_EXTENSIONS = {".webm", ".mp4", ".mkv", ".avi"}      # .webm as shipped; re-encoded copies keep the id as name
_FIX = "re-download the labels archive (20bn-something-something-download-package-labels.zip) and unpack it"


def read_ssv2(root: Path, max_missing_fraction: float, strict: bool = True) -> DatasetIndex:
    """train / val (= test). strict: more than max_missing_fraction of a split missing is an error."""
    return check_ssv2(scan_ssv2(root), Path(root), max_missing_fraction, strict)


def scan_ssv2(root: Path) -> DatasetIndex:
    """Every listed video on disk, labelled by its template; the listed ones not on disk in `missing`."""
    labels_file, train_file, val_file = annotation_files(root)
    class_names = read_labels(labels_file)
    videos = Path(root) / VIDEO_DIR if (Path(root) / VIDEO_DIR).is_dir() else Path(root)
    on_disk = _videos_by_id(videos)
    class_index = {name: i for i, name in enumerate(class_names)}
    missing: list[MissingVideo] = []
    train = _split_records(train_file, "train", class_index, on_disk, videos, missing)
    val = _split_records(val_file, "val", class_index, on_disk, videos, missing)
    layout = (f"ssv2: {len(class_names)} classes from {labels_file}, videos in {videos}; test = validation "
              "(test.json has no labels)")
    return DatasetIndex(train=train, test=val, class_names=class_names, val=val, layout=layout, missing=missing)


def check_ssv2(index: DatasetIndex, root: Path, max_fraction: float, strict: bool) -> DatasetIndex:
    """Missing videos counted per split (strict: above max_fraction is an error); an empty split is an error."""
    check_missing_share(index, max_fraction, strict)
    for split, records in (("train", index.train), ("val", index.val)):
        if not records:
            raise UserError(f"{root}: no {split} videos listed; {FILE_NAMES[split][0]} is empty ({_FIX})")
    log.info("%s; %d train, %d val videos", index.layout, len(index.train), len(index.val))
    return index


def annotation_files(root: Path) -> list[Path]:
    """labels.json, train.json, validation.json: what a scan reads (each looked for in <root>/labels/, then <root>)."""
    root = require_dir(root, "point dataset.root at the folder holding 20bn-something-something-v2/ and labels/")
    return [_find(root, kind) for kind in ("labels", "train", "val")]


def _find(root: Path, kind: str) -> Path:
    candidates = [folder / name for name in FILE_NAMES[kind] for folder in (root / LABEL_DIR, root)]
    for path in candidates:
        if path.is_file():
            return path
    raise UserError(f"{candidates[0]}: not found (nor {FILE_NAMES[kind][1]}, nor in {root}); {_FIX} into {root}")


def _load(path: Path, kind: type):
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: not readable as JSON ({err}); {_FIX}") from None
    if not isinstance(data, kind):
        raise UserError(f"{path}: expected a JSON {'object' if kind is dict else 'list'}, got "
                        f"{type(data).__name__}; {_FIX}")
    return data


def read_labels(path: Path) -> list[str]:
    """labels.json -> class names in index order; the indices must be 0..N-1, each once."""
    by_index: dict[int, str] = {}
    for name, value in _load(path, dict).items():
        index = int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None
        if index is None or index in by_index:
            problem = "is not a class index" if index is None else f"repeats the index of {by_index[index]!r}"
            raise UserError(f"{path}: {name!r}: {value!r} {problem}; fix the entry ({_FIX})")
        by_index[index] = name
    if sorted(by_index) != list(range(len(by_index))):
        gap = next(i for i in range(len(by_index) + 1) if i not in by_index)
        raise UserError(f"{path}: no class has index {gap} (the indices must count up from 0); {_FIX}")
    return [by_index[i] for i in range(len(by_index))]


def class_of(template: str) -> str:
    """"Putting [something] onto [something]" -> "Putting something onto something" (the labels.json key)."""
    return template.replace("[", "").replace("]", "")


def _split_records(file: Path, split: str, class_index: dict[str, int], on_disk: dict[str, Path], videos: Path,
                   missing: list[MissingVideo]) -> list[VideoRecord]:
    records = []
    for row_no, row in enumerate(_load(file, list), start=1):
        where = f"{file}: row {row_no}" + (f" (id {row.get('id')!r})" if isinstance(row, dict) else "")
        if not isinstance(row, dict) or not isinstance(row.get("id"), (str, int)):
            raise UserError(f"{where}: no video id; each row needs \"id\" and \"template\" — fix or remove the row")
        if not isinstance(row.get("template"), str):
            raise UserError(f"{where}: no \"template\" (the class, e.g. \"Holding [something]\"); fix or remove "
                            "the row")
        name = class_of(row["template"])
        if name not in class_index:
            raise UserError(f"{where}: template {row['template']!r} gives class {name!r}, which labels.json does "
                            "not list; fix or remove the row")
        video_id = str(row["id"])
        path = on_disk.get(video_id)
        if path is None:
            missing.append(MissingVideo(videos / f"{video_id}.webm", f"{file}:{row_no}", split))
            continue
        records.append(VideoRecord(path, class_index[name], None))
    return records


def _videos_by_id(folder: Path) -> dict[str, Path]:
    """Every video in `folder` keyed by its name without extension (one scan of 220,847 entries, not a stat each)."""
    with os.scandir(folder) as entries:
        return {os.path.splitext(e.name)[0]: Path(e.path) for e in entries
                if os.path.splitext(e.name)[1].lower() in VIDEO_EXTENSIONS and e.is_file()}


# max_missing_fraction is not a setting of the scan: the check applies it to the scanned or cached index alike.
READER = Reader(
    scan=lambda root, dataset: scan_ssv2(root),
    inputs=lambda root, dataset: annotation_files(root),
    settings=(),
    check=lambda index, dataset, strict: check_ssv2(index, Path(dataset["root"]), dataset["max_missing_fraction"],
                                                    strict),
)
