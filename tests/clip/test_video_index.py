"""Dataset readers (UCF-101, HMDB-51, Kinetics-400, list files), class-name prompts and few-shot subsets.

The readers never decode, so the videos here are empty files; what matters is paths, labels, groups and the
one-line errors that name the file and line.
"""
import logging
from collections import Counter
from pathlib import Path

import pytest

from src.clip.data.class_names import prompt_name, prompt_names
from src.clip.data.few_shot import group_holdout, k_per_class
from src.clip.data.index import (
    VideoRecord,
    read_hmdb51,
    read_index,
    read_kinetics400,
    read_list,
    read_ucf101,
)
from src.core.errors import UserError
from tests.clip.index_layouts import UCF_CLASSES, make_hmdb, make_ucf, touch, write


# ----------------------------------------------------------------------------------------------- class names
@pytest.mark.parametrize("raw, text", [
    ("ApplyEyeMakeup", "apply eye makeup"), ("YoYo", "yo yo"), ("brush_hair", "brush hair"),
    ("hand-stand", "hand stand"), ("PlayingTV", "playing tv"), ("TVShowHost", "tv show host"),
    ("HandstandPushups", "handstand pushups"), ("air drumming", "air drumming"),
    ("tying knot (not on a tie)", "tying knot (not on a tie)"), ("Jump2Rope", "jump 2 rope"),
])
def test_prompt_name(raw, text):
    assert prompt_name(raw) == text


def test_prompt_names_rejects_classes_that_collapse_to_one_text():
    with pytest.raises(UserError, match="BrushHair"):
        prompt_names(["brush_hair", "BrushHair"])


# --------------------------------------------------------------------------------------------------- UCF-101
def test_ucf101_reads_labels_groups_and_paths(tmp_path):
    index = read_ucf101(make_ucf(tmp_path), split=1)
    assert index.class_names == UCF_CLASSES
    assert len(index.train) == 3 * 3 * 2 and len(index.test) == 3 * 1 * 2 and index.val is None
    first = index.train[0]
    assert first == VideoRecord(tmp_path / "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi", 0, "g01")
    assert {r.group for r in index.test} == {"g04"}
    assert Counter(r.label for r in index.test) == {0: 2, 1: 2, 2: 2}          # label from the folder
    assert all(r.path.name.startswith(f"v_{UCF_CLASSES[r.label]}_") for r in index.train)


def test_ucf101_malformed_line_names_file_and_line(tmp_path):
    root = make_ucf(tmp_path)
    lists = root / "ucfTrainTestlist"
    lines = (lists / "trainlist01.txt").read_text().splitlines()
    lines[2] = "ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi one"
    write(lists / "trainlist01.txt", lines)
    with pytest.raises(UserError, match=r"trainlist01\.txt:3: expected '<relative path> <label index>'"):
        read_ucf101(root, 1)


def test_ucf101_label_out_of_range_and_missing_video_are_reported_with_line(tmp_path):
    root = make_ucf(tmp_path)
    train_list = root / "ucfTrainTestlist" / "trainlist01.txt"
    lines = train_list.read_text().splitlines()
    write(train_list, lines[:4] + ["YoYo/v_YoYo_g01_c01.avi 4"] + lines[4:])
    with pytest.raises(UserError, match=r"trainlist01\.txt:5: label 4 is outside 1\.\.3"):
        read_ucf101(root, 1)
    write(train_list, lines[:1] + ["YoYo/v_YoYo_g09_c01.avi 2"])
    with pytest.raises(UserError, match=r"trainlist01\.txt:2: video .*v_YoYo_g09_c01\.avi does not exist"):
        read_ucf101(root, 1)


def test_ucf101_unknown_test_folder_and_bad_split(tmp_path):
    root = make_ucf(tmp_path)
    write(root / "ucfTrainTestlist" / "testlist01.txt", ["Surfing/v_Surfing_g01_c01.avi"])
    with pytest.raises(UserError, match=r"testlist01\.txt:1: class folder 'Surfing'"):
        read_ucf101(root, 1)
    with pytest.raises(UserError, match="dataset.split"):
        read_ucf101(root, 4)


def test_read_index_missing_root_says_how_to_get_it(tmp_path):
    missing = tmp_path / "UCF-101"
    with pytest.raises(UserError) as error:
        read_index({"root": str(missing), "format": "ucf101", "split": 1, "get_it": "download it from X"})
    assert str(error.value) == f"dataset root {missing} does not exist; download it from X"
    with pytest.raises(UserError, match="dataset.format"):
        read_index({"root": str(tmp_path), "format": "ucf-101", "get_it": ""})


# --------------------------------------------------------------------------------------------------- HMDB-51
def test_hmdb51_reads_train_test_and_groups(tmp_path):
    index = read_hmdb51(make_hmdb(tmp_path), split=1)
    assert index.class_names == ["brush_hair", "sword_exercise"]
    assert len(index.train) == 4 and len(index.test) == 2                          # id 0 is unused
    assert {r.group for r in index.train} == {"April_09", "Blade_1"}
    assert {(r.label, r.group) for r in index.test} == {(0, "Veoh_Alpha"), (1, "Veoh_Alpha")}
    assert index.train[0].path == tmp_path / "brush_hair" / "April_09_brush_hair_u_nm_np1_ba_goo_0.avi"


def test_hmdb51_bad_line_names_file_and_line(tmp_path):
    root = make_hmdb(tmp_path)
    split_file = root / "testTrainMulti_7030_splits" / "sword_exercise_test_split1.txt"
    lines = split_file.read_text().splitlines()
    lines[1] = "Blade_1_sword_exercise_u_nm_np1_ba_goo_0.avi 3"
    write(split_file, lines)
    with pytest.raises(UserError, match=r"sword_exercise_test_split1\.txt:2: expected '<video> <0\|1\|2>'"):
        read_hmdb51(root, 1)


# ---------------------------------------------------------------------------------------------- Kinetics-400
def test_kinetics400_csv_layout_skips_clips_not_on_disk(tmp_path, caplog):
    root = tmp_path
    touch(root / "train" / "air_drumming" / "aaa_000010_000020.mp4")          # label folder with underscores
    touch(root / "train" / "abseiling" / "bbb_000000_000010.mp4")
    touch(root / "train" / "ccc_000005_000015.mp4")                            # flat (CVDF) layout
    touch(root / "val" / "abseiling" / "ddd_000001_000011.mp4")
    write(root / "annotations" / "train.csv", [
        "label,youtube_id,time_start,time_end,split", "air drumming,aaa,10,20,train",
        "abseiling,bbb,0,10,train", "abseiling,ccc,5,15,train", "abseiling,gone,0,10,train"])
    write(root / "annotations" / "val.csv", [
        "label,youtube_id,time_start,time_end,split", "abseiling,ddd,1,11,val"])
    with caplog.at_level(logging.WARNING):
        index = read_kinetics400(root, max_missing_fraction=0.25)
    assert index.class_names == ["abseiling", "air drumming"]
    assert sorted((r.path.name, r.label, r.group) for r in index.train) == [
        ("aaa_000010_000020.mp4", 1, "aaa"), ("bbb_000000_000010.mp4", 0, "bbb"), ("ccc_000005_000015.mp4", 0, "ccc")]
    assert [r.path.name for r in index.val] == ["ddd_000001_000011.mp4"] and index.test == index.val
    assert "1 of 4 listed train clips are not on disk (first: gone_000000_000010.mp4)" in caplog.text


def test_kinetics400_folders_without_csv_and_bad_row(tmp_path):
    touch(tmp_path / "train" / "abseiling" / "bbb_000000_000010.mp4")
    touch(tmp_path / "train" / "zumba" / "eee_000003_000013.mp4")
    touch(tmp_path / "val" / "zumba" / "fff_000000_000010.mp4")
    index = read_kinetics400(tmp_path, max_missing_fraction=0.1)
    assert index.class_names == ["abseiling", "zumba"]
    assert [(r.label, r.group) for r in index.val] == [(1, "fff")]
    write(tmp_path / "annotations" / "train.csv", [
        "label,youtube_id,time_start,time_end", "abseiling,bbb,0,10", "zumba,eee,three,13"])
    with pytest.raises(UserError, match=r"train\.csv:3: time_start/time_end must be whole seconds"):
        read_kinetics400(tmp_path, max_missing_fraction=0.1)


# ------------------------------------------------------------------------------------------------ list files
def test_list_format_reads_splits_and_reports_bad_label(tmp_path):
    for name in ("a/x 1.mp4", "b/y.mp4", "b/z.mp4"):
        touch(tmp_path / name)
    write(tmp_path / "classes.txt", ["cutting_wood", "JumpingJack"])
    write(tmp_path / "train.txt", ["a/x 1.mp4 0", "b/y.mp4 1"])                # a path with a space
    write(tmp_path / "val.txt", ["b/z.mp4 1"])
    index = read_list(tmp_path, str(tmp_path / "train.txt"), str(tmp_path / "val.txt"), None,
                      str(tmp_path / "classes.txt"))
    assert [(r.path, r.label) for r in index.train] == [(tmp_path / "a/x 1.mp4", 0), (tmp_path / "b/y.mp4", 1)]
    assert [r.path.name for r in index.val] == ["z.mp4"] and index.test == []
    no_val = read_list(tmp_path, str(tmp_path / "train.txt"), None, None, str(tmp_path / "classes.txt"))
    assert no_val.val is None
    write(tmp_path / "train.txt", ["a/x 1.mp4 0", "", "b/y.mp4 2"])
    with pytest.raises(UserError, match=r"train\.txt:3: label 2 is outside 0\.\.1"):
        read_list(tmp_path, str(tmp_path / "train.txt"), None, None, str(tmp_path / "classes.txt"))
    with pytest.raises(UserError, match="dataset.val_list: .*missing.txt does not exist"):
        read_list(tmp_path, str(tmp_path / "val.txt"), str(tmp_path / "missing.txt"), None,
                  str(tmp_path / "classes.txt"))


# -------------------------------------------------------------------------------------------------- few-shot
def records(classes: int, groups: int, clips: int) -> list[VideoRecord]:
    return [VideoRecord(Path(f"c{c}/v_g{g:02d}_c{k:02d}.avi"), c, f"g{g:02d}")
            for c in range(classes) for g in range(1, groups + 1) for k in range(clips)]


def test_k_per_class_exact_reproducible_and_seed_dependent(caplog):
    pool = records(classes=4, groups=5, clips=4)                               # 20 videos per class
    pool += [VideoRecord(Path("c9/only.avi"), 9, None), VideoRecord(Path("c9/two.avi"), 9, None)]
    with caplog.at_level(logging.WARNING):
        chosen = k_per_class(pool, k=3, seed=0)
    assert Counter(r.label for r in chosen) == {0: 3, 1: 3, 2: 3, 3: 3, 9: 2}  # all of a short class
    assert "fewer videos" in caplog.text
    assert k_per_class(pool, k=3, seed=0) == chosen
    assert k_per_class(pool, k=3, seed=1) != chosen
    assert k_per_class(pool, k=None, seed=0) == pool
    with pytest.raises(UserError, match="k_train"):
        k_per_class(pool, k=0, seed=0)


def test_group_holdout_never_shares_a_class_group_and_covers_every_class():
    pool = records(classes=5, groups=7, clips=3)
    train, val = group_holdout(pool, fraction=0.2, seed=0)
    assert len(train) + len(val) == len(pool)
    train_groups = {(r.label, r.group) for r in train}
    val_groups = {(r.label, r.group) for r in val}
    assert not train_groups & val_groups
    assert {r.label for r in val} == {r.label for r in train} == set(range(5))
    assert Counter(label for label, _ in val_groups) == {c: 1 for c in range(5)}  # round(0.2 * 7) groups
    assert group_holdout(pool, 0.2, seed=0) == (train, val)
    assert {(r.label, r.group) for r in group_holdout(pool, 0.2, seed=3)[1]} != val_groups
    with pytest.raises(UserError, match="dataset.val_fraction"):
        group_holdout(pool, 0.0, seed=0)


def test_group_holdout_same_gxx_in_two_classes_are_different_groups():
    # UCF-101's g01 of one class has nothing to do with g01 of another: hold-outs are chosen per class.
    pool = records(classes=30, groups=2, clips=1)
    _, val = group_holdout(pool, fraction=0.5, seed=0)
    assert len({r.group for r in val}) == 2                                    # g01 for some classes, g02 for others
    assert Counter(r.label for r in val) == {c: 1 for c in range(30)}
