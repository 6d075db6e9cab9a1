"""File names and split lists of the UCF-101 layout, scaled down to a few groups.

UCF-101: `<Class>/v_<Class>_gXX_cYY.avi`; `ucfTrainTestlist/classInd.txt` ("1 ApplyEyeMakeup", 1-based),
`trainlist0N.txt` ("<Class>/<file> <label>"), `testlist0N.txt` ("<Class>/<file>"). Its 25 groups (an actor /
scene each) split three ways: split 1 tests groups 1-7, split 2 groups 8-14, split 3 groups 15-21, groups
22-25 are always training. Here the same idea: each split tests the next block of round(groups * 7/25) groups
(wrapping around when there are few groups), the rest train.
"""
from pathlib import Path

LIST_DIR = "ucfTrainTestlist"
SPLITS = (1, 2, 3)
_UCF_GROUPS, _UCF_TEST_GROUPS = 25, 7


def video_suffix(group: int, clip: int) -> str:
    """Alternate MPEG-4 Part 2 .avi (as UCF-101 ships) and H.264 .mp4, so every class has both formats."""
    return ".avi" if (group + clip) % 2 == 0 else ".mp4"


def video_path(class_name: str, group: int, clip: int) -> str:
    """Relative path of one video, e.g. "MovingLeft/v_MovingLeft_g03_c01.mp4" (group and clip are 1-based)."""
    return f"{class_name}/v_{class_name}_g{group:02d}_c{clip:02d}{video_suffix(group, clip)}"


def test_groups(split: int, groups: int) -> set[int]:
    """The 1-based groups held out as test in `split` (1, 2 or 3)."""
    assert split in SPLITS, f"UCF-101 has splits {SPLITS}, got {split}"
    assert groups >= 2, f"need at least 2 groups so every split has train and test groups, got {groups}"
    block = max(1, round(groups * _UCF_TEST_GROUPS / _UCF_GROUPS))
    start = (split - 1) * block
    return {(start + i) % groups + 1 for i in range(min(block, groups - 1))}


def write_split_lists(root: Path, class_names: list[str], groups: int, clips_per_group: int) -> list[str]:
    """Write classInd.txt and train/test lists of the three splits under `root`; returns their relative paths."""
    list_dir = Path(root) / LIST_DIR
    list_dir.mkdir(parents=True, exist_ok=True)
    written = [_write_lines(list_dir / "classInd.txt",
                            [f"{index} {name}" for index, name in enumerate(class_names, start=1)])]
    for split in SPLITS:
        held_out = test_groups(split, groups)
        train, test = [], []
        for label, name in enumerate(class_names, start=1):
            for group in range(1, groups + 1):
                for clip in range(1, clips_per_group + 1):
                    path = video_path(name, group, clip)
                    if group in held_out:
                        test.append(path)
                    else:
                        train.append(f"{path} {label}")
        written.append(_write_lines(list_dir / f"trainlist{split:02d}.txt", train))
        written.append(_write_lines(list_dir / f"testlist{split:02d}.txt", test))
    return [str(Path(path).relative_to(root)) for path in written]


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path
