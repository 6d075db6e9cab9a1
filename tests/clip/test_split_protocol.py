"""Multi-split protocols of `python -m src.evaluate` (conf/protocol/): the Kinetics-600 zero-shot class lists (the
shipped ER-ZSAR splits checked; stand-in lists of synthetic classes evaluated) and UCF-101 / HMDB-51's three
official test splits, each summarised as mean ± std; bad class lists are one line."""
import json
import re
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from src.clip.data.class_lists import class_list_path, match_class_list, read_class_list
from src.clip.data.class_names import prompt_names
from src.core.errors import UserError
from src.synthetic.datasets import ACTION_CLASSES, make_action_dataset

REPO = Path(__file__).resolve().parents[2]
K600 = REPO / "class_lists/kinetics600_zero_shot"
# Stand-in "splits" of the 7 synthetic classes: overlapping subsets, as the K600 splits overlap.
STAND_INS = {"split_1": ["BlueTriangleStill", "Growing", "MovingLeft", "RedSquareStill"],
             "split_2": ["GreenCircleStill", "MovingRight", "Shrinking"],
             "split_3": ["Growing", "Shrinking", "MovingLeft", "MovingRight", "GreenCircleStill"]}


def _error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def _stand_in_lists(folder: Path, lists: dict[str, list[str]]) -> str:
    """The lists as class-list files in `folder` -> the protocol.class_lists override naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, classes in lists.items():
        (folder / f"{name}.txt").write_text("# a stand-in split\n\n" + "".join(f"{c}\n" for c in classes))
    return "protocol.class_lists=[" + ",".join(f"'{folder / name}.txt'" for name in lists) + "]"


def _check_summary(summary: dict, out_dir: Path, stdout: str, expected_splits: list[str]) -> list[dict]:
    """The summary's mean ± std are numpy's over the per-split results files it names; the table shows them."""
    rows = summary["splits"]
    assert [row["split"] for row in rows] == expected_splits
    per_split = [json.loads(Path(row["results_file"]).read_text()) for row in rows]
    assert all(Path(row["results_file"]).parent == out_dir for row in rows)
    for key in ("top1", "top5"):
        values = [results[key] for results in per_split]
        assert [row[key] for row in rows] == values
        assert summary[f"{key}_mean"] == pytest.approx(np.mean(values), abs=1e-12)
        assert summary[f"{key}_std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    assert all(results["num_videos"] > 0 for results in per_split)
    assert "mean ± std" in stdout and f"{summary['top1_mean']:.4f} ± {summary['top1_std']:.4f}" in stdout
    return per_split


def test_the_shipped_k600_splits_are_160_new_classes_each():
    k400 = read_class_list(K600 / "kinetics400_classes.txt")
    new = read_class_list(K600 / "kinetics600_new_classes.txt")
    assert len(k400) == len(set(k400)) == 400 and len(new) == len(set(new)) == 220 and not set(new) & set(k400)
    protocol = OmegaConf.load(REPO / "conf/protocol/zero_shot_k600.yaml")
    files = [class_list_path(spec) for spec in protocol["class_lists"]]
    assert files == [K600 / f"split_{i}.txt" for i in (1, 2, 3)]
    splits = [read_class_list(path) for path in files]
    for names in splits:
        assert len(names) == len(set(names)) == 160
        assert not set(names) & set(k400) and set(names) <= set(new)
    assert len({frozenset(names) for names in splits}) == 3   # three different draws
    assert "abseiling" in k400 and "acting in play" in splits[0]   # spelled as the Kinetics labels are


def test_k600_protocol_scores_each_split_with_only_its_classes(cli, tiny_clip_run, synthetic_root, tmp_path):
    lists = _stand_in_lists(tmp_path / "lists", STAND_INS)
    result = cli(["method=zero_shot", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                  "protocol=zero_shot_k600", lists], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "models/zero_shot/ucf101/clip-tiny/eval"
    summary = json.loads((out / "ucf101-zero_shot_k600-test-1x1views-4f.json").read_text())
    per_split = _check_summary(summary, out, result.stdout, list(STAND_INS))
    assert len({results["top1"] for results in per_split}) > 1   # the std above is not a trivial zero
    test_list = (synthetic_root / "ucfTrainTestlist/testlist01.txt").read_text().split()
    for (name, classes), results in zip(STAND_INS.items(), per_split):
        # the split's classes only, in class-index order, as prompt text; only their test videos
        assert results["class_names"] == [c for c in prompt_names(list(ACTION_CLASSES)) if c in prompt_names(classes)]
        assert results["num_videos"] == sum(line.split("/")[0] in classes for line in test_list)
        assert results["protocol"]["class_list"] == str(tmp_path / "lists" / f"{name}.txt")
        assert summary["splits"][list(STAND_INS).index(name)]["class_list"] == results["protocol"]["class_list"]
        assert Path(summary["splits"][list(STAND_INS).index(name)]["results_file"]).name == \
            f"ucf101-zero_shot_k600-{name}-split1-test-1x1views-4f.json"
    assert summary["protocol"]["name"] == "zero_shot_k600" and "ER-ZSAR" in summary["protocol"]["source"]
    assert summary["protocol"]["method"] == "zero_shot" and summary["protocol"]["checkpoint"] is None


def test_k600_protocol_on_a_run_trained_on_another_dataset(cli, tiny_clip_run, synthetic_root, tmp_path):
    """As `run=<k400 run> dataset=kinetics600 protocol=zero_shot_k600`: the target is a Kinetics-layout set."""
    trained = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                   "trainer.max_epochs=1", "trainer.limit_train_batches=2", "run_id=r"], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    kinetics = make_action_dataset(tmp_path / "kinetics", seed=1, groups=3, clips_per_group=2, num_frames=8,
                                   width=32, height=32, layout="kinetics400")
    lists = _stand_in_lists(tmp_path / "lists", {k: STAND_INS[k] for k in ("split_1", "split_2")})
    result = cli(["run=video_coop/ucf101/r", "dataset=kinetics400", f"dataset.root={kinetics}", *tiny_clip_run,
                  "protocol=zero_shot_k600", lists], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "models/video_coop/ucf101/r/eval"
    summary = json.loads((out / "kinetics400-zero_shot_k600-test-1x1views-4f.json").read_text())
    per_split = _check_summary(summary, out, result.stdout, ["split_1", "split_2"])
    assert [len(r["class_names"]) for r in per_split] == [4, 3]
    assert [r["num_videos"] for r in per_split] == [4 * 2, 3 * 2]   # the test group's 2 clips of each class
    assert summary["protocol"]["checkpoint"] == str(tmp_path / "models/video_coop/ucf101/r/checkpoint.pth")


@pytest.mark.parametrize("layout", ["ucf101", "hmdb51"])
def test_three_official_test_splits_give_mean_and_std(cli, tiny_clip_run, tmp_path, layout):
    root = make_action_dataset(tmp_path / "data" / layout, seed=0, groups=4, clips_per_group=1, num_frames=8,
                               width=32, height=32, layout=layout)
    result = cli(["method=zero_shot", f"dataset={layout}", f"dataset.root={root}", *tiny_clip_run,
                  "protocol=zero_shot_splits"], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / f"models/zero_shot/{layout}/clip-tiny/eval"
    summary = json.loads((out / f"{layout}-zero_shot_splits-test-1x1views-4f.json").read_text())
    per_split = _check_summary(summary, out, result.stdout, ["split1", "split2", "split3"])
    assert [r["protocol"]["official_split"] for r in per_split] == [1, 2, 3]
    assert all(len(r["class_names"]) == len(ACTION_CLASSES) for r in per_split)
    assert sorted(p.name for p in out.glob(f"{layout}-split*-test-1x1views-4f.json")) == \
        [f"{layout}-split{n}-test-1x1views-4f.json" for n in (1, 2, 3)]


@pytest.mark.parametrize("content, expected", [
    ("Growing\nNotAClass\n", r"bad\.txt: class 'NotAClass' is not a class of dataset ucf101"),
    ("Growing\n# only a comment\nGrowing\n", r"bad\.txt:3: class 'Growing' is listed twice"),
    ("# nothing but comments\n", r"bad\.txt: no class names"),
    (None, r"bad\.txt: class list not found"),
])
def test_a_bad_class_list_is_one_line_and_nothing_is_written(cli, tiny_clip_run, synthetic_root, tmp_path,
                                                             content, expected):
    good = tmp_path / "good.txt"
    good.write_text("Growing\nShrinking\n")
    bad = tmp_path / "bad.txt"
    if content is not None:
        bad.write_text(content)
    result = cli(["method=zero_shot", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                  "protocol=zero_shot_k600", f"protocol.class_lists=['{good}','{bad}']"], tmp_path,
                 module="src.evaluate")
    assert re.search(expected, _error_line(result))
    assert not (tmp_path / "models").exists()   # the first (good) split was not evaluated either


def test_official_splits_need_a_dataset_that_has_them(cli, tiny_clip_run, tmp_path):
    root = make_action_dataset(tmp_path / "k400", seed=0, groups=3, clips_per_group=1, num_frames=8, width=32,
                               height=32, layout="kinetics400")
    result = cli(["method=zero_shot", "dataset=kinetics400", f"dataset.root={root}", *tiny_clip_run,
                  "protocol=zero_shot_splits"], tmp_path, module="src.evaluate")
    assert "has no official splits; use it with ucf101 or hmdb51" in _error_line(result)
    assert not (tmp_path / "models").exists()


def test_listed_names_match_as_the_kinetics_reader_matches_labels(tmp_path):
    """A space and an underscore are the same (label folders); anything else must be spelled as the dataset does."""
    names = ["abseiling", "air_drumming", "tying knot (not on a tie)"]
    listed = ["air drumming", "tying knot (not on a tie)"]
    assert match_class_list(tmp_path / "l.txt", listed, names, "k600") == ["air_drumming", "tying knot (not on a tie)"]
    with pytest.raises(UserError, match=r"l\.txt: class 'Air drumming' is not a class of dataset k600"):
        match_class_list(tmp_path / "l.txt", ["Air drumming"], names, "k600")


def test_a_multi_split_protocol_is_refused_for_task_header(cli, tmp_path):
    result = cli(["task=header", "run=some_run", "protocol=zero_shot_k600"], tmp_path, module="src.evaluate")
    assert "protocol=zero_shot_k600 is a task=clip protocol" in _error_line(result)
