"""`python -m src.detect` end to end on a synthetic match video with a tiny trained Header Net: the files and
their values, resume after a kill, corrupt stretches as gaps, clip export, bad input -> one error line."""
import json
import shutil
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest
import torch
from hydra import compose, initialize_config_dir
from torchvision import tv_tensors

import src.core.run_naming  # noqa: F401  (the run_tag resolver the header config uses)
from src.header.data.dataset import read_header_csv
from src.header.data.transforms import build_clip_transform
from src.header.detection.postprocess import EVENT_COLUMNS
from src.header.detection.window_log import GAP_COLUMNS, WINDOW_COLUMNS
from src.header.run_loading import load_header_run
from src.synthetic.match_video import render_match_video
from src.train import train

REPO = Path(__file__).resolve().parents[2]
TINY_RUN = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
            "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=tiny", "logger=csv"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder with a 1-epoch tiny header run (report/header_experiments/tiny) and a 12 s match video."""
    root = tmp_path_factory.mktemp("detect")
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY_RUN, f"paths.root_dir={root}", f"paths.output_dir={root}/out"])
    train(cfg)
    render_match_video(root / "match.mp4", seed=5, duration_s=12, fps=10, size=32)
    return root


def _detect(cli, workspace: Path, *extra: str):
    return cli(["run=tiny", f"video={workspace / 'match.mp4'}", "progress=false", *extra], workspace,
               module="src.detect")


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])  # (N, H, W, 3)


def test_detect_writes_windows_events_metrics_and_timeline(cli, workspace):
    result = _detect(cli, workspace, f"events_csv={workspace / 'match_events.csv'}", "detect.stride=3")
    assert result.returncode == 0, result.stderr[-3000:]
    out = workspace / "detections" / "match"
    windows = pd.read_csv(out / "windows.csv")
    assert tuple(windows.columns) == WINDOW_COLUMNS
    frames = _decode(workspace / "match.mp4")
    assert windows["start_frame"].tolist() == list(range(0, len(frames) - 8 + 1, 3))  # num_frames 8 from the run
    assert (windows["end_frame"] - windows["start_frame"]).eq(7).all()
    np.testing.assert_allclose(windows["center_time_s"], (windows["start_frame"] + 3.5) / 10, atol=1e-4)
    # A window's probability is the run's model on the run's validation transform of those frames.
    run = load_header_run("tiny", workspace / "report" / "header_experiments")
    transform = build_clip_transform(input_size=32, augment=False, flip_prob=0.0, color_jitter={}, normalise=True,
                                     mean=run.config["backbone"]["mean"], std=run.config["backbone"]["std"])
    row = windows.iloc[7]
    clip = torch.from_numpy(frames[int(row.start_frame): int(row.end_frame) + 1]).permute(0, 3, 1, 2)  # (T, 3, H, W)
    video = transform(tv_tensors.Video(clip)).as_subclass(torch.Tensor).permute(1, 0, 2, 3)[None]  # (1, 3, T, S, S)
    with torch.no_grad():
        expected = run.net(video).softmax(-1)[0, 1].item()
    assert row.prob_header == pytest.approx(expected, abs=1e-5)

    events = pd.read_csv(out / "events.csv")
    assert tuple(events.columns) == EVENT_COLUMNS
    metrics = json.loads((out / "metrics.json").read_text())
    truth = pd.read_csv(workspace / "match_events.csv")
    assert metrics["true_positives"] + metrics["false_positives"] == len(events)
    assert metrics["true_positives"] + metrics["false_negatives"] == len(truth)
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["windows"] == len(windows) and summary["gaps"] == 0


def test_resume_continues_after_the_last_finished_window(cli, workspace, tmp_path):
    assert _detect(cli, workspace, f"output_dir={tmp_path}/full").returncode == 0
    full = pd.read_csv(tmp_path / "full" / "match" / "windows.csv")
    killed = tmp_path / "killed" / "match"
    shutil.copytree(tmp_path / "full" / "match", killed)
    lines = (killed / "windows.csv").read_text().splitlines(keepends=True)
    (killed / "windows.csv").write_text("".join(lines[:11]) + lines[11][:6])  # 10 rows, then a torn line
    result = _detect(cli, workspace, f"output_dir={tmp_path}/killed", "resume=true")
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = pd.read_csv(killed / "windows.csv")
    assert resumed["start_frame"].tolist() == full["start_frame"].tolist()
    np.testing.assert_allclose(resumed["prob_header"], full["prob_header"], atol=1e-5)
    assert json.loads((killed / "summary.json").read_text())["windows_scored_now"] == len(full) - 10
    changed = _detect(cli, workspace, f"output_dir={tmp_path}/killed", "resume=true", "detect.stride=5")
    assert changed.returncode == 2 and "other settings (stride" in changed.stderr


def test_a_corrupt_stretch_is_skipped_and_recorded_as_a_gap(cli, workspace, tmp_path):
    data = bytearray((workspace / "match.mp4").read_bytes())
    a, b = int(len(data) * 0.45), int(len(data) * 0.55)
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    (tmp_path / "match.mp4").write_bytes(bytes(data))
    result = cli(["run=tiny", f"video={tmp_path / 'match.mp4'}", "progress=false", f"output_dir={tmp_path}/out",
                  f"paths.report_dir={workspace / 'report' / 'header_experiments'}"], tmp_path, module="src.detect")
    assert result.returncode == 0, result.stderr[-3000:]
    gaps = pd.read_csv(tmp_path / "out" / "match" / "gaps.csv")
    assert tuple(gaps.columns) == GAP_COLUMNS and len(gaps) >= 1
    windows = pd.read_csv(tmp_path / "out" / "match" / "windows.csv")
    for gap in gaps.itertuples():
        overlaps = (windows["end_frame"] >= gap.start_frame) & (windows["start_frame"] <= gap.end_frame)
        assert not overlaps.any()  # no window was scored on frames that are not there
    assert len(windows) > 0


def test_export_clips_writes_training_format_clips_and_a_split_tool_csv(cli, workspace, tmp_path):
    result = _detect(cli, workspace, f"output_dir={tmp_path}", "export_clips=true", "detect.threshold=0.0",
                     "detect.half=1")
    assert result.returncode == 0, result.stderr[-3000:]
    out = tmp_path / "match"
    events = pd.read_csv(out / "events.csv")
    clips = pd.read_csv(out / "clips.csv")
    assert len(events) > 0 and len(clips) == len(events)
    assert list(clips.columns) == ["path", "label", "video_id", "half", "frame", "group", "mined", "reason"]
    assert clips["frame"].tolist() == events["peak_frame"].tolist() and (clips["half"] == 1).all()
    assert (clips["reason"] == "detected").all() and (clips["label"] == 1).all() and (clips["mined"] == 1).all()
    frames = _decode(workspace / "match.mp4")
    for clip_row in clips.itertuples():  # the run's 8 frames centred on the event's peak, as decoded
        clip = np.load(out / clip_row.path)
        np.testing.assert_array_equal(clip, frames[clip_row.frame - 4: clip_row.frame + 4])  # (T, H, W, 3) uint8
    table = read_header_csv(out / "clips.csv", name="dataset.val_csv", check_clips=True, max_bad_fraction=0.0)  # training reads it
    assert len(table.rows) == len(clips)


def test_bad_input_is_one_error_line_and_writes_nothing(cli, workspace, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    cases = {
        "cannot be opened": ["run=tiny", f"video={junk}"],
        "no such file": ["run=tiny", f"video={tmp_path / 'missing.mp4'}"],
        "run=nope": ["run=nope", f"video={workspace / 'match.mp4'}"],
        "smoothing": ["run=tiny", f"video={workspace / 'match.mp4'}", "detect.smoothing=2"],
        "video= is required": ["run=tiny"],
    }
    for needle, args in cases.items():
        result = cli([*args, f"output_dir={tmp_path}/out",
                      f"paths.report_dir={workspace / 'report' / 'header_experiments'}"], tmp_path, module="src.detect")
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), (needle, result.stderr)
        assert needle in lines[0]
    assert not (tmp_path / "out").exists()
