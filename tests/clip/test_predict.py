"""`python -m src.predict` for task=clip: zero-shot CLIP (no run) on a folder with a corrupt video; batching
across files does not change a video's prediction; bad input is one error line."""
import json
import shutil

import pandas as pd
import pytest

ZERO_SHOT = ["method=zero_shot", "dataset=ucf101", "backbone=clip_tiny", "dataset.num_frames=4",
             "dataset.num_temporal_views=1", "dataset.num_spatial_views=1", "progress=false", "top_k=3"]


@pytest.fixture
def video_folder(synthetic_root, tmp_path):
    folder = tmp_path / "videos" / "nested"
    folder.mkdir(parents=True)
    videos = sorted(p for p in synthetic_root.rglob("*") if p.suffix in (".avi", ".mp4"))[:4]
    for video in videos:
        shutil.copy(video, folder / video.name)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    (folder / "notes.txt").write_text("not a video")  # not a video suffix: ignored
    return folder.parent


def test_zero_shot_predicts_the_good_videos_and_lists_the_corrupt_one(cli, synthetic_root, video_folder, tmp_path):
    common = [*ZERO_SHOT, f"dataset.root={synthetic_root}", f"inputs={video_folder}"]
    result = cli([*common, f"output={tmp_path}/one", "batch_size=1"], tmp_path, module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "one" / "predictions.csv")
    assert list(table.columns) == ["path", "rank", "class", "prob", "error"]
    bad = table[table["path"].str.endswith("broken.mp4")]
    assert len(bad) == 1 and "cannot open" in bad["error"].iloc[0]
    good = table[table["error"].isna()]
    assert good["path"].nunique() == 4 and (good.groupby("path").size() == 3).all()
    for _, rows in good.groupby("path"):
        assert rows["rank"].tolist() == [1, 2, 3]
        assert rows["prob"].is_monotonic_decreasing and rows["prob"].sum() <= 1 + 1e-6
    records = json.loads((tmp_path / "one" / "predictions.json").read_text())
    assert len(records) == 5 and sum(bool(r["error"]) for r in records) == 1

    # Four videos in one batch: the same predictions as one at a time.
    result = cli([*common, f"output={tmp_path}/four", "batch_size=4"], tmp_path, module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    batched = pd.read_csv(tmp_path / "four" / "predictions.csv")
    pd.testing.assert_frame_equal(batched[["path", "rank", "class"]], table[["path", "rank", "class"]])
    assert (batched["prob"] - table["prob"]).abs().max() < 1e-4


def test_zero_shot_scores_the_classes_given_on_the_command_line(cli, synthetic_root, video_folder, tmp_path):
    result = cli([*ZERO_SHOT, f"dataset.root={tmp_path}/nowhere", "classes=[run,jump,swim]",
                  f"inputs={video_folder}/nested/*.avi", f"output={tmp_path}/out"], tmp_path, module="src.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert set(table["class"]) <= {"run", "jump", "swim"} and len(table) > 0


def test_bad_predict_input_is_one_error_line(cli, synthetic_root, tmp_path):
    cases = {
        "no such file or folder": [*ZERO_SHOT, f"dataset.root={synthetic_root}", f"inputs={tmp_path}/missing.mp4"],
        "inputs= is required": [*ZERO_SHOT, f"dataset.root={synthetic_root}"],
        "run= is required": ["method=video_coop", f"inputs={synthetic_root}"],
    }
    for needle, args in cases.items():
        result = cli([*args, f"output={tmp_path}/out"], tmp_path, module="src.predict")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and needle in lines[0], (needle, result.stderr)
    assert not (tmp_path / "out").exists()
