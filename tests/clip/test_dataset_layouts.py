"""Real datasets as their archives unpack: each layout built by the synthetic generator (tiny real videos),
then indexed (and the UCF-101 archive layout trained end to end). The readers find the layout themselves."""
import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from src.clip.data.index import read_index
from src.clip.data.reader import VideoReader
from src.clip.data.readers.hmdb51 import read_hmdb51
from src.clip.data.readers.kinetics400 import read_kinetics400
from src.clip.data.readers.list_file import read_list
from src.clip.data.readers.ucf101 import read_ucf101
from src.core.errors import UserError
from src.synthetic import ucf_layout
from src.synthetic.action_clips import ACTION_CLASSES
from src.synthetic.datasets import make_action_dataset

TINY = {"seed": 0, "num_frames": 6, "width": 32, "height": 32}
GROUPS, CLIPS = 3, 1
NUM_CLASSES = len(ACTION_CLASSES)


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    """One generated set per archive layout (read-only: tests that rearrange work on a hard-linked copy)."""
    base = tmp_path_factory.mktemp("layouts")
    return {layout: make_action_dataset(base / layout, groups=GROUPS, clips_per_group=clips, layout=layout, **TINY)
            for layout, clips in (("ucf101", CLIPS), ("hmdb51", CLIPS), ("kinetics400", 2))}


def linked_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, copy_function=os.link)
    return target


# --------------------------------------------------------------------------------------------------- UCF-101
@pytest.mark.parametrize("split", [1, 2, 3])
def test_ucf101_archives_unpacked_side_by_side(archives, split):
    root = archives["ucf101"]
    assert (root / "UCF-101").is_dir() and (root / "ucfTrainTestlist").is_dir()
    assert b"\r\n" in (root / "ucfTrainTestlist" / "trainlist01.txt").read_bytes()        # CRLF as shipped
    assert all(len(line.split()) == 1 for line in (root / "ucfTrainTestlist" / f"testlist0{split}.txt")
               .read_text().splitlines())                                                 # no labels
    index = read_ucf101(root, split)
    held_out = {f"g{g:02d}" for g in ucf_layout.test_groups(split, GROUPS)}
    assert index.class_names == list(ACTION_CLASSES) and not index.missing
    assert {r.group for r in index.test} == held_out and not {r.group for r in index.train} & held_out
    assert len(index.train) + len(index.test) == NUM_CLASSES * GROUPS * CLIPS
    assert all(r.path.parent.parent == root / "UCF-101" for r in index.train + index.test)
    assert all(r.path.parent.name == ACTION_CLASSES[r.label] for r in index.train + index.test)
    assert "UCF-101" in index.layout


def test_ucf101_lists_inside_the_video_folder_and_root_at_the_video_folder(archives, tmp_path):
    root = linked_copy(archives["ucf101"], tmp_path / "ucf")
    beside = read_ucf101(root / "UCF-101", 1)                  # root = video folder, lists beside it
    assert len(beside.train) == len(read_ucf101(root, 1).train) and str(root / "ucfTrainTestlist") in beside.layout
    os.replace(root / "ucfTrainTestlist", root / "UCF-101" / "ucfTrainTestlist")
    for where in (root, root / "UCF-101"):                     # lists inside the video folder
        index = read_ucf101(where, 2)
        assert len(index.test) == NUM_CLASSES * len(ucf_layout.test_groups(2, GROUPS)) * CLIPS
        assert all(r.path.is_file() for r in index.train + index.test)


def test_ucf101_still_packed_or_missing_video_is_one_clear_error(archives, tmp_path):
    root = linked_copy(archives["ucf101"], tmp_path / "ucf")
    (root / "UCF-101" / ACTION_CLASSES[0] / sorted(os.listdir(root / "UCF-101" / ACTION_CLASSES[0]))[0]).unlink()
    with pytest.raises(UserError, match=r"testlist01\.txt:1: video .* does not exist; .*re-extract UCF101\.rar"):
        read_ucf101(root, 1)
    assert len(read_ucf101(root, 1, strict=False).missing) == 1
    shutil.rmtree(root / "UCF-101")
    (root / "UCF101.rar").write_bytes(b"Rar!")
    with pytest.raises(UserError, match=r"UCF101\.rar is still packed; unpack it into"):
        read_ucf101(root, 1)
    shutil.rmtree(root / "ucfTrainTestlist")
    with pytest.raises(UserError, match="no ucfTrainTestlist/classInd.txt .*unpack UCF101TrainTestSplits"):
        read_ucf101(root, 1)


def test_training_runs_on_the_ucf101_archive_layout(archives, cli, tiny_clip_run, tmp_path):
    result = cli(["dataset=ucf101", f"dataset.root={archives['ucf101']}", *tiny_clip_run, "trainer.max_epochs=1",
                  "run_id=archives", "dataset.val_fraction=0.5"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "models" / "video_coop" / "ucf101" / "archives"
    results = json.loads((run / "validation_results.json").read_text())
    assert results["class_names"][0] == "blue triangle still" and results["num_videos"] > 0


# --------------------------------------------------------------------------------------------------- HMDB-51
@pytest.mark.parametrize("split", [1, 2, 3])
def test_hmdb51_class_folders_under_hmdb51_org(archives, split):
    index = read_hmdb51(archives["hmdb51"], split)
    assert index.class_names == sorted(ACTION_CLASSES) and "hmdb51_org" in index.layout
    held_out = ucf_layout.test_groups(split, GROUPS)
    assert len(index.test) == NUM_CLASSES * len(held_out) and len(index.train) == NUM_CLASSES * (GROUPS - len(held_out))
    assert "Film01_[HD]_&_Co!" in {r.group for r in index.train + index.test}


def test_hmdb51_names_with_brackets_decode_and_flat_layout_reads(archives, tmp_path):
    odd = next(r for r in read_hmdb51(archives["hmdb51"], 1).test if "[HD]" in r.path.name)
    with VideoReader(odd.path) as video:
        assert video.num_frames == TINY["num_frames"]
    root = linked_copy(archives["hmdb51"], tmp_path / "hmdb")
    for name in ACTION_CLASSES:                                   # class folders directly in the root
        os.replace(root / "hmdb51_org" / name, root / name)
    assert len(read_hmdb51(root, 1).train) == len(read_hmdb51(archives["hmdb51"], 1).train)


def test_hmdb51_class_still_packed_says_to_unpack_it(archives, tmp_path):
    root = linked_copy(archives["hmdb51"], tmp_path / "hmdb")
    shutil.rmtree(root / "hmdb51_org" / "Growing")
    (root / "hmdb51_org" / "Growing.rar").write_bytes(b"Rar!")
    with pytest.raises(UserError, match=r"Growing\.rar: class 'Growing' is still packed; unpack every <class>\.rar"):
        read_hmdb51(root, 1)


# ---------------------------------------------------------------------------------------------- Kinetics-400
def test_kinetics400_test_folder_is_the_test_split_and_validate_csv_is_read(archives, tmp_path):
    root = archives["kinetics400"]
    assert (root / "annotations" / "validate.csv").is_file()
    index = read_kinetics400(root, max_missing_fraction=0.1)
    assert {r.path.parent.parent.name for r in index.test} == {"test"}
    assert {r.path.parent.parent.name for r in index.val} == {"val"}
    assert Counter(r.label for r in index.train) == {c: 2 for c in range(NUM_CLASSES)}
    copy = linked_copy(root, tmp_path / "k400")
    shutil.rmtree(copy / "test")
    no_test = read_kinetics400(copy, max_missing_fraction=0.1)
    assert no_test.test == no_test.val and "val (no test split on disk)" in no_test.layout


def _drop_train_videos(root: Path, count: int) -> None:
    for path in sorted((root / "train").rglob("*.*"))[:count]:
        path.unlink()


def test_kinetics400_missing_below_threshold_is_skipped_and_counted(archives, tmp_path, caplog):
    root = linked_copy(archives["kinetics400"], tmp_path / "k400")
    _drop_train_videos(root, 1)                                   # 1 of 14 = 7% <= 10%
    with caplog.at_level(logging.WARNING):
        index = read_index({"root": str(root), "format": "kinetics400", "max_missing_fraction": 0.1, "get_it": ""})
    assert len(index.train) == 13 and [m.split for m in index.missing] == ["train"]
    assert index.missing[0].where.startswith(f"{root / 'annotations' / 'train.csv'}:")
    assert "1 of 14 listed train clips are not on disk" in caplog.text


def test_kinetics400_missing_above_threshold_is_one_error_line_exit_2(archives, cli, tiny_clip_run, tmp_path):
    root = linked_copy(archives["kinetics400"], tmp_path / "k400")
    _drop_train_videos(root, 2)                                   # 2 of 14 = 14% > 10%
    result = cli(["dataset=kinetics400", f"dataset.root={root}", *tiny_clip_run], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "2 of 14 listed train clips" in lines[0]
    assert "dataset.max_missing_fraction=0.1" in lines[0] and not (tmp_path / "models").exists()


# ------------------------------------------------------------------------------------------------ list files
def test_list_files_with_absolute_paths_and_no_classes_txt(archives, tmp_path):
    videos = archives["ucf101"] / "UCF-101"
    rows = [(videos / name / f, label) for label, name in enumerate(ACTION_CLASSES)
            for f in sorted(os.listdir(videos / name))]
    (tmp_path / "train.txt").write_text("".join(f"{path} {label}\n" for path, label in rows[::2]))
    (tmp_path / "val.txt").write_text("".join(f"{path} {label}\n" for path, label in rows[1::2]))
    index = read_list(tmp_path, str(tmp_path / "train.txt"), str(tmp_path / "val.txt"), None, None)
    assert index.class_names == list(ACTION_CLASSES) and "from the video folders" in index.layout
    assert [r.path for r in index.train] == [p for p, _ in rows[::2]]
    (tmp_path / "train.txt").write_text("".join(f"{path} {ACTION_CLASSES[label]}\n" for path, label in rows))
    by_name = read_list(tmp_path, str(tmp_path / "train.txt"), None, None, None)
    assert by_name.class_names == sorted(ACTION_CLASSES) and by_name.val is None
    (tmp_path / "classes.txt").write_text("".join(f"{n}\n" for n in reversed(ACTION_CLASSES)))
    with_file = read_list(tmp_path, str(tmp_path / "train.txt"), None, None, None)   # <root>/classes.txt found
    assert with_file.class_names == list(reversed(ACTION_CLASSES))
    assert [with_file.class_names[r.label] for r in with_file.train] == [ACTION_CLASSES[lb] for _, lb in rows]


def test_generator_rejects_an_unknown_layout_and_too_few_kinetics_groups(tmp_path):
    with pytest.raises(UserError, match="layout: must be one of flat, ucf101, hmdb51, kinetics400"):
        make_action_dataset(tmp_path / "x", groups=3, clips_per_group=1, layout="ucf-101", **TINY)
    with pytest.raises(UserError, match="groups: must be >= 3 for the kinetics400 layout"):
        make_action_dataset(tmp_path / "x", groups=2, clips_per_group=1, layout="kinetics400", **TINY)
    assert not (tmp_path / "x").exists()
