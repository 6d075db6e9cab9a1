"""Something-Something v2 (dataset=ssv2) and Kinetics-600 (dataset=kinetics600) as their downloads unpack: each
layout written by `make_synthetic action --layout ssv2|kinetics600` (tiny real videos; SSv2's are VP9 .webm),
indexed, trained on in-process, and its bad annotation files refused with one line."""
import json
import logging
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import yaml
from torchvision.transforms import v2

from data_tools import make_synthetic
from src.clip.data.class_subset import restrict_classes
from src.clip.data.datamodule import VideoDataModule
from src.clip.data.few_shot import k_per_class
from src.clip.data.index import read_index
from src.clip.data.reader import VideoReader
from src.clip.data.readers.kinetics400 import read_kinetics400
from src.clip.data.readers.ssv2 import class_of, read_ssv2
from src.clip.data.transforms import VideoTransform
from src.core.errors import UserError
from src.synthetic.action_clips import ACTION_CLASSES, render_action_clip
from src.synthetic.ssv2_layout import TEMPLATES
from tests.composed import section

TINY = {"seed": 0, "num_frames": 6, "width": 32, "height": 32}
GROUPS, CLIPS = 3, 2                      # group 1 = validation, group 2 = test, group 3 trains
NUM_CLASSES = len(ACTION_CLASSES)
SSV2_NAMES = sorted(class_of(TEMPLATES[name]) for name in ACTION_CLASSES)
CONF = Path(__file__).resolve().parents[2] / "conf" / "dataset"


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """Both layouts, written through the make_synthetic command (read-only: tests that edit use a linked copy)."""
    base = tmp_path_factory.mktemp("layouts")
    for layout in ("ssv2", "kinetics600"):
        argv = ["action", "--root", str(base / layout), "--layout", layout, "--groups", str(GROUPS),
                "--clips_per_group", str(CLIPS), *(f"--{key}={value}" for key, value in TINY.items())]
        assert make_synthetic.main(argv) == 0
    return {layout: base / layout for layout in ("ssv2", "kinetics600")}


def linked_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, copy_function=os.link)
    return target


def rows(root: Path, name: str) -> list[dict]:
    return json.loads((root / "labels" / name).read_text())


# ------------------------------------------------------------------------------------------------------ SSv2
def test_ssv2_classes_come_from_templates_and_validation_doubles_as_test(layouts):
    root = layouts["ssv2"]
    labels = json.loads((root / "labels" / "labels.json").read_text())
    assert labels == {name: str(i) for i, name in enumerate(SSV2_NAMES)}
    assert all(set(row) == {"id"} for row in rows(root, "test.json"))                 # no labels, as shipped
    index = read_ssv2(root, max_missing_fraction=0.01)
    assert index.class_names == SSV2_NAMES and not index.missing
    assert index.test is index.val and "test.json has no labels" in index.layout
    assert len(index.train) == len(index.val) == NUM_CLASSES * CLIPS
    template_of = {row["id"]: row["template"] for row in rows(root, "train.json") + rows(root, "validation.json")}
    for record in [*index.train, *index.val]:
        assert record.path.parent == root / "20bn-something-something-v2" and record.path.suffix == ".webm"
        assert index.class_names[record.label] == template_of[record.path.stem].replace("[", "").replace("]", "")
        assert record.group is None
    # The filled-in "label" field is not the class: "pushing a yellow disc from left to right".
    row = next(r for r in rows(root, "train.json") if r["template"] == "Pushing [something] from left to right")
    assert row["label"] == "pushing a yellow disc from left to right" and row["placeholders"] == ["a yellow disc"]


def test_ssv2_index_cache_reads_back_the_scan(layouts, tmp_path):
    dataset = {"root": str(layouts["ssv2"]), "format": "ssv2", "max_missing_fraction": 0.01, "get_it": "",
               "index_cache": "auto"}
    scanned = read_index(dataset, cache_dir=tmp_path)
    cached = read_index(dataset, cache_dir=tmp_path)                     # the file the first call wrote
    assert len(list((tmp_path / "index").glob("*.json"))) == 1 and cached.test is cached.val
    assert [(r.path, r.label) for r in cached.train] == [(r.path, r.label) for r in scanned.train]
    assert cached.class_names == scanned.class_names == SSV2_NAMES


def test_ssv2_20bn_file_names_in_the_root_and_videos_in_the_root(layouts, tmp_path):
    root = linked_copy(layouts["ssv2"], tmp_path / "ssv2")
    for name, old in (("labels", "labels"), ("train", "train"), ("validation", "validation")):
        os.replace(root / "labels" / f"{name}.json", root / f"something-something-v2-{old}.json")
    for video in (root / "20bn-something-something-v2").iterdir():
        os.replace(video, root / video.name)
    (root / "20bn-something-something-v2").rmdir()
    index = read_ssv2(root, max_missing_fraction=0.01)
    reference = read_ssv2(layouts["ssv2"], max_missing_fraction=0.01)
    assert index.class_names == SSV2_NAMES and [r.path.name for r in index.train] == \
        [r.path.name for r in reference.train]
    assert [r.label for r in index.val] == [r.label for r in reference.val]


def test_ssv2_webm_is_vp9_and_decodes_through_the_reader(layouts):
    video = layouts["ssv2"] / "20bn-something-something-v2" / "1.webm"     # id 1: the first class, group 1, clip 1
    with av.open(str(video)) as container:
        assert container.streams.video[0].codec_context.name == "vp9" and "webm" in container.format.name
    with VideoReader(video) as reader:
        assert reader.num_frames == TINY["num_frames"]
        frames = reader.read(np.arange(TINY["num_frames"])[None]).expand()          # (1, T, 3, H, W)
    assert frames.shape == (1, TINY["num_frames"], 3, TINY["height"], TINY["width"]) and frames.dtype == torch.uint8
    rng = np.random.default_rng([TINY["seed"], 0, 1, 1])
    drawn = render_action_clip(ACTION_CLASSES[0], rng, TINY["num_frames"], TINY["width"], TINY["height"])
    error = np.abs(frames[0].permute(0, 2, 3, 1).numpy().astype(int) - drawn.astype(int)).mean()
    assert error < 8, f"decoded frames differ from the drawn ones by {error:.1f} levels on average"


def test_ssv2_missing_videos_are_counted_then_stop_above_the_threshold(layouts, tmp_path, caplog, cli):
    root = linked_copy(layouts["ssv2"], tmp_path / "ssv2")
    (root / "20bn-something-something-v2" / f"{rows(root, 'train.json')[0]['id']}.webm").unlink()   # 1 of 14
    with caplog.at_level(logging.WARNING):
        index = read_index({"root": str(root), "format": "ssv2", "max_missing_fraction": 0.1, "get_it": ""})
    assert len(index.train) == NUM_CLASSES * CLIPS - 1 and [m.split for m in index.missing] == ["train"]
    assert "train.json: 1 of 14 listed train clips are not on disk" in caplog.text
    result = cli(["dataset=ssv2", f"dataset.root={root}", "dataset.num_workers=1"], tmp_path,
                 module="data_tools.check_dataset")
    report = json.loads((tmp_path / "outputs" / "run" / "dataset_report.json").read_text())
    missing = next(p for p in report["problems"] if p["kind"] == "missing_files")      # 7% > the default 1%
    assert result.returncode == 2 and "1 of 14 train clips" in missing["message"]
    assert "dataset.max_missing_fraction=0.01" in missing["message"] and missing["items"][0]["split"] == "train"


def test_ssv2_k_shot_and_base_to_novel_subsets(layouts):
    index = read_ssv2(layouts["ssv2"], max_missing_fraction=0.01)
    one_shot = k_per_class(index.train, 1, seed=0)
    assert sorted(r.label for r in one_shot) == list(range(NUM_CLASSES))
    assert [r.path for r in k_per_class(index.train, 1, seed=0)] == [r.path for r in one_shot]
    base = ["Pushing something from right to left", "Showing a red square to the camera",
            "Pushing something from left to right"]
    halves = {subset: restrict_classes(index, subset, base) for subset in ("base", "novel")}
    assert halves["base"].class_names == [n for n in SSV2_NAMES if n in base]          # class-index order
    assert halves["novel"].class_names == [n for n in SSV2_NAMES if n not in base]
    for half in halves.values():
        assert Counter(r.label for r in half.train) == {label: CLIPS for label in range(len(half.class_names))}
    with pytest.raises(UserError, match="dataset.base_classes: .*'Holding something'"):
        restrict_classes(index, "base", ["Holding something"])


def test_ssv2_config_ships_vifi_clips_base_half_and_never_flips():
    ssv2 = yaml.safe_load((CONF / "ssv2.yaml").read_text())
    assert len(ssv2["base_classes"]) == len(set(ssv2["base_classes"])) == 87            # of SSv2's 174
    assert "Pushing something from left to right" in ssv2["base_classes"]
    assert not any("[" in name for name in ssv2["base_classes"])
    assert ssv2["flip_prob"] == 0.0 and ssv2["frame_interval"] is None and ssv2["num_temporal_views"] == 1
    assert yaml.safe_load((CONF / "ucf101.yaml").read_text())["flip_prob"] == 0.5   # the others keep flipping


@pytest.mark.parametrize("dataset, flip_prob", [("ssv2", 0.0), ("ucf101", 0.5), ("kinetics600", 0.5)])
def test_augmented_training_flips_with_the_datasets_flip_prob(dataset, flip_prob):
    config = {name: section(name, [f"dataset={dataset}", "dataset.augment=true", "backbone=clip_tiny"])
              for name in ("dataset", "backbone")}
    datamodule = VideoDataModule(dataset=config["dataset"], backbone=config["backbone"], seed=0)
    flips = [t for t in datamodule._transform(train=True).augmentation.transforms
             if isinstance(t, v2.RandomHorizontalFlip)]
    assert [t.p for t in flips] == [flip_prob]
    assert datamodule._transform(train=False).augmentation is None                 # evaluation never flips


def test_flip_prob_zero_never_flips_and_one_always_does():
    clip = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    clip[..., 16:] = 255                                                           # dark left, bright right
    still = {"brightness": 0, "contrast": 0, "saturation": 0, "hue": 0}
    for flip_prob, bright_side in ((0.0, "right"), (1.0, "left")):
        transform = VideoTransform(True, True, 32, [0, 0, 0], [1, 1, 1], 1, [0.9, 1.0], still, flip_prob)
        torch.manual_seed(0)
        for _ in range(10):
            view = transform(clip)[0]                                              # (N, 3, 32, 32) in [0, 1]
            left, right = view[..., :16].mean(), view[..., 16:].mean()
            assert (left > right) == (bright_side == "left")
    with pytest.raises(UserError, match="dataset.flip_prob: 1.5 must be a probability"):
        VideoTransform(True, True, 32, [0, 0, 0], [1, 1, 1], 1, [0.9, 1.0], still, 1.5)


@pytest.mark.parametrize("edit, message", [
    ("no_labels", r"labels/labels\.json: not found .*re-download the labels archive"),
    ("no_template", r"labels/train\.json: row 2 \(id '\d+'\): no \"template\" .*fix or remove the row"),
    ("unknown_template", r"labels/validation\.json: row 1 \(id '\d+'\): template 'Holding \[something\]' gives "
                         r"class 'Holding something', which labels\.json does not list"),
    ("bad_index", r"labels/labels\.json: 'Moving something towards the camera': 'one' is not a class index"),
])
def test_ssv2_bad_annotations_are_one_error_line_exit_2(layouts, tmp_path, cli, edit, message):
    root = linked_copy(layouts["ssv2"], tmp_path / "ssv2")
    labels = root / "labels"
    if edit == "no_labels":
        (labels / "labels.json").unlink()
    elif edit in ("no_template", "unknown_template"):
        name, at = ("train.json", 1) if edit == "no_template" else ("validation.json", 0)
        data = rows(root, name)
        if edit == "no_template":
            del data[at]["template"]
        else:
            data[at]["template"] = "Holding [something]"
        (labels / name).unlink()
        (labels / name).write_text(json.dumps(data))
    else:
        data = json.loads((labels / "labels.json").read_text())
        (labels / "labels.json").unlink()
        (labels / "labels.json").write_text(json.dumps({**data, "Moving something towards the camera": "one"}))
    result = cli(["dataset=ssv2", f"dataset.root={root}"], tmp_path, module="data_tools.check_dataset")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "outputs" / "run" / "dataset_report.json").exists()


# ---------------------------------------------------------------------------------------------- Kinetics-600
def test_kinetics600_cvdf_layout_flat_videos_and_a_test_csv_without_labels(layouts, caplog):
    root = layouts["kinetics600"]
    assert "label" not in (root / "annotations" / "test.csv").read_text().splitlines()[0].split(",")
    assert not [p for p in (root / "train").iterdir() if p.is_dir()]                     # flat, as CVDF unpacks
    with caplog.at_level(logging.WARNING):
        index = read_index({"root": str(root), "format": "kinetics400", "max_missing_fraction": 0.1, "get_it": ""})
    assert index.class_names == sorted(ACTION_CLASSES) and index.test is index.val
    assert "test.csv has no label column" in caplog.text
    assert Counter(r.label for r in index.train) == {c: CLIPS for c in range(NUM_CLASSES)}
    assert all(r.path.parent == root / "val" for r in index.val)


def test_kinetics600_old_cvdf_txt_lists_get_a_hint(layouts, tmp_path):
    root = linked_copy(layouts["kinetics600"], tmp_path / "k600")
    os.replace(root / "annotations" / "train.csv", root / "annotations" / "train.txt")
    with pytest.raises(UserError, match=r"train\.txt is CVDF's old Kinetics-600 list, not the CSV: download "
                                        r"train\.csv and validate\.csv"):
        read_kinetics400(root, max_missing_fraction=0.1)


def test_kinetics600_config_reads_with_the_kinetics400_reader():
    k600 = yaml.safe_load((CONF / "kinetics600.yaml").read_text())
    assert k600["defaults"] == ["kinetics400"] and k600["name"] == "kinetics600"
    assert "kinetics600" in k600["root"] and "format" not in k600                        # the K400 reader


# ------------------------------------------------------------------------------------------------- training
def train(cli, tmp_path: Path, dataset: str, root: Path, overrides: list[str]) -> Path:
    result = cli([f"dataset={dataset}", f"dataset.root={root}", "trainer.max_epochs=1", "run_id=layout", *overrides],
                 tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path / "models" / "video_coop" / dataset / "layout"


def test_training_on_ssv2_k_shot_augmented_base_to_novel(layouts, cli, tiny_clip_run, tmp_path):
    """K-shot, augmented (flip_prob 0), two base classes: trains on base, then tests on base and on novel."""
    base = ["Pushing something from left to right", "Showing a red square to the camera"]
    run = train(cli, tmp_path, "ssv2", layouts["ssv2"], [
        *tiny_clip_run, "dataset.k_train=1", "dataset.augment=true", "dataset.class_subset=base",
        "dataset.base_classes=[" + ",".join(f"'{name}'" for name in base) + "]"])
    results = json.loads((run / "validation_results.json").read_text())
    assert results["class_names"] == [name.lower() for name in base] and results["num_videos"] == 2 * CLIPS
    figures = json.loads((run / "base_to_novel.json").read_text())
    assert set(figures) >= {"base_top1", "novel_top1", "hm"} and 0 <= figures["hm"] <= 1


def test_training_on_the_kinetics600_layout(layouts, cli, tiny_clip_run, tmp_path):
    run = train(cli, tmp_path, "kinetics600", layouts["kinetics600"],
                [*tiny_clip_run, "dataset.k_train=null", "dataset.k_val=null"])
    results = json.loads((run / "validation_results.json").read_text())
    assert len(results["class_names"]) == NUM_CLASSES and results["class_names"][0] == "blue triangle still"
    assert results["num_videos"] == NUM_CLASSES * CLIPS
