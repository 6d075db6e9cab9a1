"""Training and detection see the same pixels: a run trained on make_header_clips' ball crops records how they
were cut (clip_settings.json), and `src.detect detect.tracks=…` scores each window on the same crops (windows
without a ball are marked no_ball, not scored); mined clips are cut the same way."""
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from torchvision import tv_tensors

from data_tools.make_header_clips import main as make_clips
from src.core.cli_checks import CONF_DIR
from src.header.data.dataset import read_clip_frames
from src.header.data.transforms import build_clip_transform
from src.header.detection.clip_view import clip_view
from src.header.detection.scoring import frame_preprocessor
from src.header.detection.video_stream import VideoStream
from src.header.detection.windowing import SlidingWindows, WindowSpec
from src.header.footage.tracks import read_tracks
from src.header.run_loading import load_header_run
from src.train import train
from tests.core.bad_input_helpers import one_error_line

from .square_video import write_square_video

HEADERS = [30, 70, 100, 160]
UNTRACKED = range(120, 141)
MEAN, STD = [0.45] * 3, [0.225] * 3


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("crops")
    write_square_video(root / "videos/m2_1.mp4", frames=200, video_id="m2", untracked=UNTRACKED).to_csv(
        root / "tracks.csv", index=False)
    pd.DataFrame({"video_id": "m2", "half": 1, "frame": HEADERS}).to_csv(root / "labels.csv", index=False)
    assert make_clips(["--labels", str(root / "labels.csv"), "--videos", str(root / "videos"), "--tracks",
                       str(root / "tracks.csv"), "--output_dir", str(root / "clips"), "--num_frames", "8", "--size",
                       "32", "--min_crop", "16", "--negative_ratio", "2", "--no_progress"]) == 0
    clips = pd.read_csv(root / "clips" / "all_clips.csv")
    clips.assign(path="clips/" + clips.path).to_csv(root / "train.csv", index=False)  # paths from root
    clips.assign(path="clips/" + clips.path).to_csv(root / "val.csv", index=False)
    overrides = ["task=header", "backbone=csn_tiny", "dataset=header", f"dataset.train_csv={root}/train.csv",
                 f"dataset.val_csv={root}/val.csv", "dataset.num_frames=8", "dataset.input_size=32",
                 "dataset.num_workers=0", "dataset.batch_size=4", "trainer=cpu", "trainer.max_epochs=1",
                 "~callbacks.progress_bar", "run_name=crops", "logger=csv", f"paths.root_dir={root}",
                 f"paths.output_dir={root}/out"]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        train(compose("train", overrides=overrides))
    return root


def _detect(cli, work, *extra):
    return cli(["run=crops", f"video={work / 'videos/m2_1.mp4'}", "progress=false", *extra], work, module="src.detect")


def _clip_input(work, frame: int, label: int, mean=MEAN, std=STD) -> torch.Tensor:
    """The clip make_header_clips wrote for `frame`, through an evaluation transform: (8, 3, 32, 32)."""
    raw = read_clip_frames(work / "clips" / "clips" / f"m2_1_{frame}_{label}.npy", 8)      # (8, 32, 32, 3)
    transform = build_clip_transform(input_size=32, augment=False, flip_prob=0.0, color_jitter={}, mean=mean,
                                     std=std, normalise=True)
    return transform(tv_tensors.Video(torch.from_numpy(raw).permute(0, 3, 1, 2))).as_subclass(torch.Tensor)


def test_a_detection_window_is_the_clip_make_header_clips_wrote_for_its_centre_frame(work):
    settings = json.loads((work / "clips" / "summary.json").read_text())["clip_settings"]
    track = read_tracks([work / "tracks.csv"], min_score=0.0)[("m2", 1)]
    detect = {k: None for k in ("crop_scale", "min_crop", "crop_size", "frame_step", "max_track_gap",
                                "min_track_score", "num_frames")}
    view = clip_view(detect, settings, {"num_frames": 8}, track)
    transform = build_clip_transform(input_size=32, augment=False, flip_prob=0.0, color_jitter={}, mean=MEAN,
                                     std=STD, normalise=True)
    sliding = SlidingWindows(WindowSpec(8, 1, 1), frame_preprocessor(transform, view))
    with VideoStream(work / "videos/m2_1.mp4") as video:
        windows = {w.start_frame: w for index, frame in video.frames() for w in sliding.push(index, frame)}
    for frame in HEADERS:
        if frame in UNTRACKED:
            continue
        window = windows[frame - 4].frames[torch.from_numpy(view.model_frames)]  # centre = start + T // 2
        assert torch.equal(window, _clip_input(work, frame, 1)), frame
    assert windows[UNTRACKED[0] - 2].frames is None  # a frame without a ball: no pixels, not scored


def test_the_run_records_its_clip_settings_and_detect_scores_the_same_crops(cli, work):
    run_dir = work / "report" / "header_experiments" / "crops"
    recorded = json.loads((run_dir / "clip_settings.json").read_text())
    assert recorded == json.loads((work / "clips" / "summary.json").read_text())["clip_settings"]
    result = _detect(cli, work, f"detect.tracks={work / 'tracks.csv'}", "detect.smoothing=1")
    assert result.returncode == 0, result.stderr[-3000:]
    out = work / "detections" / "m2_1"
    windows = pd.read_csv(out / "windows.csv")
    blocked = (windows.end_frame >= UNTRACKED[0]) & (windows.start_frame <= UNTRACKED[-1])  # a gap > max_track_gap
    assert (windows.status[blocked] == "no_ball").all() and windows.prob_header[blocked].isna().all()
    assert (windows.status[~blocked] == "scored").all() and windows.prob_header[~blocked].notna().all()
    run = load_header_run("crops", work / "report" / "header_experiments")
    with torch.no_grad():
        clip = _clip_input(work, 70, 1, run.config["backbone"]["mean"], run.config["backbone"]["std"])
        expected = run.net(clip.permute(1, 0, 2, 3)[None]).softmax(-1)[0, 1].item()
    assert windows.set_index("start_frame").prob_header[66] == pytest.approx(expected, abs=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["windows_no_ball"] == int(blocked.sum()) and summary["clip_view"]["crop"] == "ball"


def test_mined_clips_are_cut_like_the_training_clips(cli, work, tmp_path):
    events = tmp_path / "truth.csv"
    pd.DataFrame({"frame": HEADERS}).to_csv(events, index=False)
    result = _detect(cli, work, f"detect.tracks={work / 'tracks.csv'}", f"events_csv={events}", "export_clips=true",
                     "detect.threshold=1.0", f"output_dir={tmp_path}/det")  # no event: every header is missed
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "det" / "m2_1"
    clips = pd.read_csv(out / "clips.csv")
    assert set(clips.reason) == {"missed"} and (clips.label == 1).all() and (clips.mined == 1).all()
    assert sorted(clips.frame) == [f for f in HEADERS if f not in range(UNTRACKED[0] - 4, UNTRACKED[-1] + 4)]
    assert (clips.video_id == "m2").all() and (clips.half == 1).all() and (clips.group == "m2_1").all()
    for row in clips.itertuples():
        assert np.array_equal(np.load(out / row.path), np.load(work / "clips" / "clips" / f"m2_1_{row.frame}_1.npy"))
    assert json.loads((out / "summary.json").read_text())["clip_settings"]["crop"] == "ball"


@pytest.mark.parametrize("extra, words", [
    ([], "detect.tracks is required: the run was trained on ball-centred crops"),
    (["detect.tracks={other}"], "no ball box of ('m9', 1) lies in frames 0..199"),
    (["detect.tracks={bad}"], "missing column(s) h"),
    (["detect.tracks={work}/tracks.csv", "detect.crop_size=0"], "detect.crop_size=0"),
])
def test_bad_detect_input_on_a_crop_run_is_one_error_line(cli, work, tmp_path, extra, words):
    pd.DataFrame({"video_id": "m9", "half": 1, "frame": [500], "x": 1, "y": 1, "w": 4, "h": 4}).to_csv(
        tmp_path / "other.csv", index=False)
    (tmp_path / "bad.csv").write_text("frame,x,y,w\n1,1,1,4\n")
    fill = {"other": tmp_path / "other.csv", "bad": tmp_path / "bad.csv", "work": work}
    result = _detect(cli, work, *[e.format(**fill) for e in extra], f"output_dir={tmp_path}/det")
    one_error_line(SimpleNamespace(returncode=result.returncode, stderr=result.stderr, stdout=result.stdout), words)
    assert not (tmp_path / "det").exists()
