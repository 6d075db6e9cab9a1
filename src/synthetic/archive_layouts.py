"""Rearrange a freshly generated synthetic action set (UCF-101 layout, flat) into the layouts real archives unpack to.

    flat         <root>/<Class>/v_<Class>_gXX_cYY.{avi,mp4} + <root>/ucfTrainTestlist/ (the default; LF lists)
    ucf101       <root>/UCF-101/<Class>/… + <root>/ucfTrainTestlist/ with Windows line ends (UCF101.rar and
                 UCF101TrainTestSplits-RecognitionTask.zip unpacked into the root)
    hmdb51       <root>/hmdb51_org/<Class>/<film>_<Class>_u_nm_np1_fr_goo_<clip>.<ext> (film names with brackets,
                 `&` and `!` as HMDB has) + <root>/testTrainMulti_7030_splits/<Class>_test_split{1,2,3}.txt
    kinetics400  <root>/{train,val,test}/<Class>/<youtube_id>_<start:06d>_<end:06d>.<ext> +
                 <root>/annotations/{train,validate,test}.csv (group 1 = val, group 2 = test, the rest train)
    kinetics600  as CVDF's Kinetics-600: <root>/{train,val,test}/<youtube_id>_<start:06d>_<end:06d>.<ext> (flat) +
                 <root>/annotations/{train,validate}.csv and a test.csv without the label column
    ssv2         <root>/20bn-something-something-v2/<id>.webm (VP9) + <root>/labels/{labels,train,validation,test}.json
                 (src/synthetic/ssv2_layout.py; group 1 = validation, group 2 = test.json, the rest train)

Used by make_action_dataset(layout=…) on its temp folder, before the folder is moved into place.
"""
import csv
import os
import shutil
from pathlib import Path

from src.synthetic import ssv2_layout, ucf_layout

LAYOUTS = ("flat", "ucf101", "hmdb51", "kinetics400", "kinetics600", "ssv2")
# Layouts that hold group 1 out as validation and group 2 as test: they need a third group to train on.
THREE_GROUP_LAYOUTS = ("kinetics400", "kinetics600", "ssv2")
UCF_VIDEO_DIR = "UCF-101"
HMDB_VIDEO_DIR, HMDB_SPLIT_DIR = "hmdb51_org", "testTrainMulti_7030_splits"
KINETICS_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


def arrange(tmp: Path, layout: str, class_names: list[str], groups: int, clips_per_group: int) -> list[str]:
    """Move the flat set in `tmp` into `layout`; returns every file's path relative to `tmp`."""
    assert layout in LAYOUTS, f"layout must be one of {LAYOUTS}, got {layout!r}"
    if layout == "ucf101":
        _to_ucf101(tmp, class_names)
    elif layout == "hmdb51":
        _to_hmdb51(tmp, class_names, groups, clips_per_group)
    elif layout in THREE_GROUP_LAYOUTS:
        assert groups >= 3, f"the {layout} layout needs >= 3 groups (val, test, train), got {groups}"
        if layout == "ssv2":
            ssv2_layout.arrange(tmp, class_names, groups, clips_per_group)
        else:
            _to_kinetics(tmp, class_names, groups, clips_per_group, by_label=layout == "kinetics400")
    return sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())


def video_path(layout: str, class_name: str, group: int, clip: int) -> str:
    """Where make_action_dataset encodes a clip before `arrange` moves it: UCF-101's path (.webm for ssv2)."""
    if layout == "ssv2":
        return ssv2_layout.flat_video_path(class_name, group, clip)
    return ucf_layout.video_path(class_name, group, clip)


def _to_ucf101(tmp: Path, class_names: list[str]) -> None:
    (tmp / UCF_VIDEO_DIR).mkdir()
    for name in class_names:
        os.replace(tmp / name, tmp / UCF_VIDEO_DIR / name)
    for list_file in (tmp / ucf_layout.LIST_DIR).iterdir():      # the real lists have Windows line ends
        list_file.write_bytes(list_file.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def hmdb_video_name(class_name: str, group: int, clip: int) -> str:
    film = f"Film{group:02d}" + ("_[HD]_&_Co!" if group == 1 else "")   # the characters real HMDB names carry
    suffix = ucf_layout.video_suffix(group, clip)
    return f"{film}_{class_name}_u_nm_np1_fr_goo_{clip - 1}{suffix}"


def _to_hmdb51(tmp: Path, class_names: list[str], groups: int, clips_per_group: int) -> None:
    videos, splits = tmp / HMDB_VIDEO_DIR, tmp / HMDB_SPLIT_DIR
    splits.mkdir()
    for name in class_names:
        (videos / name).mkdir(parents=True)
        for group in range(1, groups + 1):
            for clip in range(1, clips_per_group + 1):
                os.replace(tmp / ucf_layout.video_path(name, group, clip), videos / name /
                           hmdb_video_name(name, group, clip))
        (tmp / name).rmdir()
        for split in ucf_layout.SPLITS:
            held_out = ucf_layout.test_groups(split, groups)
            lines = [f"{hmdb_video_name(name, group, clip)} {2 if group in held_out else 1} \n"   # trailing space
                     for group in range(1, groups + 1) for clip in range(1, clips_per_group + 1)]
            (splits / f"{name}_test_split{split}.txt").write_text("".join(lines))
    shutil.rmtree(tmp / ucf_layout.LIST_DIR)


def _to_kinetics(tmp: Path, class_names: list[str], groups: int, clips_per_group: int, by_label: bool) -> None:
    """by_label: Kinetics-400 as label folders with a labelled test.csv; else CVDF's flat Kinetics-600, whose
    test.csv has no label column."""
    rows: dict[str, list[dict]] = {"train": [], "val": [], "test": []}
    for label, name in enumerate(class_names):
        for group in range(1, groups + 1):
            split = {1: "val", 2: "test"}.get(group, "train")
            for clip in range(1, clips_per_group + 1):
                youtube_id, start = f"yt{label:03d}g{group:02d}c{clip:02d}", 10 * clip   # 11 characters, unique
                source = tmp / ucf_layout.video_path(name, group, clip)
                folder = tmp / split / name if by_label else tmp / split
                target = folder / f"{youtube_id}_{start:06d}_{start + 10:06d}{source.suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
                rows[split].append({"label": name, "youtube_id": youtube_id, "time_start": start,
                                    "time_end": start + 10, "split": split})
        (tmp / name).rmdir()
    shutil.rmtree(tmp / ucf_layout.LIST_DIR)
    (tmp / "annotations").mkdir()
    for split, csv_name in (("train", "train"), ("val", "validate"), ("test", "test")):
        with open(tmp / "annotations" / f"{csv_name}.csv", "w", newline="") as handle:
            columns = KINETICS_COLUMNS if by_label or split != "test" else KINETICS_COLUMNS[1:]
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows[split])
