"""Dataset layouts as their archives unpack, with empty placeholder videos (the readers never decode): the
builders the reader and index-cache tests share."""
from pathlib import Path

UCF_CLASSES = ["ApplyEyeMakeup", "YoYo", "PlayingTV"]


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def write(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + newline for line in lines))
    return path


def make_ucf(root: Path, groups: int = 4, clips: int = 2) -> Path:
    """Groups 1..groups-1 train, the last group tests; Windows line ends as in the real lists."""
    train, test = [], []
    for label, name in enumerate(UCF_CLASSES, start=1):
        for g in range(1, groups + 1):
            for c in range(1, clips + 1):
                rel = f"{name}/v_{name}_g{g:02d}_c{c:02d}.avi"
                touch(root / rel)
                (test.append(rel) if g == groups else train.append(f"{rel} {label}"))
    lists = root / "ucfTrainTestlist"
    write(lists / "classInd.txt", [f"{i} {n}" for i, n in enumerate(UCF_CLASSES, start=1)], newline="\r\n")
    write(lists / "trainlist01.txt", train, newline="\r\n")
    write(lists / "testlist01.txt", test, newline="\r\n")
    return root


def make_hmdb(root: Path) -> Path:
    splits = root / "testTrainMulti_7030_splits"
    for name in ("brush_hair", "sword_exercise"):
        lines = []
        for film, split_id in (("April_09", 1), ("Blade_1", 1), ("Veoh_Alpha", 2), ("Other", 0)):
            video = f"{film}_{name}_u_nm_np1_ba_goo_0.avi"
            touch(root / name / video)
            lines.append(f"{video} {split_id} ")                                  # trailing space as in HMDB
        write(splits / f"{name}_test_split1.txt", lines)
    return root


def make_kinetics(root: Path) -> Path:
    """Label folders and the flat layout, one listed train clip not on disk, no test split (val doubles)."""
    touch(root / "train" / "air_drumming" / "aaa_000010_000020.mp4")
    touch(root / "train" / "abseiling" / "bbb_000000_000010.mp4")
    touch(root / "train" / "ccc_000005_000015.mp4")
    touch(root / "val" / "abseiling" / "ddd_000001_000011.mp4")
    write(root / "annotations" / "train.csv", [
        "label,youtube_id,time_start,time_end,split", "air drumming,aaa,10,20,train", "abseiling,bbb,0,10,train",
        "abseiling,ccc,5,15,train", "abseiling,gone,0,10,train"])
    write(root / "annotations" / "val.csv", ["label,youtube_id,time_start,time_end,split", "abseiling,ddd,1,11,val"])
    return root


def make_list(root: Path) -> Path:
    for name in ("a/x 1.mp4", "b/y.mp4", "b/z.mp4"):
        touch(root / name)
    write(root / "classes.txt", ["cutting_wood", "JumpingJack"])
    write(root / "train.txt", ["a/x 1.mp4 0", "b/y.mp4 1"])
    write(root / "val.txt", ["b/z.mp4 1"])
    return root
