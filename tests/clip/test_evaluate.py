"""`python -m src.evaluate run=…` on the synthetic set: the run's own test figures come back exactly; other
protocols, another dataset's class names and bad input behave as documented."""
import hashlib
import json
from pathlib import Path

import pytest

from src.clip.evaluation import class_figures


def _error_line(result) -> str:
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def _renamed_list_dataset(synthetic_root: Path, out: Path, with_test: bool) -> list[str]:
    """The synthetic videos as a list-format dataset whose classes carry other names ("class 0", …)."""
    lists = synthetic_root / "ucfTrainTestlist"
    classes = [line.split()[1] for line in (lists / "classInd.txt").read_text().splitlines()]
    def rows(name):  # noqa: E306
        paths = [line.split()[0] for line in (lists / name).read_text().splitlines() if line.strip()]
        return "".join(f"{p} {classes.index(p.split('/')[0])}\n" for p in paths)
    train = rows("trainlist01.txt").splitlines(keepends=True)
    out.mkdir(parents=True)
    (out / "train.txt").write_text("".join(train[::2]))
    (out / "val.txt").write_text("".join(train[1::2]))
    (out / "test.txt").write_text(rows("testlist01.txt"))
    names = [f"Other{chr(65 + i)}" for i in range(len(classes))]
    (out / "classes.txt").write_text("\n".join(names) + "\n")
    return [f"dataset.root={synthetic_root}", f"dataset.train_list={out}/train.txt", f"dataset.val_list={out}/val.txt",
            f"dataset.test_list={out / 'test.txt' if with_test else 'null'}", f"dataset.class_names_file={out}/classes.txt"]


@pytest.fixture
def trained(cli, tiny_clip_run, synthetic_root, tmp_path):
    def train(*extra: str) -> Path:
        result = cli(["method=video_coop", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run,
                      "trainer.max_epochs=1", "run_id=r", *extra], tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        return tmp_path / "models/video_coop/ucf101/r"
    return train


def test_same_protocol_reproduces_the_runs_test_results_and_other_protocols_are_recorded(
        cli, trained, tiny_clip_run, synthetic_root, tmp_path):
    run = trained()
    own = json.loads((run / "test_results.json").read_text())
    assert (run / "curves.png").stat().st_size > 0 and (run / "confusion_matrix.png").stat().st_size > 0
    result = cli(["run=video_coop/ucf101/r", *tiny_clip_run], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    same = json.loads((run / "eval/ucf101-split1-test-1x1views-4f.json").read_text())
    assert same["top1"] == own["top1"] and same["top5"] == own["top5"]
    assert same["confusion_matrix"] == own["confusion_matrix"] and same["loss"] == pytest.approx(own["loss"], abs=1e-6)
    protocol = same["protocol"]
    assert protocol["checkpoint_sha256"] == hashlib.sha256((run / "checkpoint.pth").read_bytes()).hexdigest()
    assert protocol["eval_split"] == "test" and protocol["official_split"] == 1 and protocol["seconds"] > 0
    assert protocol["num_frames"] == 4 and protocol["input_size"] == 32 and protocol["git_commit"]
    assert (run / "eval/ucf101-split1-test-1x1views-4f-confusion.png").stat().st_size > 0
    assert "top1" in result.stdout and "weakest" in result.stdout                       # the rich table

    views = cli([f"run={run}", *tiny_clip_run, "dataset.num_temporal_views=2", "dataset.num_spatial_views=3"],
                tmp_path, module="src.evaluate")
    assert views.returncode == 0, views.stderr[-3000:]
    multi = json.loads((run / "eval/ucf101-split1-test-2x3views-4f.json").read_text())
    assert (multi["protocol"]["num_temporal_views"], multi["protocol"]["num_spatial_views"]) == (2, 3)
    assert multi["num_videos"] == own["num_videos"]
    card = (run / "MODEL_CARD.md").read_text()  # refreshed after each evaluation: one section per results file
    assert "### eval:ucf101-split1-test-1x1views-4f (test split, ucf101)" in card
    assert "### eval:ucf101-split1-test-2x3views-4f" in card and "views=2x3" in card

    val = cli(["run=video_coop/ucf101/r", *tiny_clip_run, "split=val"], tmp_path, module="src.evaluate")
    assert val.returncode == 0, val.stderr[-3000:]
    own_val = json.loads((run / "validation_results.json").read_text())
    assert json.loads((run / "eval/ucf101-split1-val-1x1views-4f.json").read_text())["top1"] == own_val["top1"]


def test_cross_dataset_uses_the_target_class_names(cli, trained, tiny_clip_run, synthetic_root, tmp_path):
    run = trained()
    target = _renamed_list_dataset(synthetic_root, tmp_path / "renamed", with_test=True)
    result = cli(["run=video_coop/ucf101/r", "dataset=list", *target, *tiny_clip_run], tmp_path, module="src.evaluate")
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((run / "eval/list-split1-test-1x1views-4f.json").read_text())
    assert results["class_names"][:2] == ["other a", "other b"] and results["protocol"]["dataset"] == "list"
    assert results["num_videos"] == sum(map(sum, results["confusion_matrix"])) > 0

    no_test = _renamed_list_dataset(synthetic_root, tmp_path / "no_test", with_test=False)
    line = _error_line(cli(["run=video_coop/ucf101/r", "dataset=list", *no_test, *tiny_clip_run], tmp_path,
                           module="src.evaluate"))
    assert "no test split" in line and "split=val" in line


def test_class_wise_contexts_cannot_transfer_to_unknown_classes(cli, trained, tiny_clip_run, synthetic_root, tmp_path):
    trained("method.class_wise=true")
    target = _renamed_list_dataset(synthetic_root, tmp_path / "renamed", with_test=True)
    line = _error_line(cli(["run=video_coop/ucf101/r", "dataset=list", *target, *tiny_clip_run], tmp_path,
                           module="src.evaluate"))
    assert "class_wise" in line and "other a" in line


def test_bad_runs_are_one_line(cli, tiny_clip_run, tmp_path):
    (tmp_path / "not_a_run").mkdir()
    line = _error_line(cli([f"run={tmp_path / 'not_a_run'}", *tiny_clip_run], tmp_path, module="src.evaluate"))
    assert "not a task=clip run folder" in line
    line = _error_line(cli(["run=video_coop/ucf101/missing", *tiny_clip_run], tmp_path, module="src.evaluate"))
    assert "video_coop/ucf101/missing" in line
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "config.json").write_text("{}")
    (fake / "checkpoint.pth").write_bytes(b"\0garbage")
    line = _error_line(cli([f"run={fake}", *tiny_clip_run], tmp_path, module="src.evaluate"))
    assert "not a readable PyTorch checkpoint" in line and str(fake) in line
    line = _error_line(cli([*tiny_clip_run], tmp_path, module="src.evaluate"))
    assert "run= is required" in line


def test_class_figures_from_the_confusion_matrix():
    per_class, mean_class = class_figures([[3, 1, 0], [0, 0, 0], [2, 0, 2]], ["a", "b", "c"])
    assert per_class["a"] == {"accuracy": 0.75, "precision": 0.6, "recall": 0.75, "f1": pytest.approx(2 / 3),
                              "support": 4}
    assert per_class["b"]["support"] == 0 and per_class["c"]["accuracy"] == 0.5
    assert mean_class == pytest.approx((0.75 + 0.5) / 2)          # classes without videos do not count
